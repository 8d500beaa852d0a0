"""The dataset file: its validation, its reading into domain types, and its writing back.

A dataset is one JSON document (see `data/dataset.schema.json` and docs/dataset.md) with
`sources` and `incidents`; incidents carry their points, accounts, figures and stances.

Files can be large (100k incidents), so reading streams item by item with ijson and the
caller re-opens the file for each pass: one pass validates everything, a second imports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any

import fastjsonschema
import ijson
import jsonschema

from domain.model import (
    AccountView,
    DatePrecision,
    FigureView,
    IncidentStatus,
    IncidentView,
    KnownPost,
    NameGroup,
    PointView,
    SourceKind,
    SourceView,
    Stance,
    StanceView,
    Translation,
)

FORMAT = "factcheck-dataset"
VERSION = 1
DATA_DIR = Path(__file__).parent / "data"
SCHEMA_PATH = DATA_DIR / "dataset.schema.json"
SAMPLE_PATH = DATA_DIR / "idlib-reference.json"
MAX_LISTED_ERRORS = 100
MAX_COUNTED_ERRORS = 1000
_MAX_MESSAGE = 200

Opener = Callable[[], IO[bytes]]
"""Opens the dataset afresh; called once per pass over it."""


@dataclass(frozen=True)
class DatasetError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class ValidationReport:
    errors: list[DatasetError] = field(default_factory=list)
    error_count: int = 0
    source_count: int = 0
    incident_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, path: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(DatasetError(path, message))

    @property
    def given_up(self) -> bool:
        """Enough problems to refuse the file and show what to fix first; reading further
        would only cost time (a file of millions of broken records cost minutes)."""
        return self.error_count >= MAX_COUNTED_ERRORS

    def describe(self) -> str:
        if self.ok:
            return f"valid: {self.source_count} sources, {self.incident_count} incidents"
        lines = [f"{self.error_count} problem(s) found; nothing was imported."]
        lines.extend(str(error) for error in self.errors)
        if self.given_up:
            lines.append(f"… and more: reading stopped after {MAX_COUNTED_ERRORS} problems")
        elif self.error_count > len(self.errors):
            lines.append(f"… and {self.error_count - len(self.errors)} more")
        return "\n".join(lines)


class DatasetInvalid(Exception):
    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.describe())
        self.report = report


# --- streaming scan ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    section: str  # "top", "sources" or "incidents"
    key: str | int  # top-level key, or index within the section
    value: Any


# Deeper than this, a value is refused: a real incident nests five levels (incident ->
# accounts -> account -> figures -> figure), and every level kept costs memory per event.
MAX_DEPTH = 16
# Telegram hands a bot files of at most 20 MB; a dataset a moderator uploads is no bigger.
MAX_BYTES = 20 * 1024 * 1024


class DatasetTooLarge(ValueError):
    """The file is bigger, or nests deeper, than a dataset can."""


class _Bounded:
    """A byte stream that refuses to be read past `limit` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._left -= len(chunk)
        if self._left < 0:
            raise DatasetTooLarge(f"the file is larger than {self._limit // (1024 * 1024)} MB")
        return chunk


def _value(
    events: Iterator[tuple[str, Any]], event: str, value: Any, depth: int, *, build: bool = True
) -> Any:
    """One JSON value from ijson's basic events, starting at (`event`, `value`), which sits
    `depth` levels into the document; built, or only read past (`build=False`); refused
    once it nests past `MAX_DEPTH`."""
    builder = ijson.ObjectBuilder() if build else None
    level = 0
    while True:
        if builder is not None:
            builder.event(event, value)
        if event in ("start_map", "start_array"):
            level += 1
            if depth + level > MAX_DEPTH:
                raise DatasetTooLarge(f"values nest deeper than {MAX_DEPTH} levels")
        elif event in ("end_map", "end_array"):
            level -= 1
        if level == 0:
            return builder.value if builder is not None else None
        event, value = next(events)


def _scan(
    stream: IO[bytes], max_bytes: int | None = None, skip: frozenset[str] = frozenset()
) -> Iterator[_Item]:
    """Yield top-level values, and each source and incident as a separate item.

    Reads ijson's basic events, which carry no path: a path per event grows with the
    nesting, and a file of nothing but brackets made it cost memory in the square of its
    size. Depth is bounded instead (`MAX_DEPTH`), and where asked, size (`max_bytes`).
    """
    bounded = _Bounded(stream, max_bytes) if max_bytes is not None else stream
    events = ijson.basic_parse(bounded, use_float=True)
    event, value = next(events)
    if event != "start_map":
        if event == "start_array":
            _value(events, event, value, 0, build=False)  # to its end: it must be JSON
            yield _Item("top", "", [])
        else:
            yield _Item("top", "", value)
        return
    key = ""
    for event, value in events:
        if event == "end_map":
            return
        if event == "map_key":
            key = value
            continue
        if key in ("sources", "incidents") and event == "start_array":
            index = -1
            for inner, inner_value in events:
                if inner == "end_array":
                    break
                index += 1
                if key in skip:
                    _value(events, inner, inner_value, 2, build=False)
                else:
                    yield _Item(key, index, _value(events, inner, inner_value, 2))
            yield _Item("top", key, [])  # marks that the section was present
            continue
        yield _Item("top", key, _value(events, event, value, 1))


def _items(
    opener: Opener,
    report: ValidationReport,
    max_bytes: int | None = None,
    skip: frozenset[str] = frozenset(),
) -> Iterator[_Item]:
    """The file's items; those of the sections in `skip` are read past, not built."""
    with opener() as stream:
        try:
            yield from _scan(stream, max_bytes, skip)
        except DatasetTooLarge as refused:
            report.add("$", f"not a dataset: {refused}")
        except (ijson.JSONError, ijson.IncompleteJSONError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            report.add("$", f"not valid JSON ({_short(first_line)})")
        except StopIteration:
            report.add("$", "the file is empty")


# --- validation --------------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@cache
def _validator(definition: str) -> jsonschema.protocols.Validator:
    schema = _schema()
    target = {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(
        target, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _fast_check(definition: str) -> Callable[[Any], Any]:
    """A compiled validator, ~15x faster than jsonschema, for the common case of valid data.

    Only when it refuses an item does jsonschema run, to list every problem precisely.
    """
    schema = _schema()
    target = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$ref": f"#/$defs/{definition}",
        "$defs": schema["$defs"],
    }
    check: Callable[[Any], Any] = fastjsonschema.compile(target)
    return check


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _join(base: str, parts: Iterable[str | int]) -> str:
    path = base
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _explain(error: jsonschema.ValidationError) -> tuple[list[str | int], str]:
    """Turn a schema error into (path, message) a person can act on."""
    where: list[str | int] = list(error.absolute_path)
    match error.validator:
        case "required":
            missing = str(error.message).split("'")[1] if "'" in error.message else "?"
            return [*where, missing], "missing required field"
        case "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            return where, "unknown field(s): " + ", ".join(repr(k) for k in extra)
        case "type":
            wanted = error.validator_value
            wanted_text = " or ".join(wanted) if isinstance(wanted, list) else str(wanted)
            got = type(error.instance).__name__
            return where, f"must be {wanted_text}, not {got}"
        case "enum":
            allowed = ", ".join(str(v) for v in error.validator_value)
            return where, f"{_short(repr(error.instance))} is not one of: {allowed}"
        case "pattern" if error.validator_value.startswith("^[a-z0-9]"):
            return where, (
                f"{_short(repr(error.instance))} is not a valid id "
                "(lower-case letters, digits, '.', '_' or '-'; at most 80 characters)"
            )
        case "minLength" | "pattern" if error.validator_value in (1, "\\S"):
            return where, "must not be empty"
        case "maxLength":
            return where, f"longer than {error.validator_value} characters"
        case "const":
            return where, f"must be {error.validator_value!r}"
        case "format":
            return where, f"{_short(repr(error.instance))} is not a valid {error.validator_value}"
    return where, _short(error.message)


def _schema_errors(definition: str, value: Any, base: str, report: ValidationReport) -> bool:
    try:
        _fast_check(definition)(value)
        return True
    except fastjsonschema.JsonSchemaException:
        pass
    # Several schema rules can reject the same value for the same reason ("must not be empty").
    reported: set[tuple[str, str]] = set()
    for error in sorted(
        _validator(definition).iter_errors(value), key=lambda e: list(map(str, e.path))
    ):
        where, message = _explain(error)
        entry = (_join(base, where), message)
        if entry not in reported:
            reported.add(entry)
            report.add(*entry)
    return not reported


def _check_incident(
    incident: dict[str, Any],
    base: str,
    known_sources: set[str],
    report: ValidationReport,
    posts: dict[tuple[str, int], str] | None = None,
) -> None:
    """Cross-references inside an incident that a schema cannot express.

    `posts` maps each channel post already claimed (stored, or earlier in the file) to
    its incident: a post belongs to one incident, and the import would fail on a second.
    """
    key = incident["id"]
    phrases: set[str] = set()
    for i, phrase in enumerate(incident.get("phrases", [])):
        text = phrase.strip()
        if text in phrases:
            report.add(f"{base}.phrases[{i}]", f"duplicate phrase {_short(repr(text))}")
        phrases.add(text)
    if posts is not None:
        for i, post in enumerate(incident.get("posts", [])):
            where = (post["channel"], post["message_id"])
            owner = posts.setdefault(where, key)
            if owner != key:
                report.add(
                    f"{base}.posts[{i}]",
                    f"post {post['channel']}/{post['message_id']} is already recorded for "
                    f"incident {owner!r}",
                )
    point_keys: set[str] = set()
    for i, point in enumerate(incident.get("points", [])):
        if point["id"] in point_keys:
            report.add(f"{base}.points[{i}].id", f"duplicate point id {point['id']!r}")
        point_keys.add(point["id"])
    date = incident.get("date") or {}
    if date.get("start") and date.get("end") and date["start"] > date["end"]:
        report.add(f"{base}.date.end", "ends before it starts")
    account_keys: set[str] = set()
    for a, account in enumerate(incident.get("accounts", [])):
        here = f"{base}.accounts[{a}]"
        if account["id"] in account_keys:
            report.add(f"{here}.id", f"duplicate account id {account['id']!r}")
        account_keys.add(account["id"])
        if account["source"] not in known_sources:
            report.add(f"{here}.source", f"unknown source {account['source']!r}")
        for f, figure in enumerate(account.get("figures", [])):
            low, high = figure.get("min"), figure.get("max")
            if low is not None and high is not None and low > high:
                report.add(f"{here}.figures[{f}].max", f"smaller than min ({high} < {low})")
            if figure.get("point") is not None and figure["point"] not in point_keys:
                report.add(
                    f"{here}.figures[{f}].point",
                    f"{figure['point']!r} is not a point of incident {key!r}",
                )
        seen: set[str] = set()
        for s, stance in enumerate(account.get("stances", [])):
            if stance["point"] not in point_keys:
                report.add(
                    f"{here}.stances[{s}].point",
                    f"{stance['point']!r} is not a point of incident {key!r}",
                )
            elif stance["point"] in seen:
                report.add(
                    f"{here}.stances[{s}].point", f"second stance on point {stance['point']!r}"
                )
            seen.add(stance["point"])


def validate(
    opener: Opener,
    existing_sources: Iterable[str] = (),
    *,
    max_bytes: int | None = None,
    existing_posts: Mapping[tuple[str, int], str] | None = None,
) -> ValidationReport:
    """Check a whole dataset without keeping it in memory.

    `existing_sources` are source ids already stored, which accounts may refer to;
    `existing_posts` the channel posts already recorded, by the incident they belong to;
    a file longer than `max_bytes` (an upload: `MAX_BYTES`) is refused with one message.
    """
    posts = dict(existing_posts or {})
    report = ValidationReport()
    top_keys: set[str] = set()
    sources: set[str] = set(existing_sources)
    file_sources: set[str] = set()
    # Sources may follow incidents in the file, so they are collected in a first pass.
    for item in _items(opener, report, max_bytes, skip=frozenset({"incidents"})):
        if report.given_up:
            return report
        if item.section == "sources":
            report.source_count += 1
            base = f"sources[{item.key}]"
            if _schema_errors("source", item.value, base, report):
                if item.value["id"] in file_sources:
                    report.add(f"{base}.id", f"duplicate source id {item.value['id']!r}")
                file_sources.add(item.value["id"])
            elif isinstance(item.value, dict) and isinstance(item.value.get("id"), str):
                # Already reported; counting it as known avoids a cascade of "unknown source".
                file_sources.add(item.value["id"])
        elif item.section == "top":
            _check_top(item, top_keys, report)
    if any(error.path == "$" for error in report.errors):
        return report  # not a JSON object at all: field-by-field complaints would be noise
    for required in ("format", "version", "sources", "incidents"):
        if required not in top_keys:
            report.add(required, "missing required field")
    sources |= file_sources
    incident_keys: set[str] = set()
    for item in _items(opener, ValidationReport()):
        if report.given_up:
            return report
        if item.section != "incidents":
            continue
        report.incident_count += 1
        base = f"incidents[{item.key}]"
        if _schema_errors("incident", item.value, base, report):
            if item.value["id"] in incident_keys:
                report.add(f"{base}.id", f"duplicate incident id {item.value['id']!r}")
            incident_keys.add(item.value["id"])
            _check_incident(item.value, base, sources, report, posts)
        else:
            # Cross-references are still worth reporting where the shape allows checking
            # them, so one upload shows every problem at once.
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                _check_incident(item.value, base, sources, report)
    return report


def check_incident(incident: IncidentView, known_sources: Iterable[str]) -> list[DatasetError]:
    """Every problem with one incident, by the same rules an imported file must meet."""
    report = ValidationReport()
    data = incident_to_json(incident)
    if _schema_errors("incident", data, "", report):
        _check_incident(data, "", set(known_sources), report)
    return report.errors


def check_source(source: SourceView) -> list[DatasetError]:
    report = ValidationReport()
    _schema_errors("source", source_to_json(source), "", report)
    return report.errors


_TOP_LEVEL = {
    "format",
    "version",
    "exported_at",
    "description",
    "sources",
    "incidents",
    "moderators",
    "queue",
}


def read_exported_at(opener: Opener) -> dt.datetime | None:
    """When a validated dataset was exported, if it says so."""
    for item in _items(opener, ValidationReport(), skip=frozenset({"sources", "incidents"})):
        if item.section == "top" and item.key == "exported_at" and isinstance(item.value, str):
            with contextlib.suppress(ValueError):
                moment = dt.datetime.fromisoformat(item.value.replace("Z", "+00:00"))
                return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return None


def read_extras(opener: Opener) -> dict[str, list[Any]]:
    """The backup-only sections (moderators, queue) of a validated dataset."""
    extras: dict[str, list[Any]] = {"moderators": [], "queue": []}
    for item in _items(opener, ValidationReport()):
        if item.section == "top" and item.key in extras and isinstance(item.value, list):
            extras[str(item.key)] = item.value
    return extras


def _check_top(item: _Item, seen: set[str], report: ValidationReport) -> None:
    key = str(item.key)
    if key == "":
        report.add("$", "a dataset must be a JSON object with 'sources' and 'incidents'")
        return
    seen.add(key)
    if key not in _TOP_LEVEL:
        report.add(key, "unknown field")
    elif key == "format" and item.value != FORMAT:
        report.add(key, f"must be {FORMAT!r}")
    elif key == "version" and item.value != VERSION:
        report.add(key, f"unsupported version {_short(repr(item.value))}; this bot reads {VERSION}")
    elif key in ("sources", "incidents") and not isinstance(item.value, list):
        report.add(key, "must be an array")
    elif key in ("moderators", "queue"):
        definition = jsonschema.Draft202012Validator(_schema()["properties"][key])
        for error in definition.iter_errors(item.value):
            where, message = _explain(error)
            report.add(_join(key, where), message)


# --- reading into domain types -----------------------------------------------------------


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def parse_source(data: Mapping[str, Any]) -> SourceView:
    return SourceView(
        key=data["id"],
        name=data["name"].strip(),
        kind=SourceKind(data["kind"]),
        affiliation=data.get("affiliation", "").strip(),
        aliases=tuple(a.strip() for a in data.get("aliases", [])),
        homepage=data.get("homepage"),
    )


def parse_incident(data: Mapping[str, Any], sources: Mapping[str, SourceView]) -> IncidentView:
    place = data["place"]
    date = data.get("date") or {}
    accounts = tuple(
        AccountView(
            key=a["id"],
            source=sources[a["source"]],
            summary=a["summary"].strip(),
            published_on=_date(a.get("published")),
            url=a.get("url"),
            language=a.get("language"),
            figures=tuple(
                FigureView(
                    label=f["label"].strip(),
                    raw=f["raw"].strip(),
                    min=f.get("min"),
                    max=f.get("max"),
                    point_key=f.get("point"),
                )
                for f in a.get("figures", [])
            ),
            stances=tuple(
                StanceView(s["point"], Stance(s["stance"]), s.get("note", "").strip())
                for s in a.get("stances", [])
            ),
        )
        for a in data.get("accounts", [])
    )
    return IncidentView(
        key=data["id"],
        title=data["title"].strip(),
        summary=data["summary"].strip(),
        place=place["name"].strip(),
        place_aliases=tuple(a.strip() for a in place.get("aliases", [])),
        country=place.get("country", "").strip(),
        region=place.get("region", "").strip(),
        date_start=_date(date.get("start")),
        date_end=_date(date.get("end")),
        date_precision=DatePrecision(date.get("precision", "unknown")),
        date_note=date.get("note", "").strip(),
        status=IncidentStatus(data.get("status", "single_source")),
        keywords=tuple(k.strip() for k in data.get("keywords", [])),
        names=tuple(
            NameGroup(g["name"].strip(), tuple(a.strip() for a in g.get("aliases", [])))
            for g in data.get("names", [])
        ),
        translations={
            lang: Translation(t["title"].strip(), t.get("summary", "").strip())
            for lang, t in data.get("translations", {}).items()
        },
        points=tuple(
            PointView(p["id"], p["text"].strip(), dict(p.get("translations", {})))
            for p in data.get("points", [])
        ),
        accounts=accounts,
        phrases=tuple(p.strip() for p in data.get("phrases", [])),
        posts=tuple(KnownPost(p["channel"], p["message_id"]) for p in data.get("posts", [])),
    )


def read_sources(opener: Opener) -> Iterator[SourceView]:
    """Sources of a dataset that `validate` accepted."""
    report = ValidationReport()
    for item in _items(opener, report):
        if item.section == "sources":
            yield parse_source(item.value)


def read_incidents(opener: Opener, sources: Mapping[str, SourceView]) -> Iterator[IncidentView]:
    """Incidents of a dataset that `validate` accepted, one at a time."""
    report = ValidationReport()
    for item in _items(opener, report):
        if item.section == "incidents":
            yield parse_incident(item.value, sources)


def load_document(data: Mapping[str, Any]) -> tuple[list[SourceView], list[IncidentView]]:
    """Parse an in-memory dataset that has already been validated."""
    sources = [parse_source(s) for s in data["sources"]]
    by_key = {s.key: s for s in sources}
    return sources, [parse_incident(i, by_key) for i in data["incidents"]]


# --- writing -----------------------------------------------------------------------------


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def source_to_json(source: SourceView) -> dict[str, Any]:
    return {
        "id": source.key,
        "name": source.name,
        "kind": source.kind.value,
        "affiliation": source.affiliation,
        "aliases": list(source.aliases),
        "homepage": source.homepage,
    }


def incident_to_json(incident: IncidentView) -> dict[str, Any]:
    return {
        "id": incident.key,
        "title": incident.title,
        "summary": incident.summary,
        "place": {
            "name": incident.place,
            "aliases": list(incident.place_aliases),
            "country": incident.country,
            "region": incident.region,
        },
        "date": {
            "start": _iso(incident.date_start),
            "end": _iso(incident.date_end),
            "precision": incident.date_precision.value,
            "note": incident.date_note,
        },
        "status": incident.status.value,
        "keywords": list(incident.keywords),
        "names": [{"name": g.name, "aliases": list(g.aliases)} for g in incident.names],
        "translations": {
            lang: {"title": t.title, "summary": t.summary}
            for lang, t in sorted(incident.translations.items())
        },
        "points": [
            {"id": p.key, "text": p.text, "translations": dict(sorted(p.translations.items()))}
            for p in incident.points
        ],
        "accounts": [
            {
                "id": a.key,
                "source": a.source.key,
                "summary": a.summary,
                "published": _iso(a.published_on),
                "url": a.url,
                "language": a.language,
                "figures": [
                    {
                        "label": f.label,
                        "raw": f.raw,
                        "min": f.min,
                        "max": f.max,
                        "point": f.point_key,
                    }
                    for f in a.figures
                ],
                "stances": [
                    {"point": s.point_key, "stance": s.stance.value, "note": s.note}
                    for s in a.stances
                ],
            }
            for a in incident.accounts
        ],
        "phrases": list(incident.phrases),
        "posts": [{"channel": p.channel, "message_id": p.message_id} for p in incident.posts],
    }


class DatasetWriter:
    """Writes a dataset incrementally, so exporting 100k incidents needs little memory.

    Sources come first, then incidents one at a time, then `close()`.
    """

    def __init__(self, out: IO[str], *, exported_at: dt.datetime | None = None) -> None:
        self._out = out
        self._incidents = 0
        out.write(f'{{\n  "format": "{FORMAT}",\n  "version": {VERSION},\n')
        if exported_at is not None:
            out.write(f'  "exported_at": "{exported_at.isoformat(timespec="seconds")}",\n')

    def write_extra(self, key: str, items: list[dict[str, Any]]) -> None:
        """A backup-only section; must come before the sources."""
        self._out.write(f'  "{key}": {json.dumps(items, ensure_ascii=False)},\n')

    def write_sources(self, sources: Iterable[SourceView]) -> None:
        self._out.write('  "sources": [')
        count = 0
        for source in sources:
            self._item(source_to_json(source), first=count == 0)
            count += 1
        self._out.write("\n  ],\n" if count else "],\n")
        self._out.write('  "incidents": [')

    def write_incident(self, incident: IncidentView) -> None:
        self._item(incident_to_json(incident), first=self._incidents == 0)
        self._incidents += 1

    def close(self) -> int:
        self._out.write("\n  ]\n}\n" if self._incidents else "]\n}\n")
        return self._incidents

    def _item(self, item: dict[str, Any], *, first: bool) -> None:
        self._out.write("\n    " if first else ",\n    ")
        self._out.write(json.dumps(item, ensure_ascii=False))


def write_dataset(
    out: IO[str],
    sources: Iterable[SourceView],
    incidents: Iterable[IncidentView],
    *,
    exported_at: dt.datetime | None = None,
) -> int:
    """Write a whole dataset; returns the number of incidents written."""
    writer = DatasetWriter(out, exported_at=exported_at)
    writer.write_sources(sources)
    for incident in incidents:
        writer.write_incident(incident)
    return writer.close()


def sample_dataset() -> tuple[list[SourceView], list[IncidentView]]:
    """The bundled reference case (see docs/reference-case.md)."""
    return load_document(json.loads(SAMPLE_PATH.read_text(encoding="utf-8")))
