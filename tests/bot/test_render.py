"""Rendering answers: escaping, stance lines, keyboards within Telegram's limits, splitting."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.callbacks import VIEWS
from bot.keyboards import answer_keyboard
from bot.markup import HTML, MESSAGE_LIMIT, PLAIN, split_message, telegram_length
from bot.render import answer_blocks, answer_messages, inline_description
from domain.answer import Answer
from domain.matching import MatchStatus
from domain.model import FigureView, IncidentView
from domain.sample import reference_incident


def reference_answer(point: str | None = "soldiers-killed") -> Answer:
    incident = reference_incident()
    return Answer(
        MatchStatus.CONFIDENT, "claim", incident, 0.9, incident.point(point) if point else None
    )


def visible(text: str) -> str:
    """The text a reader sees once Telegram has parsed the HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def test_summary_names_who_asserts_and_who_disputes_the_asked_point() -> None:
    text = visible("\n\n".join(answer_blocks(reference_answer(), "en")))
    assert "You asked about: Up to 40 Syrian soldiers were killed" in text
    assert "✅ asserts: Russian Ministry of Defence — Syrian soldiers killed: up to 40" in text
    assert "❌ disputes: National Liberation Front; Syrian Observatory for Human Rights" in text
    assert "… silent: Syrian state media" in text
    for source in (
        "Russian Ministry of Defence",
        "Syrian state media",
        "National Liberation Front",
    ):
        assert f"{source} (" in text


def test_figures_are_shown_as_given_and_never_merged() -> None:
    text = visible("\n\n".join(answer_blocks(reference_answer("air-strikes"), "en", "accounts")))
    assert "up to 40" in text and "about 400" in text and "up to 50" in text
    assert "40-50" not in text and "average" not in text


def test_disputes_view_lists_every_contradiction() -> None:
    text = visible("\n\n".join(answer_blocks(reference_answer(), "en", "disputes")))
    assert "Where the accounts contradict each other" in text
    # Attack launched: asserted by MoD and state media, disputed by NLF and SOHR.
    assert "asserted by: Russian Ministry of Defence; Syrian state media" in text
    assert "disputed by: National Liberation Front — no assault on Wednesday or Thursday" in text
    # Militant casualties are asserted by one source and disputed by none: not a dispute.
    assert "Up to 50 militants" not in text


def test_russian_answer_uses_russian_words_and_the_incident_translation() -> None:
    text = visible("\n\n".join(answer_blocks(reference_answer(), "ru")))
    assert "Сообщение о наступлении боевиков" in text
    assert "Вы спросили о: Погибли до 40 сирийских военных" in text
    assert "оспаривает" in text


EVIL = "<b>bold</b> & <script>alert(1)</script> <a href='x'>"


def hostile_incident() -> IncidentView:
    incident = reference_incident()
    evil = EVIL
    account = dataclasses.replace(
        incident.accounts[0],
        summary=evil,
        url="javascript:alert(1)",
        source=dataclasses.replace(incident.accounts[0].source, name=evil),
        figures=(FigureView(evil, evil),),
    )
    return dataclasses.replace(
        incident, title=evil, place=evil, accounts=(account, *incident.accounts[1:])
    )


@pytest.mark.parametrize("view", VIEWS)
def test_stored_text_never_renders_as_markup(view: str) -> None:
    incident = hostile_incident()
    answer = Answer(MatchStatus.CONFIDENT, "x", incident, 1.0, incident.points[1])
    text = "\n\n".join(answer_messages(answer, "en", view))  # type: ignore[arg-type]
    # Only the renderer's own tags appear, and no link points anywhere but http(s).
    assert set(re.findall(r"</?([a-z]+)", text)) <= {"b", "i", "a"}
    assert all(href.startswith("https://") for href in re.findall(r'href="([^"]*)"', text))
    # The hostile name is shown to the reader literally, as text.
    assert EVIL in visible(text)


def test_keyboard_data_fits_telegram_limits() -> None:
    for view in VIEWS:
        keyboard = answer_keyboard(reference_answer(), "en", view)
        buttons = [b for row in keyboard for b in row]
        assert len(buttons) == 5  # three other views and two feedback buttons
        assert all(b.data and len(b.data.encode()) <= 64 for b in buttons)


def test_inline_description_is_one_short_line() -> None:
    line = inline_description(reference_answer(), "en")
    assert line == (
        "Russian Ministry of Defence assert, "
        "National Liberation Front, Syrian Observatory for Human Rights dispute"
    )


def test_plain_rendering_has_no_markup_and_no_escapes() -> None:
    incident = hostile_incident()
    text = "\n".join(
        answer_blocks(Answer(MatchStatus.CONFIDENT, "x", incident, 1.0), "en", "summary", PLAIN)
    )
    assert "<b>bold</b> & <script>" in text
    assert "&amp;" not in text


def test_many_long_accounts_split_into_messages_within_the_limit() -> None:
    incident = reference_incident()
    long_account = dataclasses.replace(incident.accounts[0], summary="Ж" * 1400 + " & more")
    many = dataclasses.replace(
        incident, accounts=tuple(dataclasses.replace(long_account, key=f"a{n}") for n in range(12))
    )
    answer = Answer(MatchStatus.CONFIDENT, "x", many, 1.0, many.points[1])
    messages = answer_messages(answer, "en", "accounts")
    assert len(messages) > 1
    assert all(telegram_length(m) <= MESSAGE_LIMIT for m in messages)
    assert visible("".join(messages)).count("Ж" * 1400) == 12


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=6000), min_size=1, max_size=5))
def test_splitting_keeps_every_piece_within_the_limit_and_entities_whole(parts: list[str]) -> None:
    blocks = [HTML.bold(p[:50]) + "\n" + HTML.text(p) for p in parts]
    for message in split_message(blocks):
        assert telegram_length(message) <= MESSAGE_LIMIT
        # No entity cut in half: every & starts a complete entity.
        assert all(
            re.match(r"&(lt|gt|amp|quot);", message[i:])
            for i in range(len(message))
            if message[i] == "&"
        )
        assert message.count("<b>") == message.count("</b>")


def test_emoji_count_double_toward_the_limit() -> None:
    blocks = [HTML.text("😀" * 3000)]
    messages = split_message(blocks)
    assert all(telegram_length(m) <= MESSAGE_LIMIT for m in messages)
    assert len(messages) == 2


def test_account_with_no_stance_on_the_point_counts_as_silent() -> None:
    incident = reference_incident()
    quiet = dataclasses.replace(incident.accounts[1], stances=())
    answer = Answer(
        MatchStatus.CONFIDENT,
        "x",
        dataclasses.replace(incident, accounts=(quiet,)),
        1.0,
        incident.points[0],
    )
    assert "… silent: Syrian state media" in visible("\n".join(answer_blocks(answer, "en")))
