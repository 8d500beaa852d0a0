"""Checking claims wherever they come from: private messages, forwards, group /check and
mentions."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import ContextTypes

from bot import messages as msg
from bot.i18n import t
from bot.incoming import asked_claim, claim_text, forwarded_post, language_for, sent_on
from bot.markup import HTML
from bot.media import attached, sent_media
from bot.metrics import outcome
from bot.replies import reply, send_answer
from bot.services import services
from domain.matching import MatchStatus

log = logging.getLogger(__name__)


async def respond_to_claim(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    claim: str,
    *,
    reply_to: Message,
    source_message: Message | None = None,
) -> None:
    """Check a claim and reply to `reply_to` with the answer, a question, or "no record".

    A photo, video or picture file in `source_message` is checked as such: the very file,
    a copy of a recorded picture, else the text in it with `claim` (its caption)."""
    svc = services(context)
    user = update.effective_user
    group = reply_to.chat.type != ChatType.PRIVATE
    language = await language_for(context, user, claim, group=group)
    if user is not None and not await svc.allow_check(user.id):
        outcome.set("rate_limited")
        if svc.may_say(reply_to.chat.id, "too_fast"):
            await reply(reply_to, HTML.text(t(language, msg.TOO_FAST)))
        return
    media = attached(source_message, svc.settings.media_max_bytes)
    if not claim and media is None:
        if svc.may_say(reply_to.chat.id, "empty_claim"):
            await reply(reply_to, HTML.text(t(language, msg.EMPTY_CLAIM)))
        return
    channel, post_id = forwarded_post(source_message) if source_message else (None, None)
    day = sent_on(source_message or reply_to)
    known = await svc.checker.known_post(channel, post_id, claim=claim)
    if known is not None:
        answer = known
    elif media is not None:
        await context.bot.send_chat_action(reply_to.chat.id, ChatAction.TYPING)
        sent = await sent_media(context.bot, media, claim, svc.settings.media_max_bytes)
        answer = await svc.checker.check_media(
            sent, read_text=svc.read_text, budget=svc.settings.media_seconds, sent_on=day
        )
        outcome.set(f"media_{answer.route.value}" if answer.route else "media_unrecognised")
        if answer.status is MatchStatus.NONE and not answer.claim:
            # Nothing to queue for the moderators: no picture they know, no words.
            await reply(reply_to, HTML.text(t(language, msg.MEDIA_UNRECOGNISED)))
            return
    else:
        answer = await svc.checker.check(claim, sent_on=day)
    private = reply_to.chat.type == ChatType.PRIVATE
    await send_answer(svc, reply_to, answer, language, user=user, private=private)


# --- entry points ------------------------------------------------------------------------


async def private_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    await respond_to_claim(
        update, context, claim_text(message), reply_to=message, source_message=message
    )


async def check_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/check CLAIM, or /check in reply to the message to check."""
    await _check_asked(update, context)


async def mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group, "@bot claim" checks the claim; "@bot" in reply checks the replied message."""
    await _check_asked(update, context)


async def _check_asked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    claim, source = asked_claim(message, context.bot.username)
    if not claim and attached(source, services(context).settings.media_max_bytes) is None:
        group = message.chat.type != ChatType.PRIVATE
        language = await language_for(context, update.effective_user, group=group)
        if services(context).may_say(message.chat.id, "check_usage"):
            await reply(message, HTML.text(t(language, msg.CHECK_USAGE)))
        return
    await respond_to_claim(update, context, claim, reply_to=message, source_message=source)
