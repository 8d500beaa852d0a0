"""The four guided forms: a new incident, a new source, a new account, a new point.

Each builder returns the form (its steps, summary and save), or a sentence saying why it
cannot be opened any more. A form opened on an incident is saved only if nobody saved
that incident since: its questions were asked about that version.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot import messages as msg
from bot.forms import Form, Step
from bot.i18n import NP_, speaking, tn, tp, tr
from bot.markup import HTML, shorten
from bot.services import Services
from db.repository import Actor
from domain import moderation
from domain.model import IncidentView, SourceKind, SourceView, Stance
from domain.moderation import InputError

# The stance buttons of the account form: the mark and the word in the moderator's
# language; what they answer is the stance's own name.
STANCE_CHOICES = [
    ("✅", msg.STANCE_ASSERTS),
    ("❌", msg.STANCE_DISPUTES),
    ("◐", msg.STANCE_PARTLY),
    ("…", msg.STANCE_SILENT),
]


def stance_choices() -> list[tuple[str, str]]:
    return [(f"{mark} {tp(speaking.get(), word)}", word[1]) for mark, word in STANCE_CHOICES]


STANCE_LETTERS = {"a": "asserts", "d": "disputes", "p": "partly", "s": "silent"}


async def save_form_change(
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
        raise InputError(tr("the incident was deleted meanwhile"))
    saved = await svc.database.repository.save_incident(
        change(current), actor, expected_version=version
    )
    await svc.sync_index()
    return saved


def labelled(label: str, value: str) -> str:
    """One line of a form's summary: the label in bold, then the value (already markup)."""
    return f"<b>{HTML.text(label)}</b> {value}"


def opt(value: Any, empty: str = "—") -> str:
    if value is None or value == () or value == "":
        return empty
    if isinstance(value, tuple):
        return HTML.text(", ".join(map(str, value)))
    return HTML.text(str(value))


def date_text(date: Any) -> str | None:
    if not date or date[0] is None:
        return "unknown"
    start, end, _ = date
    return f"{start.isoformat()}" + (f"..{end.isoformat()}" if end and end != start else "")


async def _incident_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    def parse_place(text: str, values: dict[str, Any]) -> tuple[str, ...]:
        names = moderation.parse_list(text, field="place")
        if not names:
            raise InputError(tr("place: give at least the name"))
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
        also = tr("also:")
        lines = [
            labelled(tr("Title:"), HTML.text(values["title"])),
            labelled(tr("Summary:"), HTML.text(values["summary"])),
            labelled(tr("Place:"), f"{HTML.text(place[0])} ({also} {opt(place[1:])})"),
            labelled(tr("Country:"), opt(values.get("country"))),
            labelled(tr("Date:"), opt(date_text(values.get("date")))),
            labelled(tr("Points:"), str(len(points))),
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
        await svc.sync_index()
        return tr(
            "Saved incident {key}. Add what each source said with /addaccount {id}",
            key=f"<code>{HTML.text(saved.key)}</code>",
            id=HTML.text(saved.key),
        )

    return Form(
        "incident",
        tr("New incident"),
        [
            Step(
                "title",
                tr("Title? A neutral one-line description of what is reported."),
                lambda t, v: moderation.clean_text(t, field="title", limit=300),
            ),
            Step(
                "summary",
                tr("Neutral summary: who reports what, in two or three sentences."),
                lambda t, v: moderation.clean_text(t, field="summary", limit=2000),
            ),
            Step(
                "place",
                tr(
                    "Place, then other spellings, comma-separated: <i>Idlib, Idleb, Идлиб, إدلب</i>"
                ),
                parse_place,
            ),
            Step(
                "country",
                tr("Country?"),
                lambda t, v: moderation.clean_text(t, field="country", limit=100),
                optional=True,
            ),
            Step(
                "date",
                tr("Date: YYYY-MM-DD, YYYY-MM, YYYY, a range A..B, or <i>unknown</i>."),
                lambda t, v: moderation.parse_date(t),
            ),
            Step(
                "points",
                tr(
                    "The specific claims (points) sources agree or disagree on, one "
                    "per line: <i>Up to 40 Syrian soldiers were killed</i>"
                ),
                parse_points,
                optional=True,
            ),
        ],
        summary,
        save,
        opened,
    )


async def save_new_source(svc: Services, actor: Actor, values: dict[str, Any]) -> str:
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
    return tr(
        "Saved source {key}: {name}",
        key=f"<code>{HTML.text(saved.key)}</code>",
        name=HTML.text(saved.name),
    )


async def _source_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    async def save(values: dict[str, Any]) -> str:
        return await save_new_source(svc, actor, values)

    def summary(values: dict[str, Any]) -> str:
        return "\n".join(
            [
                labelled(tr("Name:"), HTML.text(values["name"])),
                labelled(tr("Kind:"), HTML.text(values["kind"])),
                labelled(tr("Other names:"), opt(values.get("aliases"))),
                labelled(tr("Affiliation:"), opt(values.get("affiliation"))),
                labelled(tr("Homepage:"), opt(values.get("homepage"))),
            ]
        )

    def parse_kind(text: str, values: dict[str, Any]) -> str:
        kind = text.strip().lower().replace(" ", "_")
        if kind not in {k.value for k in SourceKind}:
            raise InputError(tr("kind: press one of the buttons"))
        return kind

    return Form(
        "source",
        tr("New source"),
        [
            Step(
                "name",
                tr("Name of the source, as readers know it?"),
                lambda t, v: moderation.clean_text(t, field="name", limit=200),
            ),
            Step(
                "kind",
                tr("What kind of source is it?"),
                parse_kind,
                choices=lambda v: [(k.value.replace("_", " "), k.value) for k in SourceKind],
            ),
            Step(
                "aliases",
                tr(
                    "Other names and spellings, comma-separated: "
                    "<i>SANA, Syrian Arab News Agency</i>"
                ),
                lambda t, v: moderation.parse_list(t, field="aliases"),
                optional=True,
            ),
            Step(
                "affiliation",
                tr("Side or affiliation, in a few words?"),
                lambda t, v: moderation.clean_text(t, field="affiliation", limit=300),
                optional=True,
            ),
            Step(
                "homepage",
                tr("Homepage link?"),
                lambda t, v: moderation.parse_url(t, field="homepage"),
                optional=True,
            ),
        ],
        summary,
        save,
        opened,
    )


async def _account_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    found = await _opened_incident(svc, opened, "addaccount")
    if isinstance(found, str):
        return found
    incident, version = found
    sources = await svc.database.repository.list_sources()
    if not sources:
        return tr("There are no sources yet: add one with /newsource first.")
    by_key = {s.key: s for s in sources}

    def parse_source(text: str, values: dict[str, Any]) -> SourceView:
        wanted = text.strip()
        for source in sources:
            if wanted in (source.key, source.name) or wanted in source.aliases:
                return source
        raise InputError(tr("source: press one of the buttons, or send its id"))

    def parse_stance(text: str, values: dict[str, Any]) -> Stance:
        word = STANCE_LETTERS.get(text.strip().lower()[:1], text.strip().lower())
        try:
            return Stance(word)
        except ValueError:
            raise InputError(tr("stance: asserts, disputes, partly or silent")) from None

    point_steps = [
        Step(
            f"stance:{point.key}",
            tr(
                "Point {number} of {count}: {point}\nWhat does this source say about it?",
                number=n,
                count=len(incident.points),
                point=f"<i>{HTML.text(point.text)}</i>",
            ),
            parse_stance,
            choices=lambda v: stance_choices(),
        )
        for n, point in enumerate(incident.points, 1)
    ]
    points_help = "\n".join(f"#{n} {HTML.text(p.text)}" for n, p in enumerate(incident.points, 1))

    def summary(values: dict[str, Any]) -> str:
        source: SourceView = values["source"]
        lines = [
            labelled(tr("Incident:"), HTML.text(incident.title)),
            labelled(tr("Source:"), HTML.text(source.name)),
            labelled(tr("Said:"), HTML.text(values["summary"])),
        ]
        for figure in values.get("figures") or ():
            label = HTML.bold(tr("Figure:"))
            lines.append(f"{label} {HTML.text(figure.label)}: {HTML.text(figure.raw)}")
        for point in incident.points:
            stance = values.get(f"stance:{point.key}")
            if stance is not None:
                lines.append(f"{HTML.text(stance.value)}: {HTML.text(shorten(point.text, 80))}")
        lines.append(labelled(tr("Link:"), opt(values.get("url"))))
        lines.append(labelled(tr("Published:"), opt(date_text(values.get("published")))))
        return "\n".join(lines)

    async def save(values: dict[str, Any]) -> str:
        published = values.get("published")
        saved = await save_form_change(
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
        said = tn(
            speaking.get(),
            NP_(
                "Saved. {title} now has {count} account.",
                "Saved. {title} now has {count} accounts.",
            ),
            len(saved.accounts),
            title=HTML.text(saved.title),
        )
        return f"{said} /show {HTML.text(saved.key)}"

    return Form(
        "account",
        tr("New account"),
        [
            Step(
                "source",
                tr("Which source gave this account?"),
                parse_source,
                choices=lambda v: [(shorten(s.name, 40), s.key) for s in sources],
            ),
            Step(
                "summary",
                tr("What did it say? Our own short summary."),
                lambda t, v: moderation.clean_text(t, field="summary", limit=1500),
            ),
            Step(
                "figures",
                tr(
                    "Figures exactly as the source gave them, one per line as "
                    "<i>what is counted: its words #point</i>, e.g. "
                    "<i>Syrian soldiers killed: up to 40 #2</i>"
                )
                + "\n"
                + points_help,
                lambda t, v: moderation.parse_figures(t, incident.points),
                optional=True,
            ),
            *point_steps,
            Step(
                "url",
                tr("Link to the source's publication?"),
                lambda t, v: moderation.parse_url(t),
                optional=True,
            ),
            Step(
                "published",
                tr("When was it published? YYYY-MM-DD"),
                lambda t, v: moderation.parse_date(t),
                optional=True,
            ),
        ],
        summary,
        save,
        opened,
    )


async def _point_form(svc: Services, actor: Actor, opened: dict[str, Any]) -> Form | str:
    found = await _opened_incident(svc, opened, "addpoint")
    if isinstance(found, str):
        return found
    incident, version = found

    async def save(values: dict[str, Any]) -> str:
        saved = await save_form_change(
            svc, incident.key, version, actor, lambda i: moderation.add_point(i, values["text"])
        )
        return tr(
            "Saved point #{number}. Set each source's stance on it with "
            "/stance {key} ACCOUNT-ID {number} asserts|disputes|…",
            number=len(saved.points),
            key=HTML.text(saved.key),
        )

    existing = "\n".join(f"#{n} {HTML.text(p.text)}" for n, p in enumerate(incident.points, 1))
    return Form(
        "point",
        tr("New point"),
        [
            Step(
                "text",
                f"<i>{HTML.text(incident.title)}</i>\n{existing}\n\n"
                + tr("The new point: one specific claim that sources assert or dispute."),
                lambda t, v: moderation.clean_text(t, field="point", limit=500),
            )
        ],
        lambda values: labelled(tr("Point:"), HTML.text(values["text"])),
        save,
        opened,
    )


async def _opened_incident(
    svc: Services, opened: dict[str, Any], command: str
) -> tuple[IncidentView, int] | str:
    """The incident a form was opened on and the version it was opened at, or why the
    form cannot go on (deleted, or changed by someone else since)."""
    incident = await svc.database.repository.get_incident(str(opened.get("incident", "")))
    if incident is None:
        return tr("the incident was deleted meanwhile")
    version = unchanged_since_opened(incident, opened)
    if version is None:
        return changed_meanwhile(incident, command)
    return incident, version


def unchanged_since_opened(incident: IncidentView, opened: dict[str, Any]) -> int | None:
    """The version a form was opened on, if the incident is still at it.

    Its questions were asked about that version (its points, say): answers given to an
    older picture must not be saved over a newer one.
    """
    version = int(opened.get("version", incident.version))
    return version if version == incident.version else None


def changed_meanwhile(incident: IncidentView, command: str) -> str:
    return tr(
        "the incident was changed by someone else meanwhile (now version {version});"
        " nothing was saved. Look with /show {key}, then start again with /{command} {key}",
        version=incident.version,
        key=HTML.text(incident.key),
        command=command,
    )


FormBuilder = Callable[[Services, Actor, dict[str, Any]], Awaitable["Form | str"]]


FORM_BUILDERS: dict[str, FormBuilder] = {
    "incident": _incident_form,
    "source": _source_form,
    "account": _account_form,
    "point": _point_form,
}
