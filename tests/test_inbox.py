"""The update inbox on both backends: each update taken once, unfinished ones handed back."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import Update

from bot.inbox import Inbox
from db.database import Database


async def test_the_update_inbox_takes_each_update_once_and_hands_back_the_unfinished(
    database: Database,
) -> None:
    inbox = database.inbox
    first = await inbox.accept([(1, {"update_id": 1}), (2, {"update_id": 2})])
    again = await inbox.accept([(2, {"update_id": 2}), (3, {"update_id": 3})])
    assert first == {1, 2} and again == {3}  # a redelivered update is not taken twice
    await inbox.finish([1])
    assert await inbox.unfinished() == 2

    just_now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    assert await inbox.take_over(just_now) == []  # claimed moments ago: someone is on it
    await asyncio.sleep(0.01)
    later = dt.datetime.now(dt.UTC)
    # Two processes looking at once: each unfinished update goes to exactly one of them.
    taken = await asyncio.gather(inbox.take_over(later), inbox.take_over(later))
    ids = sorted(update_id for batch in taken for update_id, _ in batch)
    assert ids == [2, 3]
    assert {update_id: payload for batch in taken for update_id, payload in batch}[3] == {
        "update_id": 3
    }
    await inbox.finish([2, 3])
    assert await inbox.unfinished() == 0
    assert await inbox.take_over(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)) == []


async def test_the_bots_inbox_answers_an_update_posted_twice_at_once_only_once(
    database: Database,
) -> None:
    inbox = Inbox(database.inbox)
    payload = {"update_id": 77, "message": None}
    update = Update(77)
    first, second = await asyncio.gather(
        inbox.accept([(update, payload)]), inbox.accept([(update, payload)])
    )
    assert len(first) + len(second) == 1
    await inbox.finish(77)
    assert await database.inbox.unfinished() == 0
