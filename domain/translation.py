"""Moderators translating a record: one text of an incident or a source into one language.

What can be translated is named the way `/translate` takes it: `title`, `summary`,
`place`, `country`, `date_note`; `point:N` (the Nth point); `account:ID` (its summary);
`figure:ID:N` (the label of the account's Nth figure; the source's own phrase stays as
given); `note:ID:N` (the account's note on point N). "-" as the text takes a translation
away. A translation is checked like any edit (`domain.moderation`), so it is refused where
an imported file would be.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

from domain.model import (
    AccountView,
    IncidentView,
    SourceTranslation,
    SourceView,
    Translation,
)
from domain.moderation import InputError, clean_text, is_skip

LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
INCIDENT_TEXTS = {"title": 300, "summary": 2000, "place": 200, "country": 100, "date_note": 300}
TARGETS = (*INCIDENT_TEXTS, "point:N", "account:ID", "figure:ID:N", "note:ID:N")
SOURCE_TEXTS = {"name": 200, "affiliation": 300}


def language_tag(text: str) -> str:
    tag = text.strip()
    if not LANGUAGE_TAG.match(tag):
        raise InputError(f"language: {tag[:20]!r} is not a language code such as uk or ar")
    return tag


def _text(value: str, field: str, limit: int) -> str | None:
    """The cleaned translation, or None where the moderator takes it away ("-")."""
    return None if is_skip(value) else clean_text(value, field=field, limit=limit)


def _with(translations: dict[str, str], language: str, text: str | None) -> dict[str, str]:
    changed = {k: v for k, v in translations.items() if k != language}
    if text is not None:
        changed[language] = text
    return dict(sorted(changed.items()))


def _index(part: str, count: int, what: str) -> int:
    if not part.isdigit() or not 1 <= int(part) <= count:
        raise InputError(f"{what}: give a number from 1 to {count}")
    return int(part) - 1


def _account_of(incident: IncidentView, key: str) -> tuple[int, AccountView]:
    for n, account in enumerate(incident.accounts):
        if account.key == key:
            return n, account
    keys = ", ".join(a.key for a in incident.accounts) or "none"
    raise InputError(f"no account {key!r} in this incident (accounts: {keys})")


def translate(incident: IncidentView, language: str, target: str, value: str) -> IncidentView:
    """The incident with one of its texts translated into `language` (see the module)."""
    language = language_tag(language)
    kind, *where = target.split(":")
    if kind in INCIDENT_TEXTS and not where:
        return _translate_incident_text(incident, language, kind, value)
    if kind == "point" and len(where) == 1:
        n = _index(where[0], len(incident.points), "point")
        point = incident.points[n]
        text = _text(value, "point", 500)
        changed = dataclasses.replace(point, translations=_with(point.translations, language, text))
        points = (*incident.points[:n], changed, *incident.points[n + 1 :])
        return dataclasses.replace(incident, points=points)
    if kind in ("account", "figure", "note") and where:
        n, account = _account_of(incident, where[0])
        changed_account = _translate_account(incident, account, language, kind, where[1:], value)
        accounts = (*incident.accounts[:n], changed_account, *incident.accounts[n + 1 :])
        return dataclasses.replace(incident, accounts=accounts)
    raise InputError(f"what to translate: one of {', '.join(TARGETS)}")


def _translate_incident_text(
    incident: IncidentView, language: str, field: str, value: str
) -> IncidentView:
    text = _text(value, field, INCIDENT_TEXTS[field]) or ""
    translations = _with_entry(incident.translations, language, field, text, Translation(""))
    return dataclasses.replace(incident, translations=translations)


E = TypeVar("E", Translation, SourceTranslation)


def _with_entry(
    entries: dict[str, E], language: str, field: str, text: str, empty: E
) -> dict[str, E]:
    """`entries` with one field of `language`'s entry set. An entry is keyed on its first
    field (an incident's title, a source's name): the others may only follow it, and
    taking that one away takes the entry away."""
    first = dataclasses.fields(empty)[0].name
    current = entries.get(language)
    if current is None and field != first and text:
        raise InputError(f"translate the {first} into {language} first")
    updated = dataclasses.replace(current or empty, **{field: text})
    kept = {k: v for k, v in entries.items() if k != language}
    if getattr(updated, first):
        kept[language] = updated
    return dict(sorted(kept.items()))


def _translate_account(
    incident: IncidentView,
    account: AccountView,
    language: str,
    kind: str,
    where: list[str],
    value: str,
) -> AccountView:
    if kind == "account" and not where:
        text = _text(value, "summary", 1500)
        return dataclasses.replace(
            account, translations=_with(account.translations, language, text)
        )
    if kind == "figure" and len(where) == 1:
        n = _index(where[0], len(account.figures), "figure")
        figure = account.figures[n]
        text = _text(value, "figure label", 200)
        changed = dataclasses.replace(
            figure, translations=_with(figure.translations, language, text)
        )
        return dataclasses.replace(
            account, figures=(*account.figures[:n], changed, *account.figures[n + 1 :])
        )
    if kind == "note" and len(where) == 1:
        point = incident.points[_index(where[0], len(incident.points), "point")]
        stance = next((s for s in account.stances if s.point_key == point.key and s.note), None)
        if stance is None:
            raise InputError("that account has no note on that point to translate")
        text = _text(value, "note", 300)
        changed_stance = dataclasses.replace(
            stance, translations=_with(stance.translations, language, text)
        )
        stances = tuple(changed_stance if s is stance else s for s in account.stances)
        return dataclasses.replace(account, stances=stances)
    raise InputError(f"what to translate: one of {', '.join(TARGETS)}")


def translate_source(source: SourceView, language: str, field: str, value: str) -> SourceView:
    """The source with its name or affiliation translated into `language`."""
    language = language_tag(language)
    if field not in SOURCE_TEXTS:
        raise InputError(f"what to translate: {' or '.join(SOURCE_TEXTS)}")
    text = _text(value, field, SOURCE_TEXTS[field]) or ""
    empty = SourceTranslation("")
    translations = _with_entry(source.translations, language, field, text, empty)
    return dataclasses.replace(source, translations=translations)
