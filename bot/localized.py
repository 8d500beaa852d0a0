"""A stored record's texts in the reader's language: its translation where there is one,
else the text as written, marked with the language it is in (never silently mixed)."""

from __future__ import annotations

from collections.abc import Mapping

from domain.model import (
    RECORD_LANGUAGE,
    IncidentView,
    PointView,
    SourceView,
)


def local(language: str, text: str, translations: Mapping[str, str]) -> str:
    """A stored text in the reader's language: its translation where there is one, else
    the text as written, marked with the language it is in (never silently mixed)."""
    if not text or language == RECORD_LANGUAGE:
        return text
    found = translations.get(language)
    return found if found else f"{text} ({RECORD_LANGUAGE})"


def incident_text(incident: IncidentView, language: str, field: str) -> str:
    translated = {lang: getattr(tr, field) for lang, tr in incident.translations.items()}
    return local(language, getattr(incident, field), translated)


def source_name(source: SourceView, language: str) -> str:
    return local(language, source.name, {k: v.name for k, v in source.translations.items()})


def point_text(point: PointView, language: str) -> str:
    return local(language, point.text, point.translations)
