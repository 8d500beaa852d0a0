"""Buttons under answers: switching views, picking a candidate, feedback, follow-ups.

Each kind of button has its handler here, registered with its pattern from
`bot.callbacks`, which also reads the data back. A press costs what a check costs (a
lookup, an edit, a write), so the same per-user limit holds; a press whose data no
longer leads anywhere (an incident deleted since, a forged button) is told it expired.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import callbacks, replies
from bot import messages as msg
from bot.i18n import t
from bot.incoming import asked_claim, claim_text, language_for
from bot.keyboards import answer_keyboard
from bot.render import answer_messages
from bot.services import Services, services
from db.repository import UnmatchedClaim
from domain.answer import Answer
from domain.matching import MatchStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Press:
    update: Update
    context: ContextTypes.DEFAULT_TYPE
    query: CallbackQuery
    svc: Services
    language: str


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def button(handle: Callable[[Press], Awaitable[bool]]) -> Handler:
    """The per-user limit, then the handler; a press it could not act on (it returned
    False) is answered with "this button has expired"."""

    @functools.wraps(handle)
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        svc = services(context)
        user = update.effective_user
        # The language of the claim the answer was given to, as when it was answered.
        message = query.message
        asked = message.reply_to_message if isinstance(message, Message) else None
        group = message is not None and message.chat.type != ChatType.PRIVATE
        language = await language_for(context, user, claim_text(asked), group=group)
        if user is not None and not await svc.allow_check(user.id):
            await query.answer(t(language, msg.TOO_FAST))
            return
        if not await handle(Press(update, context, query, svc, language)):
            await query.answer(t(language, msg.EXPIRED))

    return run


@button
async def switch_view(press: Press) -> bool:
    """Another view of an answer, or the answer about a candidate picked from a list."""
    asked = callbacks.read_view(press.query.data)
    if asked is None:
        return False
    checker = press.svc.checker
    key = await checker.incident_key(asked.short)
    answer = await checker.answer_for(key) if key is not None else None
    if answer is None or answer.incident is None:
        return False
    if asked.point is not None:
        if asked.point >= len(answer.incident.points):
            return False
        answer = await checker.answer_for(
            answer.incident.key, answer.incident.points[asked.point].key
        )
        assert answer is not None
    messages = answer_messages(answer, press.language, asked.view)
    await press.query.answer()
    await replies.edit(
        press.query,
        messages[0],
        answer_keyboard(
            answer, press.language, asked.view, page_base=press.svc.settings.web_base_url
        ),
    )
    message = press.query.message
    if message is not None:
        for text in messages[1:]:
            await replies.send_html(press.context.bot, message.chat.id, text)
    return True


def _asked(press: Press) -> tuple[str, Message] | None:
    """The claim an answer (or a question) replied to, and the message it was in."""
    message = press.query.message
    if not isinstance(message, Message) or message.reply_to_message is None:
        return None
    original = message.reply_to_message
    claim, _ = asked_claim(original, press.context.bot.username)
    return (claim, original) if claim else None


@button
async def none_of_these(press: Press) -> bool:
    """None of the offered incidents fit: the claim goes to the moderators' queue."""
    asked = _asked(press)
    message = press.query.message
    if asked is None or message is None:
        return False
    claim, original = asked
    await press.query.answer()
    normalized = (await press.svc.checker.match(claim)).query
    unmatched = Answer(MatchStatus.NONE, claim, normalized=normalized)
    await replies.drop_buttons(press.query)
    await replies.send_answer(
        press.svc,
        original,
        unmatched,
        press.language,
        user=press.update.effective_user,
        private=message.chat.type == ChatType.PRIVATE,
    )
    return True


@button
async def feedback(press: Press) -> bool:
    """Helpful / Not helpful. "Not helpful" also puts the claim in the moderators' queue,
    marked with the incident it was answered with: the match or the record needs a look."""
    given = callbacks.read_feedback(press.query.data)
    user = press.query.from_user
    if given is None or user is None:
        return False
    short, helpful = given
    key = await press.svc.checker.incident_key(short)
    if key is None:
        return False
    judged = None
    if not helpful and (asked := _asked(press)) is not None:
        claim, original = asked
        normalized = (await press.svc.checker.match(claim)).query or claim
        judged = UnmatchedClaim(
            normalized, claim, user.id, original.chat.id, press.language, answered_with=key
        )
    if not await press.svc.database.community.save_feedback(key, user.id, helpful, judged):
        return False
    press.svc.metrics.feedback.labels("helpful" if helpful else "not_helpful").inc()
    await press.query.answer(t(press.language, msg.THANKS_FEEDBACK))
    return True


@button
async def follow_up(press: Press) -> bool:
    """Tell me when this unmatched claim gets an answer (private chats only)."""
    query_id = callbacks.read_follow_up(press.query.data)
    message = press.query.message
    user = press.query.from_user
    if query_id is None or user is None or message is None:
        return False
    if message.chat.type != ChatType.PRIVATE:
        await press.query.answer(t(press.language, msg.NOTIFY_UNAVAILABLE), show_alert=True)
        return True
    community = press.svc.database.community
    if not await community.want_follow_up(query_id, user.id, message.chat.id):
        return False
    await press.query.answer(t(press.language, msg.NOTIFY_OK), show_alert=True)
    await replies.drop_buttons(press.query)
    return True


@button
async def expired(press: Press) -> bool:
    """Any other data: a button of an older release, or forged."""
    return False
