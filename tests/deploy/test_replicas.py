"""Two bot processes in webhook mode on one PostgreSQL database, behind one address.

A small proxy in front of them plays the load balancer, so each test decides which replica
gets which update. Nothing held in only one process may make the replicas disagree.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.double import BotApiDouble
from tests.helpers.cluster import ADMIN, add_point_on_a_until_b_finds_it, cluster
from tests.helpers.running_bot import Moderator


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
