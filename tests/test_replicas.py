"""Two bot processes in webhook mode on one PostgreSQL database, behind one address.

A small proxy in front of them plays the load balancer, so each test decides which replica
gets which update. Nothing held in only one process may make the replicas disagree.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from db.database import Database
from db.datasets import import_dataset
from db.repository import Actor
from domain.dataset import SAMPLE_PATH
from tests.conftest import create_database, drop_database, postgres_problem
from tests.double import BotApiDouble, Chat, User
from tests.running_bot import Moderator, bot_environment, start_bot_process

SECRET = "replica-secret-0123456789-abcdefghijkl"
ADMIN = 4242


@dataclass
class Proxy:
    """Forwards each webhook post to the replicas named in `targets`."""

    ports: dict[str, int]
    targets: list[str] = field(default_factory=lambda: ["a"])
    forwarded: list[tuple[str, int]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": request.headers.get(
                "X-Telegram-Bot-Api-Secret-Token", ""
            ),
            "Content-Type": "application/json",
        }
        statuses = []
        async with aiohttp.ClientSession() as session:
            for name in list(self.targets):
                url = f"http://127.0.0.1:{self.ports[name]}/telegram"
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        status = response.status
                except aiohttp.ClientError:
                    status = 502  # the replica is down: Telegram will retry
                statuses.append(status)
                self.forwarded.append((name, status))
        return web.Response(status=200 if 200 in statuses else max(statuses))


@dataclass
class Cluster:
    double: BotApiDouble
    proxy: Proxy
    database: Database
    processes: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]
    start: Callable[[str], None]

    async def restart(self, replica: str) -> None:
        self.start(replica)
        await _wait_healthy(self.proxy, {replica: self.processes[replica]}, self.logs, only=replica)

    async def metric(self, replica: str, name: str) -> float:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{self.proxy.ports[replica]}/metrics"
            async with session.get(url) as response:
                text = await response.text()
        for line in text.splitlines():
            if line.rsplit(" ", 1)[0] == name:
                return float(line.rsplit(" ", 1)[1])
        return 0.0


@asynccontextmanager
async def cluster(
    double: BotApiDouble,
    tmp_path: Path,
    ports: Callable[[], int],
    replicas: tuple[str, ...] = ("a", "b"),
    **env: str,
) -> AsyncIterator[Cluster]:
    problem = await postgres_problem()
    if problem:
        pytest.skip(problem)
    name, url = await create_database("factcheck_replicas")
    database = Database(url)
    await database.prepare(sample_data="no")
    sample = SAMPLE_PATH.read_bytes()
    await import_dataset(database.repository, lambda: io.BytesIO(sample), Actor.system())
    proxy = Proxy({name: ports() for name in replicas})
    proxy_port = ports()
    runner = web.AppRunner(web.Application())
    runner.app.router.add_post("/telegram", proxy.handle)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", proxy_port).start()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}

    def start(replica: str) -> None:
        port = proxy.ports[replica]
        logs[replica] = tmp_path / f"replica-{replica}-{len(logs)}.log"
        environment = bot_environment(
            double,
            tmp_path,
            DATABASE_URL=url,
            SAMPLE_DATA="auto",
            WEBHOOK_URL=f"http://127.0.0.1:{proxy_port}/telegram",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            ADMIN_IDS=str(ADMIN),
            SYNC_INTERVAL="0.2",
            LOG_FORMAT="json",
            **env,
        )
        processes[replica] = start_bot_process(environment, logs[replica])

    try:
        for replica in proxy.ports:
            start(replica)
        await _wait_healthy(proxy, processes, logs)
        yield Cluster(double, proxy, database, processes, logs, start)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
        await runner.cleanup()
        await database.close()
        await drop_database(name)


async def _wait_healthy(
    proxy: Proxy, processes: dict[str, Any], logs: dict[str, Path], only: str | None = None
) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        for replica, port in proxy.ports.items():
            if only is not None and replica != only:
                continue
            while True:
                if processes[replica].poll() is not None:
                    raise AssertionError(f"replica {replica} exited:\n{logs[replica].read_text()}")
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"replica {replica} never became healthy:\n{logs[replica].read_text()}"
                    )
                await asyncio.sleep(0.1)


async def test_an_edit_through_one_replica_is_matched_by_the_other(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    admin = bot_api.add_user(ADMIN, "Admin")
    admin_chat = bot_api.add_private_chat(admin)
    reader = bot_api.add_user(4300, "Reader")
    reader_chat = bot_api.add_private_chat(reader)
    async with cluster(bot_api, tmp_path, unused_tcp_port_factory) as running:
        propagation = await add_point_on_a_until_b_finds_it(
            running, (admin, admin_chat), (reader, reader_chat), within=2.0
        )
        print(f"edit seen by the other replica after {propagation:.2f}s")
        answered_by_b = await running.metric("b", 'factcheck_checks_total{outcome="confident"}')
    assert answered_by_b >= 1
    assert propagation < 2.0
    assert all(name == "a" for name, _ in running.proxy.forwarded[:1])


async def add_point_on_a_until_b_finds_it(
    running: Cluster,
    admin: tuple[User, Chat],
    reader: tuple[User, Chat],
    *,
    within: float,
) -> float:
    """A moderator adds a point through replica A; a user asks replica B about it until B
    answers with it. Returns the seconds from A's "Saved" to B's answer."""
    double = running.double
    running.proxy.targets = ["a"]
    double.user_sends(
        *admin, "/addpoint idlib-disputed-attack A zebra-striped ambulance convoy was shelled"
    )
    saved = (await double.wait_for_messages(admin[1], 1, timeout=15))[-1]
    assert "Saved (version 2)" in (saved.plain or "")
    saved_at = time.monotonic()
    running.proxy.targets = ["b"]
    seen = len(double.messages_to(reader[1]))
    while True:
        double.user_sends(*reader, "zebra-striped ambulance convoy shelled?")
        seen += 1
        replies = await double.wait_for_messages(reader[1], seen, timeout=15)
        if "zebra-striped ambulance convoy" in (replies[-1].plain or ""):
            return time.monotonic() - saved_at
        assert time.monotonic() - saved_at < within, "replica B did not see the edit in time"


async def test_an_update_delivered_twice_is_answered_once(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    users = [bot_api.add_user(4400 + n, f"U{n}") for n in range(5)]
    chats = [bot_api.add_private_chat(u) for u in users]
    async with cluster(bot_api, tmp_path, unused_tcp_port_factory) as running:
        running.proxy.targets = ["a", "b"]  # every update reaches both replicas
        for user, chat in zip(users, chats, strict=True):
            bot_api.user_sends(user, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        for chat in chats:
            await bot_api.wait_for_messages(chat, 1, timeout=15)
        await bot_api.wait_until_idle(quiet=1.0, timeout=15)
        skipped = await running.metric(
            "a", "factcheck_duplicate_updates_total"
        ) + await running.metric("b", "factcheck_duplicate_updates_total")
    for chat in chats:
        (reply,) = bot_api.messages_to(chat)
        assert "Idlib" in (reply.plain or "")
    assert skipped == len(users)


async def test_rate_limits_and_the_queue_are_shared(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    user = bot_api.add_user(4500, "Eager")
    chat = bot_api.add_private_chat(user)
    # Shared limits count per calendar minute: four checks that straddle a minute's turn
    # are two windows' worth. Start early in a minute so that the four share one.
    if time.time() % 60 > 40:
        await asyncio.sleep(61 - time.time() % 60)
    async with cluster(
        bot_api, tmp_path, unused_tcp_port_factory, CHECKS_PER_MINUTE="3"
    ) as running:
        for n in range(4):
            running.proxy.targets = ["a" if n % 2 == 0 else "b"]
            bot_api.user_sends(user, chat, "a dragon was seen over Lisbon")
            await bot_api.wait_for_messages(chat, n + 1, timeout=15)
        queue = await running.database.community.open_queue()
    texts = [m.plain or "" for m in bot_api.messages_to(chat)]
    assert ["no record" in t.lower() for t in texts] == [True, True, True, False]
    assert "faster than I can answer" in texts[3]
    (entry,) = queue
    assert entry.times_asked == 1  # the same person asking again is not counted twice


async def test_sigterm_mid_load_loses_and_duplicates_nothing(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    users = [bot_api.add_user(4600 + n, f"U{n}") for n in range(40)]
    chats = [bot_api.add_private_chat(u) for u in users]
    async with cluster(bot_api, tmp_path, unused_tcp_port_factory, replicas=("a",)) as running:
        # Slow replies keep updates in flight when the signal arrives.
        bot_api.delay_next("sendMessage", 0.5, times=len(users))
        for user, chat in zip(users, chats, strict=True):
            bot_api.user_sends(user, chat, "a dragon was seen over Lisbon")
        await bot_api.wait_for(lambda: len(bot_api.calls("sendMessage")) >= 3, timeout=15)
        running.processes["a"].terminate()
        # Wait in a thread: the double lives on this event loop and must keep answering.
        try:
            exit_code = await asyncio.to_thread(running.processes["a"].wait, 60)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "the replica did not stop:\n" + running.logs["a"].read_text()[-3000:]
            ) from None
        first_log = running.logs["a"]
        await running.restart("a")
        for chat in chats:
            await bot_api.wait_for_messages(chat, 1, timeout=30)
        await bot_api.wait_until_idle(quiet=1.0, timeout=30)
        messages = [line.get("message", "") for line in _json_lines(first_log)]
    assert exit_code == 0
    assert "stopping: no new updates; finishing the ones in progress" in messages
    stopped_at = messages.index("stopping: no new updates; finishing the ones in progress")
    # Updates in flight when the signal came were finished, not dropped.
    assert "update handled" in messages[stopped_at:]
    for log in (first_log, *running.logs.values()):
        assert bot_api.token not in log.read_text()
    for chat in chats:
        assert len(bot_api.messages_to(chat)) == 1


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return lines


async def test_a_form_started_on_one_replica_goes_on_at_the_other(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port_factory: Callable[[], int]
) -> None:
    admin = bot_api.add_user(ADMIN, "Admin")
    moderator = Moderator(bot_api, admin, bot_api.add_private_chat(admin))
    async with cluster(bot_api, tmp_path, unused_tcp_port_factory) as running:
        running.proxy.targets = ["a"]
        await moderator.send("/addpoint idlib-disputed-attack")
        running.proxy.targets = ["b"]
        confirmation = await moderator.send("Bakeries in the province closed for a week")
        assert "check and save" in (confirmation.plain or "")
        running.proxy.targets = ["a"]
        saved = await moderator.press("Save")
        stored = await running.database.repository.get_incident("idlib-disputed-attack")
    assert "Saved point #6" in (saved.plain or "")
    assert stored is not None
    assert [p.text for p in stored.points].count("Bakeries in the province closed for a week") == 1
    assert [name for name, _ in running.proxy.forwarded] == ["a", "b", "a"]
