"""How updates are processed: concurrently across chats, in order within a chat.

Duplicates never get here: the inbox (bot/inbox.py) drops them on arrival, and each update
is marked done in it once handled.

Each update gets one structured log line with its kind, latency and outcome — never the
message text at INFO, which is the user's and not the operator's.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot import messages as msg
from bot.delivery import replying_to
from bot.i18n import t
from bot.markup import HTML
from bot.metrics import outcome
from bot.replies import send_html

log = logging.getLogger("bot.updates")

_MAX_CHAT_LOCKS = 10_000
_UNBOUNDED = 1 << 30
# Updates one chat may have waiting at once. Telegram lets a bot answer a group 20 times a
# minute: a backlog of 20 is a minute of answers, and anything past it would be answered
# too late to matter.
MAX_BACKLOG = 20


def _chat_key(update: object) -> int:
    if not isinstance(update, Update):
        return 0
    chat = update.effective_chat
    user = update.effective_user
    return chat.id if chat is not None else (user.id if user is not None else 0)


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
    """Up to `max_concurrent_updates` at once, but one at a time per chat (or user).

    An update first waits for its chat's turn, and only then for one of the shared slots:
    a busy chat's backlog (a group flooding the bot, each reply held by Telegram's
    20-a-minute group limit) waits outside the slots, so it never holds capacity another
    chat needs. A chat's backlog is capped at `max_backlog` updates; past that, updates are
    skipped (marked done, counted) and the chat is told so once.
    """

    def __init__(
        self, services: Any, max_concurrent_updates: int = 64, *, max_backlog: int = MAX_BACKLOG
    ) -> None:
        # PTB's own limit is taken before the update's chat is known; ours is taken after
        # the chat's turn has come (`do_process_update`), so PTB's is left wide open.
        super().__init__(_UNBOUNDED)
        self._services = services
        self._locks: OrderedDict[int, asyncio.Lock] = OrderedDict()
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._waiting: dict[int, int] = {}
        self._max_backlog = max_backlog
        self._told: set[int] = set()
        """Chats told that updates were skipped, until their backlog empties."""

    async def _skip(self, update: object, coroutine: Awaitable[Any], key: int) -> None:
        if inspect.iscoroutine(coroutine):
            coroutine.close()  # never to run: its update is given up
        svc = self._services
        svc.metrics.updates.labels(
            update_kind(update) if isinstance(update, Update) else "other", "skipped"
        ).inc()
        if isinstance(update, Update):
            svc.inbox.finish_soon(update.update_id)
            chat = update.effective_chat
            if chat is not None and key not in self._told:
                self._told.add(key)
                log.warning("chat backlog full: skipping its updates", extra={"chat": key})
                try:
                    language = svc.settings.default_language
                    await send_html(update.get_bot(), chat.id, HTML.text(t(language, msg.BACKLOG)))
                except Exception:
                    log.warning("could not say that updates were skipped", exc_info=True)

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
        key = _chat_key(update)
        if self._waiting.get(key, 0) >= self._max_backlog:
            await self._skip(update, coroutine, key)
            return
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with self._lock_for(key), self._slots:
                await self._handle(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._told.discard(key)

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        svc = self._services
        started = time.perf_counter()
        chat = update.effective_chat
        kind = update_kind(update)
        token = outcome.set("")
        replying_to.set(chat.id if chat is not None else None)
        result = "ok"
        try:
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
