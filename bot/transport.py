"""Bot API requests over aiohttp instead of python-telegram-bot's default httpx.

Requests without files go as one JSON document, as the Bot API accepts them.

Under load most of the bot's own time went into httpx/httpcore: its connection pool
scans every connection per request. aiohttp (already used for the webhook server) does
the same work at a fraction of the cost. Behaviour towards the rate limiter is kept:
a timeout is `TimedOut` (not retried: the message may have gone out), any other
transport failure is `NetworkError` (retried), exactly as with httpx.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

Timeout = float | None
_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        *,
        connection_pool_size: int = 1,
        read_timeout: Timeout = 5.0,
        write_timeout: Timeout = 5.0,
        connect_timeout: Timeout = 5.0,
        pool_timeout: Timeout = 1.0,
        media_write_timeout: Timeout = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # The Bot API answers JSON whatever the status; nothing to raise on here.
                raise_for_status=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        read = self._read_timeout if _default(read_timeout) else read_timeout
        connect = self._connect_timeout if _default(connect_timeout) else connect_timeout
        pool = self._pool_timeout if _default(pool_timeout) else pool_timeout
        write = write_timeout
        if _default(write):
            write = self._media_write_timeout if files else self._write_timeout
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if request_data is not None and not files:
            # One JSON document: cheaper to build than a urlencoded form of JSON strings.
            body = json.dumps(request_data.parameters).encode()
            headers = _JSON
        elif request_data is not None and files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, part in files.items():
                if isinstance(part, tuple):
                    filename, content, *rest = part
                    content_type = rest[0] if rest else None
                    form.add_field(name, content, filename=filename, content_type=content_type)
                else:
                    form.add_field(name, part)
            body = form
        # aiohttp has no separate write timeout: sending counts towards the whole request,
        # which gets the longer of the two phases' limits.
        total = None if read is None or write is None else max(read, write) + (connect or 0)
        timeout = aiohttp.ClientTimeout(
            total=total, sock_connect=connect, sock_read=read, connect=_add(pool, connect)
        )
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except (aiohttp.ClientError, OSError) as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _default(value: object) -> bool:
    return isinstance(value, type(BaseRequest.DEFAULT_NONE))


def _add(a: Timeout, b: Timeout) -> Timeout:
    # aiohttp's `connect` covers waiting for a free connection and connecting.
    return None if a is None or b is None else a + b
