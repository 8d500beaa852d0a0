"""Getting replies through when Telegram is briefly unwell."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

import aiohttp
import httpx
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# The chat whose update this task is handling (set by bot.processing), if any.
replying_to: ContextVar[int | None] = ContextVar("replying_to", default=None)

Answer = bool | dict[str, Any] | list[dict[str, Any]]


class PatientRateLimiter(AIORateLimiter):
    """Telegram's flood limits (from AIORateLimiter), plus retries of server errors.

    A 5xx, a refused connection or a timeout before the request left (no free connection,
    no connection made) means it was not carried out, so it is tried again with a growing
    pause. A timeout after the request left is not retried: Telegram may still carry it
    out, and a reply delivered twice is worse than one that reports the failure. The chat
    is then held for `settle` seconds before the error goes up, so that the next reply in
    that chat (the chat's updates are handled one after another) cannot overtake a late
    delivery of this one.
    """

    def __init__(
        self,
        *,
        network_retries: int = 4,
        backoff: float = 0.5,
        settle: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._network_retries = network_retries
        self._backoff = backoff
        self._settle = settle

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Answer]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Answer:
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except NetworkError as error:  # TimedOut included
                if isinstance(error, TimedOut) and not _never_sent(error):
                    await self._hold_chat(endpoint, data)
                    raise
                if attempt == self._network_retries:
                    raise
                pause = self._backoff * 2**attempt
                log.warning("%s failed (%s); retrying in %.1fs", endpoint, error, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    async def _hold_chat(self, endpoint: str, data: dict[str, Any]) -> None:
        """After a send that may still arrive, keep the chat's next reply back a while.

        Only the chat whose update is being handled can be held (its updates wait for this
        one); a timed-out message to another chat is left to arrive when it will.
        """
        chat = data.get("chat_id")
        if self._settle <= 0 or chat is None or str(chat) != str(replying_to.get()):
            return
        log.warning(
            "%s got no answer in time; not repeated, as it may still arrive;"
            " holding this chat for %.1fs",
            endpoint,
            self._settle,
        )
        await asyncio.sleep(self._settle)


def _never_sent(error: TimedOut) -> bool:
    """Whether the request timed out before reaching Telegram at all."""
    return isinstance(
        error.__cause__,
        aiohttp.ConnectionTimeoutError | httpx.ConnectTimeout | httpx.PoolTimeout,
    )
