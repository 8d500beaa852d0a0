"""The bot's words in four languages: complete catalogues, CLDR plurals, the choice of
language, records in the reader's language, and Arabic laid out right to left."""

from __future__ import annotations

import dataclasses
import re
import string

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import messages as msg
from bot.i18n import KEYWORDS, LANGUAGES, LOCALE_DIR, catalogue_path, pick_language, tn
from bot.markup import FSI, PDI, RLM
from bot.render import answer_blocks
from domain.answer import Answer
from domain.matching import MatchStatus
from domain.model import RECORD_LANGUAGE
from domain.sample import reference_incident

TRANSLATED = [language for language in LANGUAGES if language != "en"]


def extracted() -> dict[tuple[str | tuple[str, ...], str | None], None]:
    """Every message the code marks for translation: (msgid, context)."""
    found: dict[tuple[str | tuple[str, ...], str | None], None] = {}
    root = LOCALE_DIR.parent
    for _, _, message, _, context in extract_from_dir(
        str(root), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found[(message, context)] = None
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_in_every_catalogue(language: str) -> None:
    with catalogue_path(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    problems = []
    for message_id, context in extracted():
        singular = message_id[0] if isinstance(message_id, tuple) else message_id
        entry = catalog.get(singular, context=context)
        if entry is None or entry.fuzzy:
            problems.append(f"missing: {singular!r}")
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if len(forms) != catalog.num_plurals and isinstance(message_id, tuple):
            problems.append(f"{len(forms)} plural forms of {catalog.num_plurals}: {singular!r}")
        if not all(forms):
            problems.append(f"empty: {singular!r}")
        # A translation may leave out the number where its form says it ("one more"),
        # never bring in a name the code does not pass.
        wanted = placeholders(singular)
        if any(placeholders(str(form)) - wanted - {"count"} for form in forms):
            problems.append(f"unknown placeholder: {singular!r}")
    assert problems == []


def test_the_translators_template_is_current() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as source:
        template = read_po(source)

    def singular(message_id: str | tuple[str, ...] | list[str]) -> str:
        return message_id if isinstance(message_id, str) else message_id[0]

    in_template = {(singular(m.id), m.context) for m in template if m.id}
    assert {(singular(m), c) for m, c in extracted()} == in_template


@pytest.mark.parametrize(
    ("language", "forms"),
    [
        ("en", ["account:", "accounts:", "accounts:", "accounts:", "accounts:"]),
        ("ru", ["1 версия", "2 версии", "5 версий", "11 версий", "21 версия"]),
        ("uk", ["1 версія", "2 версії", "5 версій", "11 версій", "21 версія"]),
        ("ar", ["رواية واحدة", "روايتان", "5 روايات", "11 رواية", "21 رواية"]),
    ],
)
def test_plural_forms_follow_each_language(language: str, forms: list[str]) -> None:
    said = [tn(language, msg.MORE_ACCOUNTS, n) for n in (1, 2, 5, 11, 21)]
    assert all(form in text for form, text in zip(forms, said, strict=True)), said


def test_arabic_has_six_plural_forms_and_they_differ() -> None:
    said = {tn("ar", msg.MORE_ACCOUNTS, n) for n in (0, 1, 2, 3, 11, 100)}
    assert len(said) >= 5  # CLDR's "many" and "other" may read alike in a given phrase


def test_the_reply_language_is_chosen_in_order_and_falls_back_only_to_english() -> None:
    assert pick_language("uk") == "uk"  # no longer answered in Russian
    assert pick_language("ar-SA") == "ar"
    assert pick_language("de", default="en") == "en"
    assert pick_language("uk", preferred="en") == "en"  # /lang wins in a private chat
    assert pick_language(None, written="uk") == "uk"  # nobody said: the message does
    assert pick_language("en", written="uk") == "en"
    # In a group the asking message's language comes first.
    assert pick_language("en", preferred="ru", written="ar", group=True) == "ar"
    assert pick_language("en", written=None, group=True) == "en"


def reference_answer(language_point: str = "soldiers-killed") -> Answer:
    incident = reference_incident()
    return Answer(MatchStatus.CONFIDENT, "", incident, 1.0, incident.point(language_point))


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("view", ["summary", "accounts", "disputes", "sources"])
def test_the_reference_answer_has_no_untranslated_text(language: str, view: str) -> None:
    text = "\n".join(answer_blocks(reference_answer(), language, view))  # type: ignore[arg-type]
    assert f"({RECORD_LANGUAGE})" not in text
    # The English of the record does not leak in (the figures' own phrases aside).
    english = reference_incident()
    for account in english.accounts:
        assert account.summary[:40] not in text
        assert account.source.name not in text
    assert english.title not in text


def test_an_untranslated_record_is_marked_not_mixed_in_silently() -> None:
    incident = reference_incident()
    first = dataclasses.replace(incident.accounts[0], translations={})
    incident = dataclasses.replace(incident, accounts=(first, *incident.accounts[1:]))
    answer = Answer(MatchStatus.CONFIDENT, "", incident, 1.0, incident.point("soldiers-killed"))
    text = "\n".join(answer_blocks(answer, "uk", "accounts"))
    assert f"{first.summary} ({RECORD_LANGUAGE})" in text


def test_arabic_lines_read_right_to_left_with_embedded_runs_isolated() -> None:
    blocks = answer_blocks(reference_answer(), "ar", "summary")
    lines = [line for block in blocks for line in block.split("\n")]
    assert lines and all(line.startswith(RLM) for line in lines)
    # Outside isolates, no left-to-right letter or digit: each such run sits between
    # FSI and PDI, so it reads whole and in place in the Arabic line.
    for line in lines:
        outside = re.sub(f"{FSI}[^{PDI}]*{PDI}", "", re.sub(r"<[^>]+>", "", line))
        assert not re.search(r"[A-Za-z0-9]", outside), line
    # In the block about the asked point, each stance's mark opens its line (the right
    # edge, for a right-to-left line): asserted, disputed, silent.
    asked = blocks[1].split("\n")[1:]
    assert [line[:2] for line in asked] == [RLM + "✅", RLM + "❌", RLM + "…"]
    assert f"{FSI}up to 40{PDI}" in "\n".join(lines)  # the source's own phrase, kept
