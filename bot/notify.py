"""Telling people who asked about an unmatched claim that it now has an answer."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot import messages as msg
from bot.i18n import t
from bot.keyboards import answer_keyboard
from bot.markup import HTML
from bot.render import answer_messages
from bot.replies import send_html
from bot.services import Services
from db.repository import Actor

log = logging.getLogger(__name__)


async def link_claim(
    svc: Services, bot: Bot, query_id: int, incident_key: str, actor: Actor
) -> int:
    """Link a queued claim to an incident and message everyone waiting for it.

    Returns how many people were told. Sends go through the application's rate limiter,
    so a long list of followers stays within Telegram's limits.
    """
    follow_ups = await svc.database.community.link_query(query_id, incident_key, actor)
    await svc.sync_index()
    told = 0
    for follow_up in follow_ups:
        language = follow_up.language or svc.settings.default_language
        answer = await svc.checker.answer_for(incident_key)
        if answer is None:
            break
        # The queue entry's wording is whoever asked first: quoting it to everyone else
        # would pass one person's message, links and all, to strangers.
        header = HTML.text(t(language, msg.FOLLOW_UP, day=follow_up.asked_on.strftime("%d.%m.%Y")))
        try:
            await send_html(bot, follow_up.chat_id, header)
            keyboard = answer_keyboard(answer, language, page_base=svc.settings.web_base_url)
            for n, text in enumerate(answer_messages(answer, language)):
                await send_html(bot, follow_up.chat_id, text, keyboard=keyboard if n == 0 else None)
        except Forbidden:
            # Blocked the bot: retrying later would fail the same way.
            log.info("a follower blocked the bot; not told")
        except TelegramError as error:
            log.warning("could not deliver a follow-up, will retry on the next link: %s", error)
            continue
        else:
            told += 1
        await svc.database.community.mark_notified(follow_up.query_id, follow_up.user_id)
    return told
