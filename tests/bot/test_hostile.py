"""Hostile input: whatever people type or upload, nothing escapes as an exception, every
reply is one Telegram accepts, and no stored text ever renders as markup."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.callbacks import VIEWS
from bot.markup import telegram_length
from bot.render import answer_messages
from domain import moderation
from domain.answer import Answer
from domain.dataset import validate
from domain.matching import MatchStatus
from domain.model import FigureView
from domain.sample import reference_incident
from tests.double import BotApiDouble
from tests.double.validation import parse_html
from tests.helpers.running_bot import running_bot

NASTY = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\u200b\u200b",
            "\u202eIdlib\u202c",
            "<b>",
            "</i>",
            "&",
            "&amp",
            "&#0;",
            '<a href="javascript:alert(1)">x</a>',
            "'; DROP TABLE incident; --",
            "\x00",
            "👍" * 200,
            "إدلب " * 50,
            "*bold* _it_ [x](http://e.x)",
            "\ud800"[:0] + "�",
            "/start@other_bot",
            "😀" * 2100,
        ]
    ),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So", "Mn"]), max_size=100),
)


@settings(max_examples=150, deadline=None)
@given(
    title=NASTY, source=NASTY, summary=NASTY, figure=NASTY, note=NASTY, view=st.sampled_from(VIEWS)
)
def test_any_stored_text_renders_as_valid_telegram_html(
    title: str, source: str, summary: str, figure: str, note: str, view: str
) -> None:
    incident = reference_incident()
    account = dataclasses.replace(
        incident.accounts[0],
        summary=summary or "x",
        source=dataclasses.replace(incident.accounts[0].source, name=source or "x"),
        figures=(FigureView(figure or "x", figure or "x"),),
    )
    changed = dataclasses.replace(
        incident, title=title or "x", accounts=(account, *incident.accounts[1:])
    )
    answer = Answer(MatchStatus.CONFIDENT, note, changed, 1.0, changed.points[1])
    for message in answer_messages(answer, "en", view):  # type: ignore[arg-type]
        parsed = parse_html(message)  # raises if Telegram would refuse the entities
        assert 0 < telegram_length(parsed.text) <= 4096
        assert all(e["type"] in ("bold", "italic", "text_link") for e in parsed.entities)


@settings(max_examples=300, deadline=None)
@given(NASTY)
def test_moderator_parsers_only_ever_raise_input_errors(text: str) -> None:
    points = reference_incident().points
    for parse in (
        moderation.figure_bounds,
        moderation.parse_date,
        lambda t: moderation.parse_list(t, field="x"),
        lambda t: moderation.parse_figures(t, points),
        lambda t: moderation.parse_url(t),
        lambda t: moderation.clean_text(t, field="x", limit=300),
        lambda t: moderation.edit_incident(reference_incident(), "title", t),
        lambda t: moderation.add_point(reference_incident(), t),
    ):
        with contextlib.suppress(moderation.InputError):
            parse(text)
    assert moderation.slugify(text)  # always some usable id


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | NASTY,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(NASTY, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries(
            {
                "format": JSON_VALUES,
                "version": JSON_VALUES,
                "sources": JSON_VALUES,
                "incidents": JSON_VALUES,
            }
        ),
    )
)
def test_the_importer_reports_on_any_json_instead_of_crashing(document: object) -> None:
    raw = json.dumps(document).encode()
    report = validate(lambda: io.BytesIO(raw))
    assert not report.ok
    assert all(error.path and error.message for error in report.errors)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_the_importer_reports_on_any_bytes(raw: bytes) -> None:
    report = validate(lambda: io.BytesIO(raw))
    assert not report.ok


async def test_hostile_messages_through_the_real_bot_get_valid_replies(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    texts = [
        "<script>alert(1)</script> Idlib?", "&amp;&lt;&#x41;", "\u202eбиледИ\u202c 40 солдат",
        "/check", "/check " + "x" * 4000, "'; DROP TABLE incident; --", "👍" * 1000,
        "\u200b" * 50, "[link](javascript:alert(1)) *bold*", "/lang <b>", "/start extra args",
        "إدلب هجوم المسلحين", "Idlib " * 700,
    ]  # fmt: skip
    user = bot_api.add_user(990, "Mallory")
    chat = bot_api.add_private_chat(user)
    async with running_bot(bot_api, tmp_path):
        for text in texts:
            bot_api.user_sends(user, chat, text)
        replies = await bot_api.wait_for_messages(chat, len(texts), timeout=20)
        await bot_api.wait_until_idle()
    refused = [
        c for c in bot_api.calls() if c.status and c.status >= 400 and c.method != "getUpdates"
    ]
    assert refused == []
    assert len(replies) == len(texts)
    assert not any("Sorry, something went wrong" in (r.plain or "") for r in replies)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_an_update_that_cannot_be_read_is_skipped_and_the_bot_goes_on(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int, mode: str
) -> None:
    user = bot_api.add_user(991, "Trudy")
    chat = bot_api.add_private_chat(user)
    port = unused_tcp_port if mode == "webhook" else None
    async with running_bot(bot_api, tmp_path, webhook_port=port):
        # Shapes python-telegram-bot cannot parse: a message without its date, a message
        # that is a string, a button press without its chat_instance.
        bot_api.inject({"message": {"message_id": 1, "text": "hi", "chat": chat.to_api()}})
        bot_api.inject({"message": "nonsense"})
        bot_api.inject({"callback_query": {"id": "77"}})
        bot_api.user_sends(user, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (reply,) = await bot_api.wait_for_messages(chat, 1, timeout=20)
        await bot_api.wait_until_idle()
        assert bot_api.pending_updates == []  # none is left to be delivered again
    assert "Idlib" in (reply.plain or "")
    if mode == "webhook":
        assert [d.status for d in bot_api.webhook_deliveries] == [200] * 4
