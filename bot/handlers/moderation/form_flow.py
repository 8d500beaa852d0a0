"""The guided forms' flow in the chat: open a form, take each answer (typed or pressed)
before any other handler sees it, save or cancel.

A draft is stored after every answer (`Database.drafts`), as the answers themselves: any
process can build the form again and go on, so a form survives a restart and works across
replicas.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import callbacks
from bot.forms import FORM_TIMEOUT, Draft
from bot.handlers.moderation.access import actor_of, role_of, speak_as, staff_only, where
from bot.handlers.moderation.form_definitions import FORM_BUILDERS
from bot.i18n import tr
from bot.markup import HTML, split_message
from bot.replies import say
from bot.services import Services, services
from db.repository import RepositoryError
from domain.moderation import InputError


async def _ask(update: Update, draft: Draft, problem: str | None = None) -> None:
    text, keyboard = draft.question()
    if problem:
        text = f"⚠️ {HTML.text(problem)}\n\n{text}"
    # A long summary goes out in parts; the buttons stay under the last one.
    parts = split_message(text.split("\n\n"))
    for part in parts[:-1]:
        await say(update, part)
    await say(update, parts[-1], keyboard)


async def open_form(update: Update, svc: Services, name: str, opened: dict[str, Any]) -> None:
    """Build the form, store its empty draft, ask the first question."""
    built = await FORM_BUILDERS[name](svc, actor_of(update), opened)
    if isinstance(built, str):
        await say(update, built)
        return
    draft = Draft(built)
    user_id, chat_id = where(update)
    await svc.database.drafts.put(user_id, chat_id, draft.state())
    svc.note_staff(user_id)  # only staff get here; their answers must find the form
    await _ask(update, draft)


async def _open_draft(update: Update, svc: Services) -> tuple[Draft | None, bool]:
    """The form this moderator has open in this chat, built again from its stored answers,
    and whether the moderator was already told something about it.

    A form whose subject is gone (say, its incident was deleted) is closed with a word; a
    stored answer that no longer fits is asked again.
    """
    user_id, chat_id = where(update)
    state = await svc.database.drafts.get(user_id, chat_id, max_age=FORM_TIMEOUT)
    if state is None:
        return None, False
    builder = FORM_BUILDERS.get(str(state.get("form")))
    built = (
        await builder(svc, actor_of(update), dict(state.get("opened") or {}))
        if builder is not None
        else "that form no longer exists"
    )
    if isinstance(built, str):
        await svc.database.drafts.discard(user_id, chat_id)
        await say(update, "⚠️ " + tr("Your open form was closed: {why}", why=built))
        return None, True
    draft, problem = Draft.resume(built, [str(a) for a in state.get("answers") or []])
    if problem:
        await svc.database.drafts.put(user_id, chat_id, draft.state())
        await _ask(update, draft, problem)
        return None, True
    return draft, False


async def _form_owner(update: Update, svc: Services) -> bool:
    """Whether this update may belong to a moderator's form: cheap for everyone else."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return False
    if not await svc.maybe_staff(user.id):
        return False
    # The cache may be seconds old: a removed moderator's form goes no further.
    if await role_of(svc, user.id) is None:
        await svc.database.drafts.discard(user.id, chat.id)
        return False
    return True


async def form_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """While a form is open, the moderator's messages answer it (checked before anything
    else). Commands other than /cancel are answered with a reminder."""
    svc = services(context)
    message = update.effective_message
    if message is None or not await _form_owner(update, svc):
        return
    await speak_as(update, context)
    text = message.text or ""
    if (text.split() or [""])[0].split("@")[0].lower() == "/cancel":
        return  # handled by /cancel itself, whatever state the form is in
    draft, replied = await _open_draft(update, svc)
    if replied:
        raise ApplicationHandlerStop
    if draft is None:
        return
    if text.startswith("/"):
        await _ask(update, draft, tr("a form is open: answer it, or send /cancel first"))
        raise ApplicationHandlerStop
    try:
        draft.answer(text)
    except InputError as problem:
        await _ask(update, draft, str(problem))
        raise ApplicationHandlerStop from None
    await svc.database.drafts.put(*where(update), draft.state())
    await _ask(update, draft)
    raise ApplicationHandlerStop


async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    if query is None or not await _form_owner(update, svc):
        return  # not a moderator: refused and audited further down
    await speak_as(update, context)
    pressed = callbacks.read_form(query.data)
    if pressed is None:
        return  # matched no form button: answered further down as an old or forged one
    if pressed.action == "cancel":
        # Cancel needs nothing from the form, not even answers that still fit.
        await query.answer()
        await _cancel(update, svc)
        raise ApplicationHandlerStop
    draft, replied = await _open_draft(update, svc)
    if draft is None:
        await query.answer(
            tr("This form is closed.") if not replied else None, show_alert=not replied
        )
        raise ApplicationHandlerStop
    await query.answer()
    user_id, chat_id = where(update)
    if pressed.action == "save":
        if draft.current() is not None:
            await _ask(update, draft, tr("answer the remaining questions first"))
        else:
            await _save_draft(update, svc, draft)
    else:
        try:
            draft.choose(pressed.step, pressed.index)
        except InputError as problem:
            await _ask(update, draft, str(problem))
        else:
            await svc.database.drafts.put(user_id, chat_id, draft.state())
            await _ask(update, draft)
    raise ApplicationHandlerStop


async def _save_draft(update: Update, svc: Services, draft: Draft) -> None:
    """Close the form, then save it. Closing first means that a crash in between loses
    the draft rather than saving it twice on the next press of Save."""
    place = where(update)
    if not await svc.database.drafts.discard(*place):
        # Save pressed twice, the presses handled at once (say, by two replicas).
        await say(update, tr("This form was already saved or closed."))
        return
    try:
        done = await draft.form.save(draft.values)
    except (InputError, RepositoryError) as problem:
        await say(update, "⚠️ " + tr("Not saved: {problem}", problem=HTML.text(str(problem))))
        return
    except Exception:
        # Nothing was saved (the database failed): keep the form so Save can be pressed again.
        await svc.database.drafts.put(*place, draft.state())
        raise
    await say(update, done)


async def _cancel(update: Update, svc: Services) -> None:
    had = await svc.database.drafts.discard(*where(update))
    await say(update, tr("Cancelled; nothing was saved.") if had else tr("Nothing to cancel."))


@staff_only()
async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _cancel(update, services(context))
