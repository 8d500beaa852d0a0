"""The update inbox on both backends: each update taken once, unfinished ones handed back,
and never one that a live process is still working on."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import Bot, Update

from bot.inbox import MAX_ATTEMPTS, Inbox
from db.database import Database

BOT = Bot("123456:" + "A" * 35)


def _now(plus: float = 0.0) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=plus)


def _update(update_id: int) -> tuple[Update, dict[str, object]]:
    return Update(update_id), {"update_id": update_id}


async def test_each_update_is_taken_once_and_the_unfinished_are_handed_back(
    database: Database,
) -> None:
    store = database.inbox
    first = await store.record([(1, {"update_id": 1}), (2, {"update_id": 2})])
    again = await store.record([(2, {"update_id": 2}), (3, {"update_id": 3})], [1])
    assert first == {1, 2} and again == {3}  # a redelivered update is not taken twice
    assert await database.inbox.unfinished() == 2

    assert await store.take_over(_now(-60)) == []  # vouched for moments ago: someone has it
    await asyncio.sleep(0.01)
    before = _now()
    # Two processes looking at once: each unfinished update goes to exactly one of them.
    taken = await asyncio.gather(store.take_over(before), store.take_over(before))
    assert sorted(i for batch in taken for i, _, _ in batch) == [2, 3]
    by_id = {i: (payload, attempts) for batch in taken for i, payload, attempts in batch}
    assert by_id[3] == ({"update_id": 3}, 1)
    await store.record(finished=[2, 3])
    assert await database.inbox.unfinished() == 0
    assert await store.take_over(_now(5)) == []


async def test_an_update_posted_twice_at_once_is_taken_once(database: Database) -> None:
    inbox = Inbox(database.inbox)
    first, second = await asyncio.gather(inbox.accept([_update(77)]), inbox.accept([_update(77)]))
    assert len(first) + len(second) == 1
    await inbox.finish_soon(77)
    assert await database.inbox.unfinished() == 0


async def test_updates_in_hand_are_never_taken_over_but_those_of_a_dead_process_are(
    database: Database,
) -> None:
    alive, dead = Inbox(database.inbox), Inbox(database.inbox)
    await alive.accept([_update(10)])
    await dead.accept([_update(11)])
    lease = dt.timedelta(seconds=0.1)
    await asyncio.sleep(0.2)  # both claims are now older than the lease
    # The live process vouches again for what it holds; the dead one no longer can.
    taken = await alive.take_over(BOT, older_than=lease)
    assert [u.update_id for u in taken] == [11]
    again = await Inbox(database.inbox).take_over(BOT, older_than=lease)
    assert again == []  # 10 and 11 are both held, and vouched for, by the live process
    await alive.finish_soon(10)
    await alive.finish_soon(11)
    assert await database.inbox.unfinished() == 0


async def test_an_update_that_keeps_killing_its_process_is_given_up(database: Database) -> None:
    await Inbox(database.inbox).accept([_update(5)])
    restarts = []
    for _ in range(MAX_ATTEMPTS + 1):
        await asyncio.sleep(0.01)
        # Each time: a fresh process takes it over, then dies before finishing it.
        taken = await Inbox(database.inbox).take_over(BOT, older_than=dt.timedelta(0))
        restarts.append([u.update_id for u in taken])
    assert restarts == [[5]] * MAX_ATTEMPTS + [[]]
    assert await database.inbox.unfinished() == 0
