"""The desk in a real browser: Debian's Chromium, headless, driven by Playwright, against
the running bot. A moderator enters the reference case from nothing and a user's claim is
answered with it; two moderators save the same incident; an Arabic page reads right to
left. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from domain.sample import REFERENCE_INCIDENT_KEY
from tests.double import BotApiDouble
from tests.helpers.desk import signed_init_data
from tests.helpers.reference_entry import POINTS
from tests.helpers.running_bot import RunningBot, running_bot, serving_web

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = next(
    (path for path in ("/usr/lib/chromium/chromium", shutil.which("chromium")) if path), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or not Path(CHROMIUM).exists(),
    reason="needs Debian's chromium (apt-get install chromium)",
)
ADMIN = 900
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
THEME = '{"bg_color":"#ffffff","text_color":"#000000","button_color":"#3390ec","button_text_color":"#ffffff","secondary_bg_color":"#f4f4f5","hint_color":"#707579","link_color":"#3390ec"}'  # noqa: E501

SOURCES = [
    "Russian Ministry of Defence | government | Russian Defense Ministry, Minoborony, Минобороны"
    " | Russia; party to the conflict | https://mil.ru",
    "Syrian state media | state_media | SANA, Syrian Arab News Agency",
    "National Liberation Front | armed_group | NLF, al-Jabha al-Wataniya lil-Tahrir",
    "Syrian Observatory for Human Rights | independent_monitor | SOHR, the Observatory",
]
ACCOUNTS = [
    "Russian Ministry of Defence: Militant groups attacked on Wednesday; up to 40 soldiers died.",
    "Syrian state media: A major attack early on Thursday made army units re-deploy.",
    "National Liberation Front: No assault took place on Wednesday or Thursday.",
    "Syrian Observatory for Human Rights: No attack on Thursday; about 400 air strikes.",
]
FIGURES = [
    "Russian Ministry of Defence: Syrian soldiers killed: up to 40 #2",
    "Russian Ministry of Defence: militants killed: up to 50 #4",
    "Syrian Observatory for Human Rights: air strikes since Wednesday: about 400 #5",
]
# (account, point) -> stance; every other cell stays silent.
STANCES = {
    (0, 0): "asserts", (0, 1): "asserts", (0, 2): "asserts", (0, 3): "asserts",
    (1, 0): "asserts", (1, 2): "partly",
    (2, 0): "disputes", (2, 1): "disputes", (2, 2): "disputes", (2, 4): "partly",
    (3, 0): "disputes", (3, 1): "disputes", (3, 4): "asserts",
}  # fmt: skip


class Counting:
    """A page whose clicks and filled fields are counted: the moderator's actions."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.clicks = 0
        self.fields = 0

    async def click(self, selector: str) -> None:
        await self.page.click(selector)  # type: ignore[attr-defined]
        self.clicks += 1

    async def fill(self, selector: str, text: str) -> None:
        await self.page.fill(selector, text)  # type: ignore[attr-defined]
        self.fields += 1


@asynccontextmanager
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def desk_session(
    double: BotApiDouble, tmp_path: Path, port: int, **settings: str
) -> AsyncIterator[tuple[RunningBot, Any, str]]:
    """The bot with its web server on 127.0.0.1, a Chromium beside it, and the base URL."""
    async with (
        running_bot(double, tmp_path, environment=serving_web(port, **settings)) as bot,
        browser() as chromium,
    ):
        yield bot, chromium, f"http://127.0.0.1:{port}"


async def open_desk(
    chromium: Any, base: str, token: str, user_id: int = ADMIN, language: str = "en"
) -> Any:
    """The desk on a phone-sized screen, opened by this user as Telegram opens it."""
    page = await chromium.new_page(viewport={"width": 420, "height": 900})
    await page.goto(desk_url(base, token, user_id, language))
    return page


async def saved(page: object, version: int) -> None:
    """Wait for the desk to say it saved; fail with what it said instead."""
    try:
        await page.wait_for_selector(  # type: ignore[attr-defined]
            f"#status:has-text('Saved (version {version})')", timeout=10_000
        )
    except playwright_api.TimeoutError:
        said = await page.text_content("#status")  # type: ignore[attr-defined]
        raise AssertionError(f"the desk said: {said}") from None


def desk_url(base: str, token: str, user_id: int = ADMIN, language: str = "en") -> str:
    data = quote(
        signed_init_data(token, user_id, first_name="Olena", language_code=language), safe=""
    )
    return f"{base}/desk#tgWebAppData={data}&tgWebAppThemeParams={quote(THEME, safe='')}"


async def test_the_reference_case_entered_in_the_desk_answers_a_user(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_session(
        bot_api, tmp_path, unused_tcp_port, SAMPLE_DATA="no", ADMIN_IDS=str(ADMIN)
    ) as (bot, chromium, base):
        page = await open_desk(chromium, base, bot_api.token)
        # An empty desk opens on a new incident.
        await page.wait_for_selector("#editor:not([hidden])")
        moderator = Counting(page)
        await moderator.fill("[name=new_sources]", "\n".join(SOURCES))
        await moderator.fill(
            "[name=title]", "Reported militant offensive on Syrian government forces in Idlib"
        )
        await moderator.fill(
            "[name=summary]",
            "Russia's defence ministry reported a militant offensive; "
            "rebels and a war monitor deny it.",
        )
        await moderator.fill("[name=place]", "Idlib, Idleb, Идлиб, إدلب")
        await moderator.fill("[name=country]", "Syria")
        await moderator.fill("[name=points]", "\n".join(POINTS))
        await moderator.fill("[name=accounts]", "\n".join(ACCOUNTS))
        await moderator.fill("[name=figures]", "\n".join(FIGURES))
        for (account, point), stance in STANCES.items():
            row = f"#grid tbody tr:nth-child({point + 1})"
            cell = f"{row} td:nth-of-type({account + 1}) button[data-stance={stance}]"
            await moderator.click(cell)
        await page.screenshot(path=str(SCREENSHOTS / "desk-grid.png"), full_page=True)
        await moderator.click("#save")
        await saved(page, 1)
        actions = moderator.clicks + moderator.fields
        print(
            f"desk: {actions} actions ({moderator.fields} fields typed, {moderator.clicks} clicks)"
            " to enter the reference case; the chat takes 66"
        )
        await page.screenshot(path=str(SCREENSHOTS / "desk-saved.png"), full_page=False)

        user = bot_api.add_user(950, "Reader")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends(user, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer,) = await bot_api.wait_for_messages(chat, 1)
        stored = await bot.services.database.repository.list_sources()
        key = next(iter(await bot.services.database.repository.recent_incidents(1)))[0]
        public = await chromium.new_page(viewport={"width": 900, "height": 1200})
        await public.goto(f"{base}/i/{key}")
        await public.screenshot(path=str(SCREENSHOTS / "public-page.png"), full_page=True)
    text = answer.plain or ""
    assert "You asked about: Up to 40 Syrian soldiers were killed" in text
    assert "asserts: Russian Ministry of Defence — Syrian soldiers killed: up to 40" in text
    assert "disputes: National Liberation Front; Syrian Observatory for Human Rights" in text
    assert len(stored) == 4
    assert actions <= 22  # a third of the chat's 66


async def test_a_save_after_another_moderators_is_refused_and_says_why(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_session(bot_api, tmp_path, unused_tcp_port, ADMIN_IDS=f"{ADMIN},901") as (
        bot,
        chromium,
        base,
    ):
        pages = []
        for user_id in (ADMIN, 901):
            page = await open_desk(chromium, base, bot_api.token, user_id)
            await page.click("#incident-list button:has-text('Idlib')")
            await page.wait_for_selector("#editor:not([hidden])")
            pages.append(page)
        first, second = pages
        await first.fill("[name=title]", "Title saved first")
        await first.click("#save")
        await saved(first, 2)
        await second.fill("[name=title]", "Title saved second")
        await second.click("#save")
        await second.wait_for_selector("#status.error")
        said = await second.text_content("#status")
        stored = await bot.services.database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert "someone else saved version 2" in (said or "")
    assert stored is not None and stored.title == "Title saved first"


async def test_an_arabic_public_page_reads_right_to_left(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_session(bot_api, tmp_path, unused_tcp_port) as (_bot, chromium, base):
        page = await chromium.new_page(viewport={"width": 900, "height": 1200})
        await page.goto(f"{base}/i/{REFERENCE_INCIDENT_KEY}?lang=ar")
        direction = await page.evaluate("getComputedStyle(document.body).direction")
        heading = await page.evaluate(
            "(() => { const text = document.createRange();"
            " text.selectNodeContents(document.querySelector('h1'));"
            " const r = text.getBoundingClientRect();"
            " return [r.left, r.right, document.documentElement.clientWidth]; })()"
        )
        await page.screenshot(path=str(SCREENSHOTS / "public-page-ar.png"), full_page=True)
    assert direction == "rtl"
    left, right, width = heading
    assert width - right < left  # the title's words sit against the right edge


async def test_translations_sources_and_the_team_are_edited_in_the_desk(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_session(bot_api, tmp_path, unused_tcp_port, ADMIN_IDS=str(ADMIN)) as (
        bot,
        chromium,
        base,
    ):
        page = await open_desk(chromium, base, bot_api.token)
        await page.click("#incident-list button:has-text('Idlib')")
        await page.select_option("#language", "uk")
        await page.fill("[aria-label='Point 2 (uk)']", "Загинули щонайменше 40 військових")
        notes = await page.input_value("[name=notes]")
        await page.fill(
            "[name=notes]", notes + "\nSyrian state media #3: re-deployment, not a retreat"
        )
        await page.click("#save")
        await saved(page, 2)
        await page.click("nav button[data-view=sources]")
        await page.click("#source-list button:has-text('Syrian state media')")
        await page.fill("#source-edit [name=affiliation]", "Syrian government")
        await page.click("#source-edit button[type=submit]")
        await page.wait_for_selector("#status:has-text('Saved source')")
        await page.click("nav button[data-view=team]")
        await page.fill("#appoint [name=id]", "4567")
        await page.fill("#appoint [name=name]", "Mira")
        await page.click("#appoint button[type=submit]")
        await page.wait_for_selector("#team-list li:has-text('4567')")
        repository = bot.services.database.repository
        incident = await repository.get_incident(REFERENCE_INCIDENT_KEY)
        source = await repository.get_source("sy-state-media")
        role = await bot.services.database.staff.role_of(4567)
    assert incident is not None
    assert incident.points[1].translations["uk"] == "Загинули щонайменше 40 військових"
    state_media = next(a for a in incident.accounts if a.source.key == "sy-state-media")
    (note,) = [s.note for s in state_media.stances if s.point_key == "settlements-seized"]
    assert note == "re-deployment, not a retreat"
    assert source is not None and source.affiliation == "Syrian government"
    assert role is not None and role.value == "moderator"


async def test_a_queued_claim_is_linked_by_searching_for_its_incident(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_session(bot_api, tmp_path, unused_tcp_port, ADMIN_IDS=str(ADMIN)) as (
        bot,
        chromium,
        base,
    ):
        reader = bot_api.add_user(960, "Reader")
        chat = bot_api.add_private_chat(reader)
        bot_api.user_sends(reader, chat, "Zephyrbrook aqueduct bombed by drones last night?")
        (no_record,) = await bot_api.wait_for_messages(chat, 1)
        page = await open_desk(chromium, base, bot_api.token)
        await page.click("nav button[data-view=queue]")
        await page.wait_for_selector("#queue-list li:has-text('Zephyrbrook')")
        await page.fill("#queue-list input[type=search]", "Idlib offensive soldiers")
        await page.click("#queue-list button:has-text('Find the incident')")
        choice = "#queue-list button:has-text('Link to: Reported militant offensive')"
        await page.wait_for_selector(choice)
        await page.screenshot(path=str(SCREENSHOTS / "desk-queue.png"))
        await page.click(choice)
        await page.wait_for_selector("#status:has-text('Linked')")
        queue = await bot.services.database.community.open_queue()
    assert "no record" in (no_record.plain or "").lower()
    assert queue == []


async def test_the_desk_speaks_the_moderators_language(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_session(bot_api, tmp_path, unused_tcp_port, ADMIN_IDS="900,902") as (
        _bot,
        chromium,
        base,
    ):
        seen = {}
        for user_id, language in ((ADMIN, "uk"), (902, "ar")):
            page = await open_desk(chromium, base, bot_api.token, user_id, language)
            await page.wait_for_selector("#status:has-text('Olena')")
            seen[language] = (
                await page.text_content("nav button[data-view=incidents]"),
                await page.evaluate("document.documentElement.dir"),
                await page.text_content("#status"),
            )
            if language == "ar":
                await page.click("#incident-list button")
                await page.wait_for_selector("#editor:not([hidden])")
                await page.screenshot(path=str(SCREENSHOTS / "desk-ar.png"), full_page=False)
    assert seen["uk"] == ("Інциденти", "ltr", "Ви увійшли як Olena (адміністратор)")
    assert seen["ar"][:2] == ("الحوادث", "rtl")
