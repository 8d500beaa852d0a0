"""Every update is written down before Telegram is told it arrived, and marked done once
handled.

Telegram forgets an update as soon as the bot confirms it (the next getUpdates, or a 200
answer to a webhook post). Writing it down first means that a process killed with updates
in hand handles them after its restart, or another replica does, instead of losing them;
and an update Telegram delivers twice finds its row already there and is answered once.

What remains is the moment between sending a reply and marking its update done: a process
killed exactly there answers that update again after the restart. Marking done before
replying would turn that into a lost update instead, which is worse for a user.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter
from telegram import Bot, Update

from db.repository import UpdateInbox

log = logging.getLogger(__name__)

# A replica that has not finished an update this long after taking it on is presumed dead
# and the update is taken over by another; no handler runs anywhere near this long.
LEASE = dt.timedelta(seconds=60)


class Inbox:
    def __init__(self, store: UpdateInbox, duplicates: Counter | None = None) -> None:
        self._store = store
        self._duplicates = duplicates
        self._finished: list[tuple[int, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def accept(self, updates: Sequence[tuple[Update, dict[str, Any]]]) -> list[Update]:
        """Write the updates down; returns those not delivered before, in order.

        When the database cannot take them, they are all returned all the same: handled
        without the safety net (a crash now would lose them, a duplicate would not be
        noticed), users still get an answer, or a plain "try again" from a handler that
        needs the database, instead of silence until it is back.
        """
        try:
            fresh = await self._store.accept(
                [(update.update_id, payload) for update, payload in updates]
            )
        except Exception as problem:
            log.warning("could not write %d update(s) down: %s", len(updates), problem)
            return [update for update, _ in updates]
        skipped = len(updates) - len(fresh)
        if skipped:
            log.info("%d update(s) delivered before were skipped", skipped)
            if self._duplicates is not None:
                self._duplicates.inc(skipped)
        return [update for update, _ in updates if update.update_id in fresh]

    async def finish(self, update_id: int) -> None:
        """Mark an update handled. Concurrent calls share one write (a group commit): the
        caller waits for the write that includes its update."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._finished.append((update_id, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_finished())
        await done

    async def _write_finished(self) -> None:
        try:
            while self._finished:
                batch, self._finished = self._finished, []
                try:
                    await self._store.finish(update_id for update_id, _ in batch)
                except Exception as problem:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(problem)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None

    async def take_over(self, bot: Bot, *, older_than: dt.timedelta) -> list[Update]:
        """Unfinished updates taken on longer ago than `older_than`, claimed for this process."""
        claimed_before = dt.datetime.now(dt.UTC) - older_than
        updates = []
        for update_id, payload in await self._store.take_over(claimed_before):
            try:
                update = Update.de_json(payload, bot)
            except (KeyError, TypeError, ValueError):
                log.warning("update %s could not be read back; marking it done", update_id)
                await self._store.finish([update_id])
                continue
            updates.append(update)
        if updates:
            log.info("taking over %d unfinished update(s)", len(updates))
        return updates
