"""Database work gathered into batches, one transaction per batch, by a single task.

A transaction per item made concurrent updates queue up on the database's write lock (on
SQLite, behind a busy handler that sleeps and starves waiters). Here items that arrive
while a batch is being written go together into the next one, so there is one writer and
no timer: an item alone is written at once, and a busy bot writes bigger batches.

Used for the claims queued for moderators (each check waits until its claim is committed,
so the reply that follows, with its follow-up button, is sent only for a claim that is
really queued), for the update inbox (bot/inbox.py), and to look up the language of
users not seen before (a restart under load meets hundreds of them a second).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

MAX_BATCH = 256

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """`run` takes a batch and returns one result per item, in order; if it raises,
    nothing of the batch was written and every item's caller gets the error."""

    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, item: Item) -> asyncio.Future[Result]:
        """Hand the item over; the future holds its result once its batch is done."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="batch-writer")
        return future

    async def call(self, item: Item) -> Result:
        """The item's result, once the batch it went with is done (committed)."""
        # Shielded: a caller that gives up must not cancel the batch other callers wait on.
        return await asyncio.shield(self.submit(item))

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                results = await self._run([item for item, _ in batch])
            except Exception as problem:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(problem)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Finish writing whatever is queued (or failing it)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
