"""Checking claims wherever they come from: private messages, forwards, group /check and
mentions."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import messages as msg
from bot.i18n import t
from bot.incoming import asked_claim, claim_text, forwarded_post, language_for, sent_on
from bot.markup import HTML
from bot.metrics import outcome
from bot.replies import reply, send_answer
from bot.services import services

log = logging.getLogger(__name__)


async def respond_to_claim(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    claim: str,
    *,
    reply_to: Message,
    source_message: Message | None = None,
) -> None:
    """Check a claim and reply to `reply_to` with the answer, a question, or "no record"."""
    svc = services(context)
    user = update.effective_user
    group = reply_to.chat.type != ChatType.PRIVATE
    language = await language_for(context, user, claim, group=group)
    if user is not None and not await svc.allow_check(user.id):
        outcome.set("rate_limited")
        if svc.may_say(reply_to.chat.id, "too_fast"):
            await reply(reply_to, HTML.text(t(language, msg.TOO_FAST)))
        return
    if not claim:
        if svc.may_say(reply_to.chat.id, "empty_claim"):
            await reply(reply_to, HTML.text(t(language, msg.EMPTY_CLAIM)))
        return
    channel, post_id = forwarded_post(source_message) if source_message else (None, None)
    answer = await svc.checker.check_forwarded(
        claim, channel, post_id, sent_on=sent_on(source_message or reply_to)
    )
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
    if not claim:
        group = message.chat.type != ChatType.PRIVATE
        language = await language_for(context, update.effective_user, group=group)
        if services(context).may_say(message.chat.id, "check_usage"):
            await reply(message, HTML.text(t(language, msg.CHECK_USAGE)))
        return
    await respond_to_claim(update, context, claim, reply_to=message, source_message=source)
