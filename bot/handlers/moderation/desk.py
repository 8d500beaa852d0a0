"""/desk: the moderators' desk, a Mini App opened inside Telegram.

Telegram opens Mini Apps over HTTPS only: with an https WEB_BASE_URL the moderator gets a
button that opens it, and the chat's menu button (beside the text field) becomes
"🛠 Desk" for them; otherwise they are told what is missing.
"""

from __future__ import annotations

import logging

from telegram import MenuButtonWebApp, Update, WebAppInfo
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.handlers.moderation.access import staff_only
from bot.i18n import tr
from bot.keyboards import Button
from bot.markup import HTML
from bot.replies import say
from bot.services import services

log = logging.getLogger(__name__)


@staff_only()
async def desk(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    base = services(context).settings.web_base_url
    if not base.startswith("https://"):
        await say(
            update,
            HTML.text(
                tr(
                    "The desk opens inside Telegram from an https address: set WEB_BASE_URL "
                    "to the bot's public https address."
                )
            ),
        )
        return
    url = f"{base}/desk"
    label = tr("🛠 Desk")
    chat = update.effective_chat
    if chat is not None:
        try:
            await context.bot.set_chat_menu_button(
                chat.id, MenuButtonWebApp(label, WebAppInfo(url))
            )
        except TelegramError:
            log.warning("could not set the desk as the chat's menu button", exc_info=True)
    await say(
        update,
        HTML.text(tr("Incidents, sources, the queue and the audit log, in one place.")),
        [[Button(label, web_app=url)]],
    )
