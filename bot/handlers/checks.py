"""Checking claims wherever they come from: private messages, forwards, group /check,
mentions, and the buttons under an answer."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from telegram import (
    Chat,
    Message,
    MessageOriginChannel,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.delivery import send_html
from bot.i18n import pick_language, t
from bot.metrics import outcome
from bot.render import (
    HTML,
    View,
    ambiguous_message,
    answer_keyboard,
    answer_messages,
    markup_json,
    no_record_message,
)
from bot.services import Services, services
from domain.answer import Answer
from domain.matching import MatchStatus

log = logging.getLogger(__name__)


async def language_for(context: ContextTypes.DEFAULT_TYPE, user: User | None) -> str:
    svc = services(context)
    if user is None:
        return svc.settings.default_language
    preferred = await svc.language_choice(user.id)
    return pick_language(user.language_code, preferred, svc.settings.default_language)


# Telegram's own limits: no genuine update carries more, and a forged one is cut here
# rather than read whole (reading a message costs time in proportion to its length).
MAX_TEXT = 4096
MAX_CAPTION = 1024


def claim_text(message: Message | None) -> str:
    if message is None:
        return ""
    if message.text:
        return message.text[:MAX_TEXT].strip()
    return (message.caption or "")[:MAX_CAPTION].strip()


def asked_claim(message: Message, bot_username: str | None) -> tuple[str, Message]:
    """The claim a message asks about, and the message it is in.

    "/check claim" and "@bot claim" ask about their text without the command or mention;
    with nothing after them, a reply asks about the replied message; any other message
    asks about itself.
    """
    text = claim_text(message)
    words = text.split()
    mention = f"@{bot_username}".lower() if bot_username else None
    command = bool(words) and words[0].startswith("/")
    if command or any(word.lower() == mention for word in words):
        rest = " ".join(w for w in words[1 if command else 0 :] if w.lower() != mention)
        if rest or message.reply_to_message is None:
            return rest, message
        return claim_text(message.reply_to_message), message.reply_to_message
    return text, message


def channel_name(chat: Chat) -> str:
    """How a channel is written in stored posts: "@username", or its numeric id."""
    return f"@{chat.username}" if chat.username else str(chat.id)


def forwarded_post(message: Message) -> tuple[str | None, int | None]:
    """Which channel post a forward came from, as stored by moderators ("@name" or id)."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        return channel_name(origin.chat), origin.message_id
    return None, None


def sent_on(message: Message) -> dt.date:
    """The day a claim was first posted, which "yesterday" in it is relative to: a
    forward's original date where Telegram gives it, else the message's own."""
    origin = message.forward_origin
    moment = origin.date if origin is not None else message.date
    return moment.date()


async def reply_html(
    message: Message, text: str, keyboard: Mapping[str, Any] | None = None
) -> None:
    await send_html(
        message.get_bot(), message.chat.id, text, reply_to=message.message_id, keyboard=keyboard
    )


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
    language = await language_for(context, user)
    if user is not None and not await svc.allow_check(user.id):
        outcome.set("rate_limited")
        if svc.may_say(reply_to.chat.id, "too_fast"):
            await reply_html(reply_to, HTML.text(t(language, "too_fast")))
        return
    if not claim:
        if svc.may_say(reply_to.chat.id, "empty_claim"):
            await reply_html(reply_to, HTML.text(t(language, "empty_claim")))
        return
    channel, post_id = forwarded_post(source_message) if source_message else (None, None)
    answer = await svc.checker.check_forwarded(
        claim, channel, post_id, sent_on=sent_on(source_message or reply_to)
    )
    private = reply_to.chat.type == ChatType.PRIVATE
    await send_answer(svc, reply_to, answer, language, user=user, private=private)


async def send_answer(
    svc: Services,
    reply_to: Message,
    answer: Answer,
    language: str,
    *,
    user: User | None,
    private: bool,
) -> None:
    result = answer.status.value
    if answer.status is MatchStatus.CONFIDENT:
        await send_full_answer(reply_to, answer, language)
    elif answer.status is MatchStatus.AMBIGUOUS:
        text, keyboard = ambiguous_message(answer, language)
        await reply_html(reply_to, text, markup_json(keyboard))
    else:
        query_id = None
        if user is not None:
            query_id = await svc.record_unmatched(
                answer.normalized or answer.claim,
                answer.claim,
                user_id=user.id,
                chat_id=reply_to.chat.id,
                language=language,
            )
        text, keyboard = no_record_message(language, query_id if private else None)
        await reply_html(reply_to, text, markup_json(keyboard))
    outcome.set(result)
    svc.metrics.checks.labels(result).inc()


async def send_full_answer(
    reply_to: Message, answer: Answer, language: str, view: View = "summary"
) -> None:
    messages = answer_messages(answer, language, view)
    keyboard = markup_json(answer_keyboard(answer, language, view))
    # The buttons go under the first message, the one a view change edits.
    for n, text in enumerate(messages):
        await reply_html(reply_to, text, keyboard if n == 0 else None)


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
        language = await language_for(context, update.effective_user)
        if services(context).may_say(message.chat.id, "check_usage"):
            await reply_html(message, HTML.text(t(language, "check_usage")))
        return
    await respond_to_claim(update, context, claim, reply_to=message, source_message=source)
