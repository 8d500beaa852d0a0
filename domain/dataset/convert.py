"""Dataset JSON <-> domain types, one record at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from domain.dataset._report import Opener, ValidationReport
from domain.dataset._stream import items
from domain.media.pictures import from_hex, to_hex
from domain.model import (
    AccountView,
    DatePrecision,
    FigureView,
    IncidentStatus,
    IncidentView,
    KnownMedia,
    KnownPost,
    MediaKind,
    NameGroup,
    PointView,
    SourceKind,
    SourceTranslation,
    SourceView,
    Stance,
    StanceView,
    Translation,
)

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
        translations={
            lang: SourceTranslation(s["name"].strip(), s.get("affiliation", "").strip())
            for lang, s in data.get("translations", {}).items()
        },
    )


def _texts(data: Mapping[str, Any]) -> dict[str, str]:
    """A `translations` map of one text: language -> text."""
    return {lang: text.strip() for lang, text in data.get("translations", {}).items()}


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
                    translations=_texts(f),
                )
                for f in a.get("figures", [])
            ),
            stances=tuple(
                StanceView(s["point"], Stance(s["stance"]), s.get("note", "").strip(), _texts(s))
                for s in a.get("stances", [])
            ),
            translations=_texts(a),
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
            lang: Translation(
                t["title"].strip(),
                t.get("summary", "").strip(),
                t.get("place", "").strip(),
                t.get("country", "").strip(),
                t.get("date_note", "").strip(),
            )
            for lang, t in data.get("translations", {}).items()
        },
        points=tuple(
            PointView(p["id"], p["text"].strip(), dict(p.get("translations", {})))
            for p in data.get("points", [])
        ),
        accounts=accounts,
        phrases=tuple(p.strip() for p in data.get("phrases", [])),
        posts=tuple(KnownPost(p["channel"], p["message_id"]) for p in data.get("posts", [])),
        media=tuple(media_from_json(m) for m in data.get("media", [])),
    )


def media_from_json(data: dict[str, Any]) -> KnownMedia:
    return KnownMedia(
        MediaKind(data["kind"]),
        tuple(data.get("file_ids", [])),
        tuple(from_hex(text) for text in data.get("fingerprints", [])),
        data.get("size"),
        data.get("width"),
        data.get("height"),
        data.get("note", "").strip(),
    )


def media_to_json(media: KnownMedia) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": media.kind.value}
    if media.file_ids:
        out["file_ids"] = list(media.file_ids)
    if media.fingerprints:
        out["fingerprints"] = [to_hex(value) for value in media.fingerprints]
    for name in ("size", "width", "height"):
        value = getattr(media, name)
        if value is not None:
            out[name] = value
    if media.note:
        out["note"] = media.note
    return out


def read_sources(opener: Opener) -> Iterator[SourceView]:
    """Sources of a dataset that `validate` accepted."""
    report = ValidationReport()
    for item in items(opener, report):
        if item.section == "sources":
            yield parse_source(item.value)


def read_incidents(opener: Opener, sources: Mapping[str, SourceView]) -> Iterator[IncidentView]:
    """Incidents of a dataset that `validate` accepted, one at a time."""
    report = ValidationReport()
    for item in items(opener, report):
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


def _with_translations(record: dict[str, Any], translations: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with its translations, if it has any (records without stay as they were)."""
    if translations:
        record["translations"] = dict(sorted(translations.items()))
    return record


def source_to_json(source: SourceView) -> dict[str, Any]:
    record = {
        "id": source.key,
        "name": source.name,
        "kind": source.kind.value,
        "affiliation": source.affiliation,
        "aliases": list(source.aliases),
        "homepage": source.homepage,
    }
    return _with_translations(
        record,
        {
            lang: {"name": s.name, **({"affiliation": s.affiliation} if s.affiliation else {})}
            for lang, s in source.translations.items()
        },
    )


def _incident_translation(translation: Translation) -> dict[str, str]:
    record = {"title": translation.title, "summary": translation.summary}
    extra = {
        "place": translation.place,
        "country": translation.country,
        "date_note": translation.date_note,
    }
    return record | {name: text for name, text in extra.items() if text}


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
            lang: _incident_translation(t) for lang, t in sorted(incident.translations.items())
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
                    _with_translations(
                        {
                            "label": f.label,
                            "raw": f.raw,
                            "min": f.min,
                            "max": f.max,
                            "point": f.point_key,
                        },
                        f.translations,
                    )
                    for f in a.figures
                ],
                "stances": [
                    _with_translations(
                        {"point": s.point_key, "stance": s.stance.value, "note": s.note},
                        s.translations,
                    )
                    for s in a.stances
                ],
            }
            | ({"translations": dict(sorted(a.translations.items()))} if a.translations else {})
            for a in incident.accounts
        ],
        "phrases": list(incident.phrases),
        "posts": [{"channel": p.channel, "message_id": p.message_id} for p in incident.posts],
        "media": [media_to_json(m) for m in incident.media],
    }
