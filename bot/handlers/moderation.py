"""Moderators curate incidents from their private chat with the bot.

Everything here is refused to anyone who is not a moderator (or an admin named in
ADMIN_IDS), and refused in groups so that nothing leaks there. Every refusal is logged and
audited. Every change is checked by the same rules as an imported dataset, saved in one
transaction with its audit event, and visible to the very next check.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy.exc import IntegrityError
from telegram import Message, MessageOriginChannel, MessageOriginUser, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.forms import FORM_TIMEOUT, Draft, Form, Step
from bot.handlers.checks import channel_name
from bot.notify import link_claim
from bot.render import HTML, Button, inline_markup, shorten, split_message
from bot.services import Services, services
from db.datasets import export_dataset, import_dataset, plan_import
from db.repository import Actor, NotFoundError, RepositoryError
from domain import dataset, moderation
from domain.dataset import DatasetInvalid, validate
from domain.model import IncidentView, Role, SourceKind, SourceView, Stance
from domain.moderation import InputError

log = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]
MAX_UPLOAD = 20 * 1024 * 1024  # Telegram lets bots download files up to 20 MB
STANCE_CHOICES = [
    ("✅ asserts", "asserts"),
    ("❌ disputes", "disputes"),
    ("◐ partly", "partly"),
    ("… silent", "silent"),
]
STANCE_LETTERS = {"a": "asserts", "d": "disputes", "p": "partly", "s": "silent"}


# --- access --------------------------------------------------------------------------------


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
            role = await role_of(svc, user.id)
            allowed = role is Role.ADMIN if admin else role is not None
            if not allowed:
                log.warning("refused %s to a non-moderator", what, extra={"user": user.id})
                await svc.database.staff.record_refusal(user.id, what)
                await _refuse(
                    update,
                    svc,
                    "Only admins can do that."
                    if admin and role
                    else "This is for moderators only.",
                )
                return None
            if chat.type != ChatType.PRIVATE:
                await _refuse(
                    update, svc, "Moderator commands work only in a private chat with me."
                )
                return None
            return await handler(update, context)

        return guarded

    return decorate


async def _refuse(update: Update, svc: Services, text: str) -> None:
    """Say why, the same words once a minute per chat: a pop-up for a button (it answers
    the press, which Telegram expects), a message otherwise."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None and svc.may_say(
        update.effective_message.chat.id, f"refusal: {text}"
    ):
        await update.effective_message.reply_text(text)


async def say(update: Update, text: str, keyboard: Any = None) -> Message | None:
    """Reply with our HTML; callers escape everything stored or typed."""
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=inline_markup(keyboard or [])
    )


def usage(text: str) -> str:
    return HTML.text(text)


async def _saved(svc: Services, keys: list[str]) -> None:
    await svc.incidents_changed(keys)


# --- guided forms --------------------------------------------------------------------------


async def _save_form_change(
    svc: Services,
    key: str,
    version: int,
    actor: Actor,
    change: Callable[[IncidentView], IncidentView],
) -> IncidentView:
    """Apply a form's change to the incident it was opened on, refusing if anyone else
    saved the incident since: the form was filled in against that version."""
    current = await svc.database.repository.get_incident(key)
    if current is None:
        raise InputError("the incident was deleted meanwhile")
    saved = await svc.database.repository.save_incident(
        change(current), actor, expected_version=version
    )
    await _saved(svc, [saved.key])
    return saved


async def _ask(update: Update, draft: Draft, problem: str | None = None) -> None:
    text, keyboard = draft.question()
    if problem:
        text = f"⚠️ {HTML.text(problem)}\n\n{text}"
    # A long summary goes out in parts; the buttons stay under the last one.
    parts = split_message(text.split("\n\n"))
    for part in parts[:-1]:
        await say(update, part)
    await say(update, parts[-1], keyboard)


FormBuilder = Callable[[Services, Actor, dict[str, Any]], Awaitable["Form | str"]]


def _where(update: Update) -> tuple[int, int]:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return user.id, chat.id


async def _open_form(update: Update, svc: Services, name: str, opened: dict[str, Any]) -> None:
    """Build the form, store its empty draft, ask the first question."""
    built = await FORM_BUILDERS[name](svc, actor_of(update), opened)
    if isinstance(built, str):
        await say(update, built)
        return
    draft = Draft(built)
    user_id, chat_id = _where(update)
    await svc.database.drafts.put(user_id, chat_id, draft.state())
    svc.note_staff(user_id)  # only staff get here; their answers must find the form
    await _ask(update, draft)


async def _open_draft(update: Update, svc: Services) -> tuple[Draft | None, bool]:
    """The form this moderator has open in this chat, built again from its stored answers,
    and whether the moderator was already told something about it.

    A form whose subject is gone (say, its incident was deleted) is closed with a word; a
    stored answer that no longer fits is asked again.
    """
    user_id, chat_id = _where(update)
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
        await say(update, f"⚠️ Your open form was closed: {built}")
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
    text = message.text or ""
    if (text.split() or [""])[0].split("@")[0].lower() == "/cancel":
        return  # handled by /cancel itself, whatever state the form is in
    draft, replied = await _open_draft(update, svc)
    if replied:
        raise ApplicationHandlerStop
    if draft is None:
        return
    if text.startswith("/"):
        await _ask(update, draft, "a form is open: answer it, or send /cancel first")
        raise ApplicationHandlerStop
    try:
        draft.answer(text)
    except InputError as problem:
        await _ask(update, draft, str(problem))
        raise ApplicationHandlerStop from None
    await svc.database.drafts.put(*_where(update), draft.state())
    await _ask(update, draft)
    raise ApplicationHandlerStop


async def form_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    if query is None or not await _form_owner(update, svc):
        return  # not a moderator: refused and audited further down
    data = query.data or ""
    if data == "m:x":
        # Cancel needs nothing from the form, not even answers that still fit.
        await query.answer()
        await _cancel(update, svc)
        raise ApplicationHandlerStop
    draft, replied = await _open_draft(update, svc)
    if draft is None:
        await query.answer("This form is closed." if not replied else None, show_alert=not replied)
        raise ApplicationHandlerStop
    await query.answer()
    user_id, chat_id = _where(update)
    if data == "m:s":
        if draft.current() is not None:
            await _ask(update, draft, "answer the remaining questions first")
        else:
            await _save_draft(update, svc, draft)
    else:
        parts = data.split(":")
        try:
            if not (len(parts) == 4 and parts[2].isdigit() and parts[3].isdigit()):
                raise InputError("that button is no longer in use")
            draft.choose(int(parts[2]), int(parts[3]))
        except InputError as problem:
            await _ask(update, draft, str(problem))
        else:
            await svc.database.drafts.put(user_id, chat_id, draft.state())
            await _ask(update, draft)
    raise ApplicationHandlerStop


async def _save_draft(update: Update, svc: Services, draft: Draft) -> None:
    """Close the form, then save it. Closing first means that a crash in between loses
    the draft rather than saving it twice on the next press of Save."""
    where = _where(update)
    if not await svc.database.drafts.discard(*where):
        # Save pressed twice, the presses handled at once (say, by two replicas).
        await say(update, "This form was already saved or closed.")
        return
    try:
        done = await draft.form.save(draft.values)
    except (InputError, RepositoryError) as problem:
        await say(update, f"⚠️ Not saved: {HTML.text(str(problem))}")
        return
    except Exception:
        # Nothing was saved (the database failed): keep the form so Save can be pressed again.
        await svc.database.drafts.put(*where, draft.state())
        raise
    await say(update, done)


async def _cancel(update: Update, svc: Services) -> None:
    had = await svc.database.drafts.discard(*_where(update))
    await say(update, "Cancelled; nothing was saved." if had else "Nothing to cancel.")


@staff_only()
async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _cancel(update, services(context))


def _opt(value: Any, empty: str = "—") -> str:
    if value is None or value == () or value == "":
        return empty
    if isinstance(value, tuple):
        return HTML.text(", ".join(map(str, value)))
    return HTML.text(str(value))


@staff_only()
async def new_incident(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _open_form(update, services(context), "incident", {})


async def _incident_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    def parse_place(text: str, values: dict[str, Any]) -> tuple[str, ...]:
        names = moderation.parse_list(text, field="place")
        if not names:
            raise InputError("place: give at least the name")
        return names

    def parse_points(text: str, values: dict[str, Any]) -> tuple[str, ...]:
        return tuple(
            moderation.clean_text(line.lstrip("-•*0123456789.) "), field="point", limit=500)
            for line in text.splitlines()
            if line.strip()
        )

    def summary(values: dict[str, Any]) -> str:
        place = values["place"]
        points = values.get("points") or ()
        lines = [
            f"<b>Title:</b> {HTML.text(values['title'])}",
            f"<b>Summary:</b> {HTML.text(values['summary'])}",
            f"<b>Place:</b> {HTML.text(place[0])} (also: {_opt(place[1:])})",
            f"<b>Country:</b> {_opt(values.get('country'))}",
            f"<b>Date:</b> {_opt(_date_text(values.get('date')))}",
            f"<b>Points:</b> {len(points)}",
        ]
        lines += [f"  {n}. {HTML.text(p)}" for n, p in enumerate(points, 1)]
        return "\n".join(lines)

    async def save(values: dict[str, Any]) -> str:
        base = moderation.slugify(values["title"])
        taken = await svc.database.repository.incident_keys_starting(base)
        incident = moderation.new_incident(
            key=moderation.slugify(values["title"], taken),
            title=values["title"],
            summary=values["summary"],
            place=values["place"][0],
            place_aliases=values["place"][1:],
            country=values.get("country") or "",
            date=values.get("date") or moderation.parse_date("unknown"),
            points=values.get("points") or (),
        )
        saved = await svc.database.repository.save_incident(incident, actor, expected_version=None)
        await _saved(svc, [saved.key])
        return (
            f"Saved incident <code>{HTML.text(saved.key)}</code>. "
            f"Add what each source said with /addaccount {HTML.text(saved.key)}"
        )

    return Form(
        "incident",
        "New incident",
        [
            Step(
                "title",
                "Title? A neutral one-line description of what is reported.",
                lambda t, v: moderation.clean_text(t, field="title", limit=300),
            ),
            Step(
                "summary",
                "Neutral summary: who reports what, in two or three sentences.",
                lambda t, v: moderation.clean_text(t, field="summary", limit=2000),
            ),
            Step(
                "place",
                "Place, then other spellings, comma-separated: <i>Idlib, Idleb, Идлиб, إدلب</i>",
                parse_place,
            ),
            Step(
                "country",
                "Country?",
                lambda t, v: moderation.clean_text(t, field="country", limit=100),
                optional=True,
            ),
            Step(
                "date",
                "Date: YYYY-MM-DD, YYYY-MM, YYYY, a range A..B, or <i>unknown</i>.",
                lambda t, v: moderation.parse_date(t),
            ),
            Step(
                "points",
                "The specific claims (points) sources agree or disagree on, one "
                "per line: <i>Up to 40 Syrian soldiers were killed</i>",
                parse_points,
                optional=True,
            ),
        ],
        summary,
        save,
        opened,
    )


def _date_text(date: Any) -> str | None:
    if not date or date[0] is None:
        return "unknown"
    start, end, _ = date
    return f"{start.isoformat()}" + (f"..{end.isoformat()}" if end and end != start else "")


async def _save_new_source(svc: Services, actor: Actor, values: dict[str, Any]) -> str:
    taken = [s.key for s in await svc.database.repository.list_sources(include_deleted=True)]
    source = moderation.new_source(
        key=moderation.slugify(values["name"], taken),
        name=values["name"],
        kind=values["kind"],
        affiliation=values.get("affiliation") or "",
        aliases=values.get("aliases") or (),
        homepage=values.get("homepage"),
    )
    saved = await svc.database.repository.save_source(source, actor, expected_version=None)
    return f"Saved source <code>{HTML.text(saved.key)}</code>: {HTML.text(saved.name)}"


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
                    "Usage: /newsource Name | kind | aliases, comma-separated | affiliation"
                    " | homepage\n"
                    "kinds: " + ", ".join(k.value for k in SourceKind)
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
            await say(update, await _save_new_source(svc, actor_of(update), values))
        except (InputError, RepositoryError) as problem:
            await say(update, f"⚠️ Not saved: {HTML.text(str(problem))}")
        return
    await _open_form(update, svc, "source", {})


async def _source_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    async def save(values: dict[str, Any]) -> str:
        return await _save_new_source(svc, actor, values)

    def summary(values: dict[str, Any]) -> str:
        return "\n".join(
            [
                f"<b>Name:</b> {HTML.text(values['name'])}",
                f"<b>Kind:</b> {HTML.text(values['kind'])}",
                f"<b>Other names:</b> {_opt(values.get('aliases'))}",
                f"<b>Affiliation:</b> {_opt(values.get('affiliation'))}",
                f"<b>Homepage:</b> {_opt(values.get('homepage'))}",
            ]
        )

    def parse_kind(text: str, values: dict[str, Any]) -> str:
        kind = text.strip().lower().replace(" ", "_")
        if kind not in {k.value for k in SourceKind}:
            raise InputError("kind: press one of the buttons")
        return kind

    return Form(
        "source",
        "New source",
        [
            Step(
                "name",
                "Name of the source, as readers know it?",
                lambda t, v: moderation.clean_text(t, field="name", limit=200),
            ),
            Step(
                "kind",
                "What kind of source is it?",
                parse_kind,
                choices=lambda v: [(k.value.replace("_", " "), k.value) for k in SourceKind],
            ),
            Step(
                "aliases",
                "Other names and spellings, comma-separated: <i>SANA, Syrian Arab News Agency</i>",
                lambda t, v: moderation.parse_list(t, field="aliases"),
                optional=True,
            ),
            Step(
                "affiliation",
                "Side or affiliation, in a few words?",
                lambda t, v: moderation.clean_text(t, field="affiliation", limit=300),
                optional=True,
            ),
            Step(
                "homepage",
                "Homepage link?",
                lambda t, v: moderation.parse_url(t, field="homepage"),
                optional=True,
            ),
        ],
        summary,
        save,
        opened,
    )


@staff_only()
async def add_account(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/addaccount INCIDENT: which source, what it said, its figures and its stance per point."""
    svc = services(context)
    key = (context.args or [""])[0]
    incident = await _incident_arg(update, svc, key, "Usage: /addaccount INCIDENT-ID")
    if incident is None:
        return
    opened = {"incident": incident.key, "version": incident.version}
    await _open_form(update, svc, "account", opened)


async def _account_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    incident = await svc.database.repository.get_incident(str(opened.get("incident", "")))
    if incident is None:
        return "the incident was deleted meanwhile"
    sources = await svc.database.repository.list_sources()
    if not sources:
        return "There are no sources yet: add one with /newsource first."
    by_key = {s.key: s for s in sources}
    version = _unchanged_since_opened(incident, opened)
    if version is None:
        return _changed_meanwhile(incident, "addaccount")

    def parse_source(text: str, values: dict[str, Any]) -> SourceView:
        wanted = text.strip()
        for source in sources:
            if wanted in (source.key, source.name) or wanted in source.aliases:
                return source
        raise InputError("source: press one of the buttons, or send its id")

    def parse_stance(text: str, values: dict[str, Any]) -> Stance:
        word = STANCE_LETTERS.get(text.strip().lower()[:1], text.strip().lower())
        try:
            return Stance(word)
        except ValueError:
            raise InputError("stance: asserts, disputes, partly or silent") from None

    point_steps = [
        Step(
            f"stance:{point.key}",
            f"Point {n} of {len(incident.points)}: <i>{HTML.text(point.text)}</i>\n"
            "What does this source say about it?",
            parse_stance,
            choices=lambda v: STANCE_CHOICES,
        )
        for n, point in enumerate(incident.points, 1)
    ]
    points_help = "\n".join(f"#{n} {HTML.text(p.text)}" for n, p in enumerate(incident.points, 1))

    def summary(values: dict[str, Any]) -> str:
        source: SourceView = values["source"]
        lines = [
            f"<b>Incident:</b> {HTML.text(incident.title)}",
            f"<b>Source:</b> {HTML.text(source.name)}",
            f"<b>Said:</b> {HTML.text(values['summary'])}",
        ]
        for figure in values.get("figures") or ():
            lines.append(f"<b>Figure:</b> {HTML.text(figure.label)}: {HTML.text(figure.raw)}")
        for point in incident.points:
            stance = values.get(f"stance:{point.key}")
            if stance is not None:
                lines.append(f"{HTML.text(stance.value)}: {HTML.text(shorten(point.text, 80))}")
        lines.append(f"<b>Link:</b> {_opt(values.get('url'))}")
        lines.append(f"<b>Published:</b> {_opt(_date_text(values.get('published')))}")
        return "\n".join(lines)

    async def save(values: dict[str, Any]) -> str:
        published = values.get("published")
        saved = await _save_form_change(
            svc,
            incident.key,
            version,
            actor,
            lambda current: moderation.add_account(
                current,
                by_key[values["source"].key],
                summary=values["summary"],
                figures=values.get("figures") or (),
                stances={
                    p.key: values[f"stance:{p.key}"]
                    for p in incident.points
                    if values.get(f"stance:{p.key}") is not None
                },
                url=values.get("url"),
                published_on=published[0] if published else None,
            ),
        )
        return (
            f"Saved. {HTML.text(saved.title)} now has {len(saved.accounts)} account(s). "
            f"/show {HTML.text(saved.key)}"
        )

    return Form(
        "account",
        "New account",
        [
            Step(
                "source",
                "Which source gave this account?",
                parse_source,
                choices=lambda v: [(shorten(s.name, 40), s.key) for s in sources],
            ),
            Step(
                "summary",
                "What did it say? Our own short summary.",
                lambda t, v: moderation.clean_text(t, field="summary", limit=1500),
            ),
            Step(
                "figures",
                "Figures exactly as the source gave them, one per line as "
                "<i>what is counted: its words #point</i>, e.g. "
                "<i>Syrian soldiers killed: up to 40 #2</i>\n" + points_help,
                lambda t, v: moderation.parse_figures(t, incident.points),
                optional=True,
            ),
            *point_steps,
            Step(
                "url",
                "Link to the source's publication?",
                lambda t, v: moderation.parse_url(t),
                optional=True,
            ),
            Step(
                "published",
                "When was it published? YYYY-MM-DD",
                lambda t, v: moderation.parse_date(t),
                optional=True,
            ),
        ],
        summary,
        save,
        opened,
    )


# --- one-line commands ---------------------------------------------------------------------


async def _recent_ids(svc: Services, limit: int = 10) -> str:
    recent = await svc.database.repository.recent_incidents(limit)
    if not recent:
        return "No incidents yet: start one with /newincident."
    lines = [
        f"<code>{HTML.text(key)}</code> {HTML.text(shorten(title, 50))}" for key, title in recent
    ]
    return "Recently changed incidents:\n" + "\n".join(lines)


async def _incident_arg(
    update: Update, svc: Services, key: str, usage_text: str
) -> IncidentView | None:
    if not key:
        await say(update, usage(usage_text) + "\n" + await _recent_ids(svc))
        return None
    incident = await svc.database.repository.get_incident(key)
    if incident is None:
        await say(
            update, f"No incident with id <code>{HTML.text(key)}</code>.\n" + await _recent_ids(svc)
        )
    return incident


async def _save_edit(
    update: Update,
    svc: Services,
    before: IncidentView,
    change: Callable[[IncidentView], IncidentView],
) -> None:
    try:
        changed = change(before)
        saved = await svc.database.repository.save_incident(
            changed, actor_of(update), expected_version=before.version
        )
    except (InputError, RepositoryError) as problem:
        await say(update, f"⚠️ Not saved: {HTML.text(str(problem))}")
        return
    except IntegrityError:
        await say(update, "⚠️ Not saved: that is already recorded (for this or another incident).")
        return
    await _saved(svc, [saved.key])
    await say(
        update, f"Saved (version {saved.version}). Undo with /undo. /show {HTML.text(saved.key)}"
    )


@staff_only()
async def add_point(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/addpoint INCIDENT text saves at once; /addpoint INCIDENT asks for the text."""
    svc = services(context)
    args = context.args or []
    text = "Usage: /addpoint INCIDENT-ID [text of the point]"
    incident = await _incident_arg(update, svc, args[0] if args else "", text)
    if incident is None:
        return
    given = " ".join(args[1:]).strip()
    if given:
        await _save_edit(update, svc, incident, lambda i: moderation.add_point(i, given))
        return
    await _open_form(update, svc, "point", {"incident": incident.key, "version": incident.version})


async def _point_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    incident = await svc.database.repository.get_incident(str(opened.get("incident", "")))
    if incident is None:
        return "the incident was deleted meanwhile"
    version = _unchanged_since_opened(incident, opened)
    if version is None:
        return _changed_meanwhile(incident, "addpoint")

    async def save(values: dict[str, Any]) -> str:
        saved = await _save_form_change(
            svc, incident.key, version, actor, lambda i: moderation.add_point(i, values["text"])
        )
        return (
            f"Saved point #{len(saved.points)}. Set each source's stance on it with "
            f"/stance {HTML.text(saved.key)} ACCOUNT-ID {len(saved.points)} asserts|disputes|…"
        )

    existing = "\n".join(f"#{n} {HTML.text(p.text)}" for n, p in enumerate(incident.points, 1))
    return Form(
        "point",
        "New point",
        [
            Step(
                "text",
                f"<i>{HTML.text(incident.title)}</i>\n{existing}\n\nThe new point: one specific "
                "claim that sources assert or dispute.",
                lambda t, v: moderation.clean_text(t, field="point", limit=500),
            )
        ],
        lambda values: f"<b>Point:</b> {HTML.text(values['text'])}",
        save,
        opened,
    )


def _unchanged_since_opened(incident: IncidentView, opened: dict[str, Any]) -> int | None:
    """The version a form was opened on, if the incident is still at it.

    Its questions were asked about that version (its points, say): answers given to an
    older picture must not be saved over a newer one.
    """
    version = int(opened.get("version", incident.version))
    return version if version == incident.version else None


def _changed_meanwhile(incident: IncidentView, command: str) -> str:
    return (
        f"the incident was changed by someone else meanwhile (now version {incident.version});"
        f" nothing was saved. Look with /show {HTML.text(incident.key)}, then start again"
        f" with /{command} {HTML.text(incident.key)}"
    )


FORM_BUILDERS: dict[str, FormBuilder] = {
    "incident": _incident_form,
    "source": _source_form,
    "account": _account_form,
    "point": _point_form,
}


@staff_only()
async def set_stance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stance INCIDENT ACCOUNT POINT# asserts|disputes|partly|silent [note]"""
    svc = services(context)
    args = context.args or []
    text = (
        "Usage: /stance INCIDENT-ID ACCOUNT-ID POINT-NUMBER asserts|disputes|partly|silent [note]"
    )
    incident = await _incident_arg(update, svc, args[0] if args else "", text)
    if incident is None:
        return
    if len(args) < 4 or not args[2].isdigit():
        await say(update, usage(text))
        return
    index = int(args[2]) - 1
    if not 0 <= index < len(incident.points):
        await say(
            update,
            usage(f"There is no point #{index + 1}; the incident has {len(incident.points)}."),
        )
        return
    word = STANCE_LETTERS.get(args[3].lower(), args[3].lower())
    if word not in {s.value for s in Stance}:
        await say(update, usage(text))
        return
    point_key = incident.points[index].key
    note = " ".join(args[4:])
    await _save_edit(
        update,
        svc,
        incident,
        lambda i: moderation.set_stance(i, args[1], point_key, Stance(word), note),
    )


@staff_only()
async def edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/edit INCIDENT FIELD new value"""
    svc = services(context)
    args = context.args or []
    text = "Usage: /edit INCIDENT-ID FIELD new value\nFields: " + ", ".join(
        moderation.EDITABLE_FIELDS
    )
    incident = await _incident_arg(update, svc, args[0] if args else "", text)
    if incident is None:
        return
    if len(args) < 3 or args[1] not in moderation.EDITABLE_FIELDS:
        await say(update, usage(text))
        return
    value = " ".join(args[2:])
    await _save_edit(update, svc, incident, lambda i: moderation.edit_incident(i, args[1], value))


@staff_only()
async def edit_account(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/editaccount INCIDENT ACCOUNT FIELD new value"""
    svc = services(context)
    args = context.args or []
    text = (
        "Usage: /editaccount INCIDENT-ID ACCOUNT-ID FIELD new value\nFields: "
        + ", ".join(moderation.ACCOUNT_FIELDS)
        + " (figures: one per line, 'what is counted: its words #point')"
    )
    incident = await _incident_arg(update, svc, args[0] if args else "", text)
    if incident is None:
        return
    if len(args) < 4 or args[2] not in moderation.ACCOUNT_FIELDS:
        await say(update, usage(text))
        return
    message = update.effective_message
    # Keep line breaks (figures are one per line): the value is the raw text after the
    # command and its first three arguments.
    raw = (message.text or "") if message else ""
    value = raw.split(maxsplit=4)[4].strip() if len(raw.split(maxsplit=4)) == 5 else ""
    await _save_edit(
        update, svc, incident, lambda i: moderation.edit_account(i, args[1], args[2], value)
    )


@staff_only()
async def remove_account(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/removeaccount INCIDENT ACCOUNT"""
    svc = services(context)
    args = context.args or []
    text = "Usage: /removeaccount INCIDENT-ID ACCOUNT-ID (undo with /undo)"
    incident = await _incident_arg(update, svc, args[0] if args else "", text)
    if incident is None:
        return
    if len(args) != 2:
        await say(update, usage(text))
        return
    await _save_edit(update, svc, incident, lambda i: moderation.remove_account(i, args[1]))


@staff_only()
async def edit_source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/editsource SOURCE FIELD new value"""
    svc = services(context)
    args = context.args or []
    text = "Usage: /editsource SOURCE-ID FIELD new value\nFields: " + ", ".join(
        moderation.SOURCE_FIELDS
    )
    if len(args) < 3 or args[1] not in moderation.SOURCE_FIELDS:
        sources = await svc.database.repository.list_sources()
        listed = "\n".join(f"<code>{HTML.text(s.key)}</code> {HTML.text(s.name)}" for s in sources)
        await say(update, usage(text) + ("\nSources:\n" + listed if listed else ""))
        return
    source = await svc.database.repository.get_source(args[0])
    if source is None:
        await say(update, f"No source with id <code>{HTML.text(args[0])}</code>.")
        return
    try:
        changed = moderation.edit_source(source, args[1], " ".join(args[2:]))
        saved = await svc.database.repository.save_source(
            changed, actor_of(update), expected_version=source.version
        )
    except (InputError, RepositoryError) as problem:
        await say(update, f"⚠️ Not saved: {HTML.text(str(problem))}")
        return
    # Source names are matched and shown with every incident that cites them.
    await _saved(svc, await svc.database.repository.incidents_citing(saved.key))
    await say(
        update, f"Saved source <code>{HTML.text(saved.key)}</code> (version {saved.version})."
    )


@staff_only()
async def record_post(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/post INCIDENT in reply to a forwarded channel post: forwards of it then match exactly."""
    svc = services(context)
    args = context.args or []
    text = "Usage: forward the channel post here, then reply to it with /post INCIDENT-ID"
    message = update.effective_message
    replied = message.reply_to_message if message else None
    origin = replied.forward_origin if replied else None
    if len(args) != 1 or not isinstance(origin, MessageOriginChannel):
        await say(update, usage(text))
        return
    incident = await _incident_arg(update, svc, args[0], text)
    if incident is None:
        return
    channel = channel_name(origin.chat)
    await _save_edit(
        update, svc, incident, lambda i: moderation.add_post(i, channel, origin.message_id)
    )


@staff_only()
async def delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    key = (context.args or [""])[0]
    incident = await _incident_arg(update, svc, key, "Usage: /delete INCIDENT-ID")
    if incident is None:
        return
    await svc.database.repository.set_incident_deleted(incident.key, True, actor_of(update))
    await _saved(svc, [incident.key])
    await say(update, f"Deleted <code>{HTML.text(incident.key)}</code>. Undo with /undo.")


@staff_only()
async def undo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    try:
        event = await svc.database.audit.undo_last(actor_of(update))
    except (RepositoryError, InputError) as problem:
        await say(update, f"⚠️ Could not undo: {HTML.text(str(problem))}")
        return
    if event is None:
        await say(update, "Nothing of yours to undo.")
        return
    await _saved(svc, [event.entity_key])
    await say(
        update, f"Undone: {HTML.text(event.action)} of <code>{HTML.text(event.entity_key)}</code>."
    )


@staff_only()
async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An incident with every id a moderator needs for the one-line commands."""
    svc = services(context)
    key = (context.args or [""])[0]
    incident = await _incident_arg(update, svc, key, "Usage: /show INCIDENT-ID")
    if incident is None:
        return
    lines = [
        f"<b>{HTML.text(incident.title)}</b>",
        f"id <code>{HTML.text(incident.key)}</code> · version {incident.version} · "
        f"{HTML.text(incident.status.value)}",
        f"Place: {HTML.text(incident.place)} ({_opt(incident.place_aliases)})",
        "",
        "<b>Points</b>",
    ]
    lines += [
        f"#{n} <code>{HTML.text(p.key)}</code> {HTML.text(p.text)}"
        for n, p in enumerate(incident.points, 1)
    ]
    lines += ["", "<b>Accounts</b>"]
    for account in incident.accounts:
        stances = " ".join(
            f"#{n}:{account.stance_on(p.key).value[0]}" for n, p in enumerate(incident.points, 1)
        )
        lines.append(
            f"<code>{HTML.text(account.key)}</code> {HTML.text(account.source.name)} · "
            f"{HTML.text(stances)}"
        )
    for text in split_message(["\n".join(lines)]):
        await say(update, text)


@staff_only()
async def queue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    entries = await svc.database.community.open_queue(limit=10)
    if not entries:
        await say(update, "The queue is empty: every claim sent so far was matched or handled.")
        return
    lines = ["<b>Unmatched claims, most asked first</b>"]
    for entry in entries:
        lines.append(
            f"<code>{entry.id}</code> ×{entry.times_asked} "
            f"({entry.waiting} waiting) {HTML.text(shorten(entry.sample_text, 150))}"
        )
    lines.append(
        "\n/link ID INCIDENT-ID links one (its wording becomes a matching phrase); "
        "/dismiss ID removes it."
    )
    await say(update, "\n".join(lines))


@staff_only()
async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    args = context.args or []
    if len(args) != 2 or not args[0].isdigit():
        await say(update, usage("Usage: /link QUEUE-ID INCIDENT-ID (see /queue)"))
        return
    try:
        told = await link_claim(svc, context.bot, int(args[0]), args[1], actor_of(update))
    except NotFoundError as missing:
        await say(update, f"⚠️ {HTML.text(str(missing))}")
        return
    await say(update, f"Linked. {told} waiting user(s) told.")


@staff_only()
async def dismiss(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await say(update, usage("Usage: /dismiss QUEUE-ID (see /queue)"))
        return
    try:
        await svc.database.community.dismiss_query(int(args[0]), actor_of(update))
    except NotFoundError as missing:
        await say(update, f"⚠️ {HTML.text(str(missing))}")
        return
    await say(update, "Dismissed.")


@staff_only()
async def audit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    limit, user_id, action, refusals = 15, None, None, False
    for arg in context.args or []:
        name, _, value = arg.partition("=")
        if arg.isdigit() and 1 <= int(arg) <= 100:
            limit = int(arg)
        elif arg == "refusals":
            refusals = True
        elif name == "user" and value.lstrip("-").isdigit():
            user_id = int(value)
        elif name == "kind" and value:
            action = value[:40]
        else:
            await say(
                update,
                usage(
                    "Usage: /audit [how many, 1-100] [user=ID] [kind=ACTION] [refusals]\n"
                    "Refused attempts by non-moderators are left out unless you add refusals."
                ),
            )
            return
    events = await svc.database.audit.latest(
        limit, user_id=user_id, action=action, refusals=refusals
    )
    if not events:
        await say(update, "Nothing in the audit log matches.")
        return
    lines = ["<b>Latest changes</b>"]
    for event in events:
        who = event.actor_label or (str(event.actor_id) if event.actor_id else "system")
        times = int((event.after or {}).get("times", 1)) if event.action == "refused" else 1
        lines.append(
            f"{event.at:%Y-%m-%d %H:%M} {HTML.text(who)}: {HTML.text(event.action)} "
            f"{HTML.text(event.entity)} <code>{HTML.text(shorten(event.entity_key, 60))}</code>"
            + (f" ×{times}" if times > 1 else "")
        )
    for text in split_message(["\n".join(lines)]):
        await say(update, text)


@staff_only()
async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message = update.effective_message
    assert message is not None
    out = io.StringIO()
    count = await export_dataset(svc.database.repository, out)
    await message.reply_document(
        io.BytesIO(out.getvalue().encode("utf-8")),
        filename="factcheck-dataset.json",
        caption=f"{count} incident(s).",
    )


@staff_only()
async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A dataset sent as a document: validate all of it, then ask before importing."""
    svc = services(context)
    message = update.effective_message
    assert message is not None
    document = message.document
    if document is None:
        return
    if document.file_size and document.file_size > MAX_UPLOAD:
        await say(update, "⚠️ That file is larger than the 20 MB a bot can download.")
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    known = await svc.database.repository.source_keys()
    posts = await svc.database.repository.post_owners()
    # Up to 20 MB of someone's JSON: read off the event loop, so other chats go on.
    report = await asyncio.to_thread(
        validate,
        lambda: io.BytesIO(data),
        known,
        max_bytes=dataset.MAX_BYTES,
        existing_posts=posts,
    )
    if not report.ok:
        for text in _report_messages(report.describe()):
            await say(update, text)
        return
    user_id, chat_id = _where(update)
    await svc.database.uploads.put(
        user_id, chat_id, document.file_id, document.file_name or "upload.json"
    )
    plan = await plan_import(svc.database.repository, lambda: io.BytesIO(data))
    buttons = [Button("Import", "m:import")]
    question = "Import it?"
    if plan.needs_choice:
        # Bringing back what someone deleted, or overwriting what someone edited since the
        # file was made, is never the default: it takes its own button.
        question = (
            "Import it? <b>Import</b> leaves the incidents deleted here deleted and those "
            "edited here since the export as they are; <b>Import all</b> replaces them too."
        )
        buttons.append(Button("Import all", "m:importall"))
    buttons.append(Button("Cancel", "m:noimport"))
    await say(
        update,
        f"✅ {HTML.text(report.describe())}.\n{HTML.text(plan.describe())}\n\n{question}",
        [buttons],
    )


def _report_messages(report: str) -> list[str]:
    return split_message([f"⚠️ {HTML.text(line)}" for line in report.splitlines()])


@staff_only()
async def upload_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    assert query is not None
    pending = await svc.database.uploads.take(*_where(update), max_age=FORM_TIMEOUT)
    await query.answer()
    if pending is None:
        await say(update, "Nothing is waiting to be imported; send the file again.")
        return
    if query.data not in ("m:import", "m:importall"):
        await say(update, "Not imported.")
        return
    file_id, name = pending
    # Fetched again by its id, so the button works in any process, even after a restart.
    data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    try:
        leave: list[str] = []
        if query.data == "m:import":
            # What is stored may have changed since the question: the plan is made again.
            with contextlib.suppress(DatasetInvalid, KeyError, TypeError, ValueError):
                leave = (
                    await plan_import(svc.database.repository, lambda: io.BytesIO(data))
                ).held_back
        result = await import_dataset(
            svc.database.repository,
            lambda: io.BytesIO(data),
            actor_of(update),
            label=name,
            leave=leave,
        )
    except DatasetInvalid as invalid:
        for text in _report_messages(invalid.report.describe()):
            await say(update, text)
        return
    await _saved(svc, result.changed_incidents)
    kept = f"; left as they were: {', '.join(leave[:10])}" if leave else ""
    await say(update, f"Imported {HTML.text(name)}: {HTML.text(result.describe() + kept)}")


# --- admins --------------------------------------------------------------------------------


@staff_only(admin=True)
async def mod(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mod add ID, /mod remove ID, /mod list; add/remove also work as a reply to a
    message forwarded from that person."""
    svc = services(context)
    args = context.args or []
    text = (
        "Usage: /mod add USER-ID, /mod remove USER-ID, /mod list\n"
        "(or reply /mod add to a message forwarded from the person)"
    )
    action = args[0].lower() if args else ""
    if action == "list" and len(args) == 1:
        staff = await svc.database.staff.moderators()
        admins = ", ".join(str(i) for i in sorted(svc.settings.admin_ids)) or "none"
        lines = [f"Admins (ADMIN_IDS): {admins}", "Moderators:"]
        lines += [f"<code>{m.telegram_user_id}</code> {HTML.text(m.display_name)}" for m in staff]
        await say(update, "\n".join(lines) if staff else "\n".join(lines) + " none yet")
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
            f"{user_id} is now a moderator." if done else f"{user_id} already is a moderator.",
        )
    else:
        done = await svc.database.staff.dismiss(user_id, actor)
        await say(
            update,
            f"{user_id} is no longer a moderator." if done else f"{user_id} was not a moderator.",
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


async def refuse_forged(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A moderator button pressed outside its form (an old message, or forged data)."""
    svc = services(context)
    query = update.callback_query
    if query is None or query.from_user is None:
        return
    if await role_of(svc, query.from_user.id) is None:
        await svc.database.staff.record_refusal(
            query.from_user.id, f"button {shorten(query.data or '', 50)}"
        )
        await query.answer("This is for moderators only.", show_alert=True)
    else:
        await query.answer("This form is closed; start it again.", show_alert=True)
