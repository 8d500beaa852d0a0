"""Commands that change the record: the ones that open forms, and one-line edits.

Each edit is applied by `domain.moderation`, checked by the same rules as an imported
dataset, saved in one transaction with its audit event against the version it was read
at, and brought into the match index before the reply (so the next check sees it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from telegram import MessageOriginChannel, Update
from telegram.ext import ContextTypes

from bot.handlers.moderation.access import actor_of, staff_only
from bot.handlers.moderation.arguments import IncidentCommand, about_incident, usage
from bot.handlers.moderation.form_definitions import STANCE_LETTERS, save_new_source
from bot.handlers.moderation.form_flow import open_form
from bot.i18n import N_, tr
from bot.incoming import channel_name
from bot.markup import HTML
from bot.replies import say
from bot.services import Services, services
from db.repository import RepositoryError
from domain import moderation, translation
from domain.model import IncidentView, SourceKind, SourceView, Stance
from domain.moderation import InputError


@staff_only()
async def new_incident(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await open_form(update, services(context), "incident", {})


@staff_only()
async def new_source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/newsource asks step by step; /newsource Name | kind | aliases saves at once."""
    svc = services(context)
    args = " ".join(context.args or []).strip()
    if args:
        parts = [p.strip() for p in args.split("|")]
        if len(parts) < 2 or not parts[0]:
            await say(
                update,
                usage(
                    tr(
                        "Usage: /newsource Name | kind | aliases, comma-separated | affiliation"
                        " | homepage\nkinds: {kinds}",
                        kinds=", ".join(k.value for k in SourceKind),
                    )
                ),
            )
            return
        values: dict[str, Any] = {"name": parts[0], "kind": parts[1].lower().replace(" ", "_")}
        try:
            if len(parts) > 2:
                values["aliases"] = moderation.parse_list(parts[2], field="aliases")
            if len(parts) > 3:
                values["affiliation"] = parts[3]
            if len(parts) > 4:
                values["homepage"] = moderation.parse_url(parts[4], field="homepage")
            await say(update, await save_new_source(svc, actor_of(update), values))
        except (InputError, RepositoryError) as problem:
            await say(update, not_saved(problem))
        return
    await open_form(update, svc, "source", {})


@about_incident(N_("Usage: /addaccount INCIDENT-ID"))
async def add_account(command: IncidentCommand) -> None:
    """/addaccount INCIDENT: which source, what it said, its figures and its stance per point."""
    incident = command.incident
    opened = {"incident": incident.key, "version": incident.version}
    await open_form(command.update, command.svc, "account", opened)


@about_incident(N_("Usage: /addpoint INCIDENT-ID [text of the point]"))
async def add_point(command: IncidentCommand) -> None:
    """/addpoint INCIDENT text saves at once; /addpoint INCIDENT asks for the text."""
    given = " ".join(command.args).strip()
    if given:
        await save_edit(command, lambda i: moderation.add_point(i, given))
        return
    incident = command.incident
    opened = {"incident": incident.key, "version": incident.version}
    await open_form(command.update, command.svc, "point", opened)


async def save_edit(
    command: IncidentCommand, change: Callable[[IncidentView], IncidentView]
) -> None:
    """Apply a one-line edit to the incident as read, refusing if anyone saved it since."""
    try:
        changed = change(command.incident)
        saved = await command.svc.database.repository.save_incident(
            changed, command.actor, expected_version=command.incident.version
        )
    except (InputError, RepositoryError) as problem:
        await command.say(not_saved(problem))
        return
    except IntegrityError:
        await command.say(
            "⚠️ " + tr("Not saved: that is already recorded (for this or another incident).")
        )
        return
    await command.svc.sync_index()
    await command.say(
        tr("Saved (version {version}). Undo with /undo.", version=saved.version)
        + f" /show {HTML.text(saved.key)}"
    )


@about_incident(
    N_("Usage: /stance INCIDENT-ID ACCOUNT-ID POINT-NUMBER asserts|disputes|partly|silent [note]")
)
async def set_stance(command: IncidentCommand) -> None:
    """/stance INCIDENT ACCOUNT POINT# asserts|disputes|partly|silent [note]"""
    args, incident = command.args, command.incident
    if len(args) < 3 or not args[1].isdigit():
        await command.show_usage()
        return
    index = int(args[1]) - 1
    if not 0 <= index < len(incident.points):
        await command.show_usage(
            tr(
                "There is no point #{number}; the incident has {count}.",
                number=index + 1,
                count=len(incident.points),
            )
        )
        return
    word = STANCE_LETTERS.get(args[2].lower(), args[2].lower())
    if word not in {s.value for s in Stance}:
        await command.show_usage()
        return
    point_key = incident.points[index].key
    note = " ".join(args[3:])
    await save_edit(
        command, lambda i: moderation.set_stance(i, args[0], point_key, Stance(word), note)
    )


@about_incident(
    N_("Usage: /edit INCIDENT-ID FIELD new value\nFields: {fields}"),
    fields=", ".join(moderation.EDITABLE_FIELDS),
)
async def edit(command: IncidentCommand) -> None:
    """/edit INCIDENT FIELD new value"""
    args = command.args
    if len(args) < 2 or args[0] not in moderation.EDITABLE_FIELDS:
        await command.show_usage()
        return
    value = " ".join(args[1:])
    await save_edit(command, lambda i: moderation.edit_incident(i, args[0], value))


@about_incident(
    N_(
        "Usage: /editaccount INCIDENT-ID ACCOUNT-ID FIELD new value\nFields: {fields} "
        "(figures: one per line, 'what is counted: its words #point')"
    ),
    fields=", ".join(moderation.ACCOUNT_FIELDS),
)
async def edit_account(command: IncidentCommand) -> None:
    """/editaccount INCIDENT ACCOUNT FIELD new value"""
    args = command.args
    if len(args) < 3 or args[1] not in moderation.ACCOUNT_FIELDS:
        await command.show_usage()
        return
    message = command.update.effective_message
    # Keep line breaks (figures are one per line): the value is the raw text after the
    # command and its first three arguments.
    raw = (message.text or "") if message else ""
    value = raw.split(maxsplit=4)[4].strip() if len(raw.split(maxsplit=4)) == 5 else ""
    await save_edit(command, lambda i: moderation.edit_account(i, args[0], args[1], value))


@about_incident(N_("Usage: /removeaccount INCIDENT-ID ACCOUNT-ID (undo with /undo)"))
async def remove_account(command: IncidentCommand) -> None:
    """/removeaccount INCIDENT ACCOUNT"""
    if len(command.args) != 1:
        await command.show_usage()
        return
    await save_edit(command, lambda i: moderation.remove_account(i, command.args[0]))


@staff_only()
async def edit_source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/editsource SOURCE FIELD new value"""
    svc = services(context)
    args = context.args or []
    text = tr(
        "Usage: /editsource SOURCE-ID FIELD new value\nFields: {fields}",
        fields=", ".join(moderation.SOURCE_FIELDS),
    )
    if len(args) < 3 or args[1] not in moderation.SOURCE_FIELDS:
        sources = await svc.database.repository.list_sources()
        listed = "\n".join(f"<code>{HTML.text(s.key)}</code> {HTML.text(s.name)}" for s in sources)
        await say(update, usage(text) + ("\n" + tr("Sources:") + "\n" + listed if listed else ""))
        return
    value = " ".join(args[2:])
    await save_source_change(
        update, svc, args[0], lambda source: moderation.edit_source(source, args[1], value)
    )


@about_incident(N_("Usage: forward the channel post here, then reply to it with /post INCIDENT-ID"))
async def record_post(command: IncidentCommand) -> None:
    """/post INCIDENT in reply to a forwarded channel post: forwards of it then match exactly."""
    message = command.update.effective_message
    replied = message.reply_to_message if message else None
    origin = replied.forward_origin if replied else None
    if command.args or not isinstance(origin, MessageOriginChannel):
        await command.show_usage()
        return
    channel = channel_name(origin.chat)
    await save_edit(command, lambda i: moderation.add_post(i, channel, origin.message_id))


@about_incident(N_("Usage: /delete INCIDENT-ID"))
async def delete(command: IncidentCommand) -> None:
    key = command.incident.key
    await command.svc.database.repository.set_incident_deleted(key, True, command.actor)
    await command.svc.sync_index()
    await command.say(tr("Deleted {key}. Undo with /undo.", key=f"<code>{HTML.text(key)}</code>"))


@staff_only()
async def undo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    try:
        event = await svc.database.audit.undo_last(actor_of(update))
    except (RepositoryError, InputError) as problem:
        await say(update, "⚠️ " + tr("Could not undo: {problem}", problem=HTML.text(str(problem))))
        return
    if event is None:
        await say(update, tr("Nothing of yours to undo."))
        return
    await svc.sync_index()
    await say(
        update,
        tr(
            "Undone: {action} of {key}.",
            action=HTML.text(event.action),
            key=f"<code>{HTML.text(event.entity_key)}</code>",
        ),
    )


@about_incident(
    N_(
        "Usage: /translate INCIDENT-ID LANGUAGE WHAT text ('-' takes a translation away)\n"
        "WHAT: {targets}"
    ),
    targets=", ".join(translation.TARGETS),
)
async def translate_record(command: IncidentCommand) -> None:
    """/translate INCIDENT LANG WHAT text: one text of the record in another language."""
    message = command.update.effective_message
    # The text keeps its own spacing: it is what follows the first four words.
    parts = ((message.text or "") if message else "").split(maxsplit=4)
    if len(parts) < 5:
        await command.show_usage()
        return
    _, _, language, target, value = parts
    await save_edit(
        command, lambda incident: translation.translate(incident, language, target, value)
    )


@staff_only()
async def translate_source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/translatesource SOURCE LANG name|affiliation text"""
    svc = services(context)
    message = update.effective_message
    parts = ((message.text or "") if message else "").split(maxsplit=4)
    if len(parts) < 5:
        usage_text = tr("Usage: /translatesource SOURCE-ID LANGUAGE name|affiliation text")
        await say(update, usage(usage_text))
        return
    _, key, language, field, value = parts
    await save_source_change(
        update,
        svc,
        key,
        lambda source: translation.translate_source(source, language, field, value),
    )


async def save_source_change(
    update: Update, svc: Services, key: str, change: Callable[[SourceView], SourceView]
) -> None:
    """Apply a change to a source as read, refusing if anyone saved it since."""
    source = await svc.database.repository.get_source(key)
    if source is None:
        await say(update, no_source(key))
        return
    try:
        saved = await svc.database.repository.save_source(
            change(source), actor_of(update), expected_version=source.version
        )
    except (InputError, RepositoryError) as problem:
        await say(update, not_saved(problem))
        return
    # Source names are matched and shown with every incident that cites them.
    await svc.sync_index()
    await say(update, source_saved(saved.key, saved.version))


def not_saved(problem: Exception) -> str:
    return "⚠️ " + tr("Not saved: {problem}", problem=HTML.text(str(problem)))


def no_source(key: str) -> str:
    return tr("No source with id {key}.", key=f"<code>{HTML.text(key)}</code>")


def source_saved(key: str, version: int) -> str:
    return tr(
        "Saved source {key} (version {version}).",
        key=f"<code>{HTML.text(key)}</code>",
        version=version,
    )
