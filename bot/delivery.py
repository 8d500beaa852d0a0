"""Getting replies through when Telegram is briefly unwell."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

Answer = bool | dict[str, Any] | list[dict[str, Any]]


class PatientRateLimiter(AIORateLimiter):
    """Telegram's flood limits (from AIORateLimiter), plus retries of server errors.

    A 5xx or a refused connection means the request was not carried out, so it is tried
    again with a growing pause. A timeout is not retried: the message may have gone out,
    and a reply delivered twice is worse than one that reports the failure.
    """

    def __init__(self, *, network_retries: int = 4, backoff: float = 0.5, **options: Any) -> None:
        super().__init__(**options)
        self._network_retries = network_retries
        self._backoff = backoff

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
            except (BadRequest, TimedOut):
                raise
            except NetworkError as error:
                if attempt == self._network_retries or endpoint == "getUpdates":
                    raise
                pause = self._backoff * 2**attempt
                log.warning("%s failed (%s); retrying in %.1fs", endpoint, error, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")
