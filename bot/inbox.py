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
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import Counter
from telegram import Bot, Update

from bot.batches import Batcher
from db.repository import UpdateInbox

log = logging.getLogger(__name__)

# A replica that has not finished an update this long after taking it on is presumed dead
# and the update is taken over by another; no handler runs anywhere near this long.
LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 3


# An update that arrived (with its payload), or one that was handled (no payload).
_Entry = tuple[int, dict[str, Any] | None]


class Inbox:
    """Arrivals and finished updates go to the database together, through one batch
    writer: one transaction for everything that piled up meanwhile (a group commit)."""

    def __init__(self, store: UpdateInbox, duplicates: Counter | None = None) -> None:
        self._store = store
        self._duplicates = duplicates
        self._writer: Batcher[_Entry, bool] = Batcher(self._write)
        # Accepted or taken over here and not finished yet: renewed, never taken over.
        self._in_hand: set[int] = set()

    async def accept(self, updates: Sequence[tuple[Update, dict[str, Any]]]) -> list[Update]:
        """Write the updates down; returns those not delivered before, in order.

        When the database cannot take them, they are all returned all the same: handled
        without the safety net (a crash now would lose them, a duplicate would not be
        noticed), users still get an answer, or a plain "try again" from a handler that
        needs the database, instead of silence until it is back.
        """
        waiting = [self._writer.submit((update.update_id, payload)) for update, payload in updates]
        results = await asyncio.gather(*waiting, return_exceptions=True)
        problems = [r for r in results if isinstance(r, BaseException)]
        if problems:
            log.warning("could not write %d update(s) down: %s", len(updates), problems[0])
            return [update for update, _ in updates]
        fresh = [bool(r) for r in results]
        self._in_hand.update(u.update_id for (u, _), new in zip(updates, fresh, strict=True) if new)
        skipped = fresh.count(False)
        if skipped:
            log.info("%d update(s) delivered before were skipped", skipped)
            if self._duplicates is not None:
                self._duplicates.inc(skipped)
        return [update for (update, _), new in zip(updates, fresh, strict=True) if new]

    def finish_soon(self, update_id: int) -> asyncio.Future[bool]:
        """Mark an update handled with the next write, without waiting for it: the reply
        has gone out already, so waiting would only keep the update's slot busy."""
        done = self._writer.submit((update_id, None))
        done.add_done_callback(lambda _: self._in_hand.discard(update_id))
        done.add_done_callback(_log_failure(update_id))
        return done

    async def drain(self) -> None:
        """Wait until everything handed to the writer is written (or has failed)."""
        await self._writer.close()

    async def _write(self, entries: Sequence[_Entry]) -> list[bool]:
        arrived = {update_id: payload for update_id, payload in entries if payload is not None}
        finished = [update_id for update_id, payload in entries if payload is None]
        fresh = await self._store.record(list(arrived.items()), finished)
        results = []
        for update_id, payload in entries:
            if payload is None:
                results.append(True)
            else:
                # The same update twice in one batch (two webhook posts at once) is new
                # only the first time.
                results.append(update_id in fresh)
                fresh.discard(update_id)
        return results

    async def take_over(self, bot: Bot, *, older_than: dt.timedelta) -> list[Update]:
        """Vouch again for the updates in hand here, then claim every unfinished update
        left unvouched for longer than `older_than` (by a process that died, or by this
        one before a restart)."""
        await self._store.renew(self._in_hand)
        claimed_before = dt.datetime.now(dt.UTC) - older_than
        updates: list[Update] = []
        given_up: list[int] = []
        while True:
            batch = await self._store.take_over(claimed_before)
            for update_id, payload, attempts in batch:
                update = self._revive(update_id, payload, bot)
                if attempts > MAX_ATTEMPTS:
                    # Each time it was taken over, its process died with it in hand.
                    log.error(
                        "update %s was taken over %d times without finishing; giving it up",
                        update_id,
                        attempts - 1,
                    )
                    update = None
                if update is None:
                    given_up.append(update_id)
                elif update_id not in self._in_hand:
                    self._in_hand.add(update_id)
                    updates.append(update)
            if not batch:
                break
        if given_up:
            await self._store.record(finished=given_up)
        if updates:
            log.info("taking over %d unfinished update(s)", len(updates))
        return updates

    @staticmethod
    def _revive(update_id: int, payload: dict[str, Any], bot: Bot) -> Update | None:
        update = read_update(payload, bot)
        if update is None:
            log.warning("update %s could not be read back; marking it done", update_id)
        return update


def read_update(payload: Any, bot: Bot) -> Update | None:
    """The update in a payload as Telegram sent it, or None if it cannot be read (a
    payload from outside: anything may fail in parsing it)."""
    try:
        update = Update.de_json(payload, bot)
    except Exception:
        return None
    return update if isinstance(update.update_id, int) else None


def _log_failure(update_id: int) -> Callable[[asyncio.Future[bool]], None]:
    def check(done: asyncio.Future[bool]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.warning("could not mark update %s done: %s", update_id, done.exception())

    return check
