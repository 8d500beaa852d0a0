"""A process killed outright (SIGKILL) in the middle of a write leaves nothing half-done."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from db.database import Database
from tests.double import BotApiDouble, User
from tests.helpers.databases import ADMIN_DSN, create_database, drop_database, postgres_problem
from tests.helpers.datasets import write_sample_copies
from tests.helpers.running_bot import (
    ROOT,
    Moderator,
    RunningBot,
    bot_environment,
    running_bot,
    start_bot_process,
)


def _import(dataset: Path, environment: dict[str, str]) -> subprocess.Popen[str]:
    """`factcheck-bot import` as its own process, its progress readable on stderr."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "import", str(dataset)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _large_dataset(path: Path, count: int) -> None:
    write_sample_copies(
        path, count, prefix="crash", title="Incident written before the crash, number {n}"
    )


async def test_sigkill_during_an_import_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    database = Database(url)
    await database.prepare(sample_data="yes")
    before = await database.repository.count_incidents()
    await database.close()
    dataset = tmp_path / "large.json"
    _large_dataset(dataset, 3000)
    environment = {**os.environ, "DATABASE_URL": url}
    process = _import(dataset, environment)
    assert process.stderr is not None
    # Kill it once it reports writing (progress goes to stderr as "N/3000 incidents").
    progress = ""
    while "/3000 incidents" not in progress:
        chunk = await asyncio.to_thread(process.stderr.read, 20)
        assert chunk, "the import ended before it started writing"
        progress += chunk
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(process.wait, 30)
    assert process.returncode == -signal.SIGKILL

    database = Database(url)
    try:
        await database.prepare(sample_data="no")
        assert await database.repository.count_incidents() == before  # nothing half-written
        # And the same import, run again, completes.
        rerun = _import(dataset, environment)
        _, errors = await asyncio.to_thread(rerun.communicate, None, 300)
        assert rerun.returncode == 0, errors
        assert await database.repository.count_incidents() == before + 3000
    finally:
        await database.close()


Outage = Callable[[bool], Awaitable[None]]


async def _edit_through_an_outage(
    double: BotApiDouble,
    bot: RunningBot,
    admin: User,
    outage: Outage,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """A moderator edits before, during and after an outage (`outage(True)` starts it,
    `outage(False)` ends it): the edit during it gets a plain "try again" and leaves no
    trace, and the next one saves with no restart."""
    chat = double.add_private_chat(admin)
    edit = "/edit idlib-disputed-attack country {}"
    double.user_sends(admin, chat, edit.format("Before"))
    (saved,) = await double.wait_for_messages(chat, 1)
    assert "Saved (version 2)" in (saved.plain or "")
    await outage(True)
    try:
        double.user_sends(admin, chat, edit.format("During"))
        _, apology = await double.wait_for_messages(chat, 2, timeout=20)
        if meanwhile is not None:
            await meanwhile()
    finally:
        await outage(False)
    double.user_sends(admin, chat, edit.format("After"))
    *_, recovered = await double.wait_for_messages(chat, 3, timeout=20)
    stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    audit = await bot.services.database.audit.latest(5)
    assert apology.plain == "Sorry, something went wrong on my side. Please try again in a moment."
    assert "Saved (version 3)" in (recovered.plain or "")  # the failed edit left no trace
    assert stored is not None and stored.country == "After" and stored.version == 3
    countries = [e.after["place"]["country"] for e in audit if e.action == "update" and e.after]
    assert countries == ["After", "Before"]


async def test_database_outage_gets_a_plain_apology_and_the_bot_recovers(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    problem = await postgres_problem()
    if problem:
        pytest.skip(problem)
    name, url = await create_database("factcheck_outage")
    connection = await asyncpg.connect(ADMIN_DSN)

    async def outage(down: bool) -> None:
        # No new connections, and every open one cut: as if the server went away.
        await connection.execute(
            f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not down).lower()}'
        )
        if down:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )

    try:
        async with running_bot(
            bot_api, tmp_path, DATABASE_URL=url, SAMPLE_DATA="yes", ADMIN_IDS="900"
        ) as bot:
            await _edit_through_an_outage(bot_api, bot, bot_api.add_user(900, "Admin"), outage)
    finally:
        await connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await connection.close()
        await drop_database(name)


async def test_a_locked_sqlite_file_gets_a_plain_apology_and_the_bot_recovers(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    path = tmp_path / "locked.db"
    reader = bot_api.add_user(902, "Reader")
    reader_chat = bot_api.add_private_chat(reader)
    holders: list[sqlite3.Connection] = []

    async def outage(down: bool) -> None:
        # Another program (a backup script, an sqlite3 shell) holds the write lock.
        if down:
            holders.append(sqlite3.connect(path, isolation_level=None))
            holders[-1].execute("BEGIN IMMEDIATE")
        else:
            holder = holders.pop()
            holder.execute("ROLLBACK")
            holder.close()

    async def users_are_still_answered() -> None:
        bot_api.user_sends(reader, reader_chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer,) = await bot_api.wait_for_messages(reader_chat, 1, timeout=20)
        assert "Reported militant offensive" in (answer.plain or "")

    async with running_bot(
        bot_api, tmp_path, DATABASE_URL=f"sqlite:///{path}?timeout=1", ADMIN_IDS="901"
    ) as bot:
        await _edit_through_an_outage(
            bot_api, bot, bot_api.add_user(901, "Admin"), outage, users_are_still_answered
        )


def _bot_process(double: BotApiDouble, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    """`factcheck-bot run` (polling, SQLite) as its own process, against the double."""
    environment = bot_environment(
        double, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/forms.db", ADMIN_IDS="903"
    )
    return start_bot_process(environment, tmp_path / f"{name}.log")


async def _polling(double: BotApiDouble, process: subprocess.Popen[bytes], since: int) -> None:
    """Wait until the process asks for updates (it is ready), failing early if it died."""

    def ready() -> bool | None:
        assert process.poll() is None, "the bot process exited"
        return len(double.calls("getUpdates")) > since or None

    await double.wait_for(ready, timeout=30, what="the bot to start polling")


async def _all_marked_done(path: Path) -> None:
    database = Database(f"sqlite:///{path}")
    deadline = asyncio.get_running_loop().time() + 10
    try:
        while left := await database.inbox.unfinished():
            assert asyncio.get_running_loop().time() < deadline, f"{left} update(s) never finished"
            await asyncio.sleep(0.05)
    finally:
        await database.close()


async def test_sigkill_during_a_moderator_form_loses_no_answer_and_saves_once(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    user = bot_api.add_user(903, "Admin")
    admin = Moderator(bot_api, user, bot_api.add_private_chat(user))
    first = _bot_process(bot_api, tmp_path, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        await _polling(bot_api, first, 0)
        await admin.send("/newsource")
        await admin.send("Kurdish Red Crescent")
        kind_question = await admin.send("NGO")  # typed, not pressed: kinds parse either way
        assert "Other names" in (kind_question.plain or "")
        # Killed between two messages: after the last one was marked handled (killed in the
        # instant between its reply and that mark, it would be handled again after the
        # restart: see bot/inbox.py).
        await _all_marked_done(tmp_path / "forms.db")
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 30)

        database = Database(f"sqlite:///{tmp_path}/forms.db")
        try:
            sources = await database.repository.list_sources()
            assert "Kurdish Red Crescent" not in [s.name for s in sources]  # nothing half-saved
        finally:
            await database.close()

        polls = len(bot_api.calls("getUpdates"))
        second = _bot_process(bot_api, tmp_path, "second")
        await _polling(bot_api, second, polls)
        # The form goes on where it was, in the new process.
        affiliation_question = await admin.send("KRC, Heyva Sor a Kurdistanê")
        assert "affiliation" in (affiliation_question.plain or "").lower()
        await admin.send("-")
        confirmation = await admin.send("-")
        assert "Kurdish Red Crescent" in (confirmation.plain or "")
        assert "KRC" in (confirmation.plain or "")
        saved = await admin.press("Save")
        await bot_api.wait_until_idle(timeout=10)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                await asyncio.to_thread(process.wait, 30)
    assert "Saved source" in (saved.plain or "")
    replies = bot_api.messages_to(admin.chat)
    assert len(replies) == admin.sent  # every message answered, none twice
    database = Database(f"sqlite:///{tmp_path}/forms.db")
    try:
        sources = await database.repository.list_sources()
        named = [s for s in sources if s.name == "Kurdish Red Crescent"]
    finally:
        await database.close()
    assert len(named) == 1 and named[0].aliases == ("KRC", "Heyva Sor a Kurdistanê")


async def test_sigkill_with_updates_in_hand_loses_and_duplicates_nothing(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    users = [bot_api.add_user(910 + n, f"U{n}") for n in range(20)]
    chats = [bot_api.add_private_chat(u) for u in users]
    claim = "Did rebels kill 40 Syrian soldiers in Idlib?"
    first = _bot_process(bot_api, tmp_path, "first")
    second: subprocess.Popen[bytes] | None = None
    try:
        await _polling(bot_api, first, 0)
        for user, chat in zip(users[:10], chats[:10], strict=True):
            bot_api.user_sends(user, chat, claim)
        for chat in chats[:10]:
            await bot_api.wait_for_messages(chat, 1, timeout=20)
        # Telegram is failing now: the next ten are taken (and confirmed) but not answered.
        bot_api.fail_next("sendMessage", status=502, times=10_000)
        for user, chat in zip(users[10:], chats[10:], strict=True):
            bot_api.user_sends(user, chat, claim)

        def in_hand() -> bool | None:
            failed = {
                c.params.get("chat_id") for c in bot_api.calls("sendMessage") if c.status == 502
            }
            return (not bot_api.pending_updates and len(failed) >= 10) or None

        await bot_api.wait_for(in_hand, timeout=20, what="the updates to be taken and failing")
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait, 30)
        bot_api.clear_faults()
        assert not bot_api.pending_updates  # Telegram no longer holds them

        polls = len(bot_api.calls("getUpdates"))
        second = _bot_process(bot_api, tmp_path, "second")
        await _polling(bot_api, second, polls)
        for chat in chats[10:]:
            await bot_api.wait_for_messages(chat, 1, timeout=30)
        await bot_api.wait_until_idle(quiet=0.5, timeout=20)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                await asyncio.to_thread(process.wait, 30)
    for chat in chats:
        (reply,) = bot_api.messages_to(chat)  # every user answered, none twice
        assert "Reported militant offensive" in (reply.plain or "")
