"""Validation: every problem of a dataset file, by its JSON schema and by the rules a
schema cannot say (ids unique, references resolved, posts not claimed twice)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import fastjsonschema
import jsonschema

from domain.dataset._report import (
    FORMAT,
    SCHEMA_PATH,
    VERSION,
    DatasetError,
    Opener,
    ValidationReport,
    short,
)
from domain.dataset._stream import Item, items
from domain.dataset.convert import incident_to_json, source_to_json
from domain.model import (
    IncidentView,
    SourceView,
)

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
            return where, f"{short(repr(error.instance))} is not one of: {allowed}"
        case "pattern" if error.validator_value.startswith("^[a-z0-9]"):
            return where, (
                f"{short(repr(error.instance))} is not a valid id "
                "(lower-case letters, digits, '.', '_' or '-'; at most 80 characters)"
            )
        case "minLength" | "pattern" if error.validator_value in (1, "\\S"):
            return where, "must not be empty"
        case "maxLength":
            return where, f"longer than {error.validator_value} characters"
        case "const":
            return where, f"must be {error.validator_value!r}"
        case "format":
            return where, f"{short(repr(error.instance))} is not a valid {error.validator_value}"
    return where, short(error.message)


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
            report.add(f"{base}.phrases[{i}]", f"duplicate phrase {short(repr(text))}")
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
    file_ids: set[str] = set()
    for i, media in enumerate(incident.get("media", [])):
        for j, file_id in enumerate(media.get("file_ids", [])):
            if file_id in file_ids:
                report.add(f"{base}.media[{i}].file_ids[{j}]", f"file {file_id!r} listed twice")
            file_ids.add(file_id)
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
    for item in items(opener, report, max_bytes, skip=frozenset({"incidents"})):
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
    for item in items(opener, ValidationReport()):
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
    return check_incident_json(incident_to_json(incident), known_sources)


def check_incident_json(data: Any, known_sources: Iterable[str]) -> list[DatasetError]:
    """Every problem with one incident in the dataset format (as an editor sends it): the
    schema's and the cross-references', all at once."""
    report = ValidationReport()
    _schema_errors("incident", data, "", report)
    with contextlib.suppress(KeyError, TypeError, AttributeError):
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
    for item in items(opener, ValidationReport(), skip=frozenset({"sources", "incidents"})):
        if item.section == "top" and item.key == "exported_at" and isinstance(item.value, str):
            with contextlib.suppress(ValueError):
                moment = dt.datetime.fromisoformat(item.value.replace("Z", "+00:00"))
                return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return None


def read_extras(opener: Opener) -> dict[str, list[Any]]:
    """The backup-only sections (moderators, queue) of a validated dataset."""
    extras: dict[str, list[Any]] = {"moderators": [], "queue": []}
    for item in items(opener, ValidationReport()):
        if item.section == "top" and item.key in extras and isinstance(item.value, list):
            extras[str(item.key)] = item.value
    return extras


def _check_top(item: Item, seen: set[str], report: ValidationReport) -> None:
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
        report.add(key, f"unsupported version {short(repr(item.value))}; this bot reads {VERSION}")
    elif key in ("sources", "incidents") and not isinstance(item.value, list):
        report.add(key, "must be an array")
    elif key in ("moderators", "queue"):
        definition = jsonschema.Draft202012Validator(_schema()["properties"][key])
        for error in definition.iter_errors(item.value):
            where, message = _explain(error)
            report.add(_join(key, where), message)
