"""Who may moderate, and refusing everyone else.

Every moderator handler is wrapped in `staff_only`: refused to anyone who is not a
moderator (or an admin named in ADMIN_IDS), and refused in groups so that nothing leaks
there. Every refusal is logged and audited (one row per person and command an hour), and
said once a minute per chat.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.i18n import speaking, tr
from bot.incoming import language_for
from bot.markup import HTML, shorten
from bot.replies import reply
from bot.services import Services, services
from db.repository import Actor
from domain.model import Role

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]


async def role_of(svc: Services, user_id: int) -> Role | None:
    if user_id in svc.settings.admin_ids:
        return Role.ADMIN
    return await svc.database.staff.role_of(user_id)


def actor_of(update: Update) -> Actor:
    user = update.effective_user
    assert user is not None
    return Actor(user.id, user.full_name[:200])


def staff_only(*, admin: bool = False) -> Callable[[Handler], Handler]:
    """Refuse the handler to non-staff and in groups, with a clear answer and an audit entry."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Any:
            svc = services(context)
            user, chat = update.effective_user, update.effective_chat
            if user is None or chat is None:
                return None
            what = handler.__name__
            await speak_as(update, context)
            role = await role_of(svc, user.id)
            allowed = role is Role.ADMIN if admin else role is not None
            if not allowed:
                log.warning("refused %s to a non-moderator", what, extra={"user": user.id})
                await svc.database.staff.record_refusal(user.id, what)
                await refuse(
                    update,
                    svc,
                    tr("Only admins can do that.")
                    if admin and role
                    else tr("This is for moderators only."),
                )
                return None
            if chat.type != ChatType.PRIVATE:
                await refuse(
                    update, svc, tr("Moderator commands work only in a private chat with me.")
                )
                return None
            return await handler(update, context)

        return guarded

    return decorate


async def refuse(update: Update, svc: Services, text: str) -> None:
    """Say why, the same words once a minute per chat: a pop-up for a button (it answers
    the press, which Telegram expects), a message otherwise."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None and svc.may_say(
        update.effective_message.chat.id, f"refusal: {text}"
    ):
        await reply(update.effective_message, HTML.text(text))


async def refuse_forged(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A moderator button pressed outside its form (an old message, or forged data)."""
    svc = services(context)
    query = update.callback_query
    if query is None or query.from_user is None:
        return
    await speak_as(update, context)
    if await role_of(svc, query.from_user.id) is None:
        await svc.database.staff.record_refusal(
            query.from_user.id, f"button {shorten(query.data or '', 50)}"
        )
        await query.answer(tr("This is for moderators only."), show_alert=True)
    else:
        await query.answer(tr("This form is closed; start it again."), show_alert=True)


async def speak_as(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Replies to this update go out in its sender's language (their /lang choice, else
    their Telegram language)."""
    speaking.set(await language_for(context, update.effective_user))


def where(update: Update) -> tuple[int, int]:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return user.id, chat.id
