"""How updates are processed: concurrently across chats, in order within a chat.

Duplicates never get here: the inbox (bot/inbox.py) drops them on arrival, and each update
is marked done in it once handled.

Each update gets one structured log line with its kind, latency and outcome — never the
message text at INFO, which is the user's and not the operator's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.delivery import replying_to
from bot.metrics import outcome

log = logging.getLogger("bot.updates")

_MAX_CHAT_LOCKS = 10_000


def update_kind(update: Update) -> str:
    if update.inline_query:
        return "inline_query"
    if update.chosen_inline_result:
        return "chosen_inline_result"
    if update.callback_query:
        return "callback_query"
    message = update.effective_message
    if message is not None:
        if message.text and message.text.startswith("/"):
            return "command"
        if message.forward_origin is not None:
            return "forward"
        if message.document is not None:
            return "document"
        return "message"
    return "other"


class OrderedUpdateProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` at once, but one at a time per chat (or user)."""

    def __init__(self, services: Any, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._services = services
        self._locks: OrderedDict[int, asyncio.Lock] = OrderedDict()

    def _lock_for(self, key: int) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            # Forget idle chats so the table stays bounded.
            while len(self._locks) > _MAX_CHAT_LOCKS:
                oldest, old_lock = next(iter(self._locks.items()))
                if old_lock.locked():
                    break
                del self._locks[oldest]
        else:
            self._locks.move_to_end(key)
        return lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        svc = self._services
        started = time.perf_counter()
        chat = update.effective_chat
        user = update.effective_user
        key = chat.id if chat is not None else (user.id if user is not None else 0)
        kind = update_kind(update)
        token = outcome.set("")
        replying_to.set(chat.id if chat is not None else None)
        result = "ok"
        try:
            async with self._lock_for(key):
                await coroutine
        except Exception:
            result = "error"
            raise
        finally:
            # PTB hands handler exceptions to the error handler, which marks the outcome.
            if outcome.get() == "error":
                result = "error"
            elapsed = time.perf_counter() - started
            svc.metrics.latency.observe(elapsed)
            svc.metrics.updates.labels(kind, result).inc()
            log.info(
                "update handled",
                extra={
                    "update_id": update.update_id,
                    "kind": kind,
                    "latency_ms": round(elapsed * 1000, 1),
                    "result": result,
                    "outcome": outcome.get(),
                },
            )
            outcome.reset(token)
        # Handled, with an answer or an apology: it must not be handled again after a restart.
        svc.inbox.finish_soon(update.update_id)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
