"""One way to write to a chat: every message the bot sends goes through `send_html`.

Text is Telegram HTML that the caller built with `bot.render` (which escapes everything
stored or typed); link previews are off, so a source's link never unfolds a page that
someone else chose. A reply quotes the message it answers, and still goes out when that
message was deleted meanwhile.

`send_html` skips python-telegram-bot's objects on the way out and back: built only to be
serialized again, and read back only for the new message's id, they were a tenth of the
bot's time under load. It still goes through the application's rate limiter and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from telegram import Bot, CallbackQuery, LinkPreviewOptions, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.callbacks import View
from bot.keyboards import (
    Keyboard,
    ambiguous_message,
    answer_keyboard,
    inline_markup,
    markup_json,
    no_record_message,
)
from bot.metrics import outcome
from bot.render import answer_messages
from bot.services import Services
from domain.answer import Answer
from domain.matching import MatchStatus

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_NO_PREVIEW: dict[str, Any] = {"is_disabled": True}


async def send_html(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    reply_to: int | None = None,
    keyboard: Keyboard | None = None,
) -> int:
    """Send one HTML message (as a reply, if `reply_to`); returns its message id."""
    data: dict[str, Any] = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": ParseMode.HTML,
        "link_preview_options": _NO_PREVIEW,
    }
    if reply_to is not None:
        data["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
    markup = markup_json(keyboard or [])
    if markup is not None:
        data["reply_markup"] = markup
    sent: Mapping[str, Any] = await bot._post("sendMessage", data)
    return int(sent["message_id"])


async def reply(message: Message, text: str, keyboard: Keyboard | None = None) -> int:
    """Answer `message` in its chat, quoting it."""
    return await send_html(
        message.get_bot(), message.chat.id, text, reply_to=message.message_id, keyboard=keyboard
    )


async def say(update: Update, text: str, keyboard: Keyboard | None = None) -> None:
    """Write to the chat an update came from, without quoting: a moderator's dialogue with
    the bot, where every message answers the one before."""
    chat = update.effective_chat
    if chat is not None:
        await send_html(update.get_bot(), chat.id, text, keyboard=keyboard)


async def edit(query: CallbackQuery, text: str, keyboard: Keyboard | None = None) -> None:
    """Replace the text and buttons of the message whose button was pressed."""
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=inline_markup(keyboard or []),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:
        # Pressing the button of what is already shown changes nothing; that is fine.
        if "not modified" not in str(error).lower():
            raise


async def drop_buttons(query: CallbackQuery) -> None:
    """Take the buttons off the message whose button was pressed, where it still can be."""
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        log.debug("could not remove the buttons: %s", error)


# --- answers to claims -------------------------------------------------------------------


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
        await send_full_answer(reply_to, answer, language, page_base=svc.settings.web_base_url)
    elif answer.status is MatchStatus.AMBIGUOUS:
        text, keyboard = ambiguous_message(answer, language)
        await reply(reply_to, text, keyboard)
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
        await reply(reply_to, text, keyboard)
    outcome.set(result)
    svc.metrics.checks.labels(result).inc()


async def send_full_answer(
    reply_to: Message,
    answer: Answer,
    language: str,
    view: View = "summary",
    *,
    page_base: str = "",
) -> None:
    messages = answer_messages(answer, language, view)
    keyboard = answer_keyboard(answer, language, view, page_base=page_base)
    # The buttons go under the first message, the one a view change edits.
    for n, text in enumerate(messages):
        await reply(reply_to, text, keyboard if n == 0 else None)
