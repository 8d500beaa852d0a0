"""Two bot processes in webhook mode on one PostgreSQL database, behind a proxy that plays
the load balancer, so that a test decides which replica gets which update."""

from __future__ import annotations

import asyncio
import io
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
from tests.double import BotApiDouble, Chat, User
from tests.helpers.databases import create_database, drop_database, postgres_problem
from tests.helpers.running_bot import bot_environment, start_bot_process

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
