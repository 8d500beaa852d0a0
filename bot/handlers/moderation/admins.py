"""Admins appoint and dismiss moderators: /mod add, /mod remove, /mod list."""

from __future__ import annotations

from telegram import MessageOriginUser, Update
from telegram.ext import ContextTypes

from bot.handlers.moderation.access import actor_of, staff_only
from bot.handlers.moderation.arguments import usage
from bot.i18n import tr
from bot.markup import HTML
from bot.replies import say
from bot.services import services


@staff_only(admin=True)
async def mod(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mod add ID, /mod remove ID, /mod list; add/remove also work as a reply to a
    message forwarded from that person."""
    svc = services(context)
    args = context.args or []
    text = tr(
        "Usage: /mod add USER-ID, /mod remove USER-ID, /mod list\n"
        "(or reply /mod add to a message forwarded from the person)"
    )
    action = args[0].lower() if args else ""
    if action == "list" and len(args) == 1:
        staff = await svc.database.staff.moderators()
        admins = ", ".join(str(i) for i in sorted(svc.settings.admin_ids)) or "—"
        lines = [tr("Admins (ADMIN_IDS): {admins}", admins=admins), tr("Moderators:")]
        lines += [f"<code>{m.telegram_user_id}</code> {HTML.text(m.display_name)}" for m in staff]
        await say(update, "\n".join(lines) if staff else "\n".join(lines) + " " + tr("none yet"))
        return
    if action not in ("add", "remove"):
        await say(update, usage(text))
        return
    user_id, name = _target(update, args[1:])
    if user_id is None:
        await say(update, usage(text))
        return
    actor = actor_of(update)
    if action == "add":
        done = await svc.database.staff.appoint(user_id, name, actor)
        await say(
            update,
            tr("{user} is now a moderator.", user=user_id)
            if done
            else tr("{user} already is a moderator.", user=user_id),
        )
    else:
        done = await svc.database.staff.dismiss(user_id, actor)
        await say(
            update,
            tr("{user} is no longer a moderator.", user=user_id)
            if done
            else tr("{user} was not a moderator.", user=user_id),
        )


def _target(update: Update, args: list[str]) -> tuple[int | None, str]:
    if args:
        if len(args) == 1 and args[0].isdigit() and 0 < int(args[0]) < 2**63:
            return int(args[0]), ""
        return None, ""
    message = update.effective_message
    replied = message.reply_to_message if message else None
    if replied is not None and isinstance(replied.forward_origin, MessageOriginUser):
        person = replied.forward_origin.sender_user
        return person.id, person.full_name
    return None, ""
