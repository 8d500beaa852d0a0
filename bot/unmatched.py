"""Unmatched claims queued for moderators in batches, one transaction per batch.

A transaction per claim made concurrent checks queue up on the database's write lock (on
SQLite, behind a busy handler that sleeps and starves waiters). Here claims that arrive
while a batch is being written go together into the next one, so there is one writer and
no timer: a claim alone is written at once, and a busy bot writes bigger batches.

Each caller waits until its claim is committed, so the reply that follows (with its
follow-up button, which needs the id) is sent only for a claim that is really queued,
and a graceful shutdown, which lets in-flight updates finish, loses none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from db.repository import UnmatchedClaim

log = logging.getLogger(__name__)

MAX_BATCH = 256

Writer = Callable[[Sequence[UnmatchedClaim]], Awaitable[list[int]]]


class UnmatchedWriter:
    def __init__(self, write: Writer, max_batch: int = MAX_BATCH) -> None:
        self._write = write
        self._max_batch = max_batch
        self._waiting: list[tuple[UnmatchedClaim, asyncio.Future[int]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def record(self, claim: UnmatchedClaim) -> int:
        """Queue the claim; its query id once it is committed."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((claim, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="unmatched-writer")
        # Shielded: a caller that gives up must not cancel the batch other callers wait on.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                ids = await self._write([claim for claim, _ in batch])
            except Exception as problem:
                # The batch is one transaction: nothing of it was written, and every caller
                # hears so (and apologises to its user).
                for _, future in batch:
                    if not future.done():
                        future.set_exception(problem)
                continue
            self.batches += 1
            for (_, future), query_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(query_id)

    async def close(self) -> None:
        """Finish writing whatever is queued."""
        if self._task is not None:
            await self._task
            self._task = None
