"""Getting replies through when Telegram is briefly unwell."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

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
            except TimedOut as error:
                if endpoint == "getUpdates":
                    raise
                if not _never_sent(error) or attempt == self._network_retries:
                    if "chat_id" in data and self._settle > 0:
                        log.warning(
                            "%s got no answer in time; not repeated, as it may still arrive;"
                            " holding this chat for %.1fs",
                            endpoint,
                            self._settle,
                        )
                        await asyncio.sleep(self._settle)
                    raise
                pause = self._backoff * 2**attempt
                log.warning("%s could not be sent (%s); retrying in %.1fs", endpoint, error, pause)
                await asyncio.sleep(pause)
            except NetworkError as error:
                if attempt == self._network_retries or endpoint == "getUpdates":
                    raise
                pause = self._backoff * 2**attempt
                log.warning("%s failed (%s); retrying in %.1fs", endpoint, error, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")


def _never_sent(error: TimedOut) -> bool:
    """Whether the request timed out before reaching Telegram at all."""
    return isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
