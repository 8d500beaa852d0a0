"""Buttons under answers: switching views, picking a candidate, feedback, follow-ups.

Button data is untrusted input: anyone can send any bytes as callback data, so each
handler parses it strictly and treats anything unexpected as an expired button.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.delivery import NO_PREVIEW
from bot.handlers.checks import asked_claim, language_for, send_answer
from bot.i18n import t
from bot.render import VIEWS, View, answer_keyboard, answer_messages, inline_markup
from bot.services import services
from domain.answer import Answer
from domain.matching import MatchStatus

log = logging.getLogger(__name__)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    language = await language_for(context, update.effective_user)
    user = update.effective_user
    # A press costs what a check costs (a lookup, an edit, a write): the same limit holds.
    if user is not None and not await services(context).allow_check(user.id):
        await query.answer(t(language, "too_fast"), show_alert=False)
        return
    parts = (query.data or "").split(":")
    kind, args = parts[0], parts[1:]
    handled = False
    if kind == "v" and len(args) == 3 and args[0] in VIEWS:
        handled = await _switch_view(query, context, language, args[0], args[1], args[2])
    elif kind == "p" and len(args) == 2:
        handled = await _switch_view(query, context, language, "summary", args[0], args[1])
    elif kind == "n" and not args:
        handled = await _none_of_these(update, query, context, language)
    elif kind == "f" and len(args) == 2 and args[1] in ("0", "1"):
        handled = await _feedback(query, context, language, args[0], args[1] == "1")
    elif kind == "u" and len(args) == 1 and args[0].isdigit():
        handled = await _follow_up(query, context, language, int(args[0]))
    if not handled:
        await query.answer(t(language, "expired"), show_alert=False)


async def _switch_view(
    query: CallbackQuery,
    context: ContextTypes.DEFAULT_TYPE,
    language: str,
    view: View,
    short: str,
    point: str,
) -> bool:
    svc = services(context)
    key = await svc.checker.incident_key(short)
    if key is None:
        return False
    answer = await svc.checker.answer_for(key)
    if answer is None or answer.incident is None:
        return False
    if point != "-":
        if not point.isdigit() or int(point) >= len(answer.incident.points):
            return False
        answer = await svc.checker.answer_for(key, answer.incident.points[int(point)].key)
        assert answer is not None
    messages = answer_messages(answer, language, view)
    keyboard = inline_markup(answer_keyboard(answer, language, view))
    await query.answer()
    try:
        await query.edit_message_text(
            messages[0],
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:
        # Pressing the button of the view already shown changes nothing; that is fine.
        if "not modified" not in str(error).lower():
            raise
    message = query.message
    if message is not None and len(messages) > 1:
        for text in messages[1:]:
            await context.bot.send_message(
                message.chat.id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
            )
    return True


async def _none_of_these(
    update: Update, query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, language: str
) -> bool:
    """None of the offered incidents fit: the claim (the message the question answered)
    goes to the moderators' queue."""
    message = query.message
    if not isinstance(message, Message) or message.reply_to_message is None:
        return False
    original = message.reply_to_message
    claim, _ = asked_claim(original, context.bot.username)
    if not claim:
        return False
    svc = services(context)
    await query.answer()
    unmatched = Answer(MatchStatus.NONE, claim, normalized=(await svc.checker.match(claim)).query)
    await query.edit_message_reply_markup(None)
    private = message.chat.type == ChatType.PRIVATE
    await send_answer(
        svc, original, unmatched, language, user=update.effective_user, private=private
    )
    return True


async def _feedback(
    query: CallbackQuery,
    context: ContextTypes.DEFAULT_TYPE,
    language: str,
    short: str,
    helpful: bool,
) -> bool:
    svc = services(context)
    key = await svc.checker.incident_key(short)
    if key is None or query.from_user is None:
        return False
    if not await svc.database.community.save_feedback(key, query.from_user.id, helpful):
        return False
    await query.answer(t(language, "thanks_feedback"))
    return True


async def _follow_up(
    query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, language: str, query_id: int
) -> bool:
    svc = services(context)
    message = query.message
    if query.from_user is None or message is None:
        return False
    if message.chat.type != ChatType.PRIVATE:
        await query.answer(t(language, "notify_unavailable"), show_alert=True)
        return True
    if not await svc.database.community.want_follow_up(
        query_id, query.from_user.id, message.chat.id
    ):
        return False
    await query.answer(t(language, "notify_ok"), show_alert=True)
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        log.debug("could not remove the follow-up button: %s", error)
    return True
