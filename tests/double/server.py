"""The HTTP side of the double: routing, fault injection, the call log and the wait helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
from aiohttp import web

from .methods import MAX_UPLOAD_BYTES, METHODS, canonical_method
from .models import Call, CallbackAnswer, InlineAnswer, JsonDict, Message, WebhookDelivery
from .params import Params, normalised, read_request
from .validation import ApiError, too_many_requests
from .world import DEFAULT_TOKEN, ChatRef, SimulatedTelegram, is_token_shaped

logger = logging.getLogger(__name__)

T = TypeVar("T")

_FAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class _Fault:
    method: str | None
    kind: Literal["fail", "delay", "drop"]
    times: int
    status: int = 429
    retry_after: int = 1
    description: str | None = None
    seconds: float = 0.0
    after_effect: bool = False

    def matches(self, method: str) -> bool:
        if self.method is None:
            # Failing the long poll by accident would stall every test, so opt in by name.
            return method != "getUpdates"
        return self.method == method

    def error(self) -> ApiError:
        if self.status == 429:
            error = too_many_requests(self.retry_after)
            if self.description:
                error.description = self.description
            return error
        description = self.description or _FAULT_DESCRIPTIONS.get(self.status)
        if description is None:
            try:
                description = HTTPStatus(self.status).phrase
            except ValueError:
                description = "Error"
        return ApiError(self.status, description)


class BotApiDouble(SimulatedTelegram):
    """A strict Telegram Bot API server on 127.0.0.1 for python-telegram-bot to talk to.

    Point PTB at it with ``base_url=double.base_url`` and ``base_file_url=double.base_file_url``.
    Drive it as users with the methods inherited from SimulatedTelegram, then inspect
    ``messages_to``, ``calls`` and the answers, or await one of the ``wait_*`` helpers.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "factcheck_test_bot",
        bot_name: str = "Factcheck Test Bot",
        privacy_mode: bool = True,
        supports_inline_queries: bool = True,
        can_join_groups: bool = True,
        host: str = "127.0.0.1",
        webhook_timeout: float = 5.0,
        webhook_connections: int = 1,
    ) -> None:
        super().__init__(
            token=token,
            bot_username=bot_username,
            bot_name=bot_name,
            privacy_mode=privacy_mode,
            supports_inline_queries=supports_inline_queries,
            can_join_groups=can_join_groups,
        )
        self.host = host
        self.webhook_timeout = webhook_timeout
        # Telegram posts up to the webhook's max_connections updates at once; 1 (the default
        # here) keeps deliveries strictly one after another, which most tests want.
        self.webhook_connections = webhook_connections
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.downloads: list[str] = []
        self.internal_errors: list[BaseException] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._busy = 0
        self._last_activity = 0.0
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_busy = 0
        self._webhook_failures = 0
        self._session: aiohttp.ClientSession | None = None

    # ----------------------------------------------------------------------------------------
    # Lifecycle

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the double is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the double is already running")
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]
        self._touch()
        if self.webhook is not None:
            self.on_webhook_changed()

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._port = None

    async def __aenter__(self) -> BotApiDouble:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def assert_no_internal_errors(self) -> None:
        """Fail loudly if the double itself crashed while answering (a bug, not Telegram)."""
        if self.internal_errors:
            raise AssertionError(
                f"the Bot API double failed internally: {self.internal_errors!r}"
            ) from self.internal_errors[0]

    # ----------------------------------------------------------------------------------------
    # Fault injection

    def fail_next(
        self,
        method: str | None,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error instead of serving them.

        429 carries ``parameters.retry_after`` like the real flood control. ``method=None``
        matches every method except getUpdates.
        """
        self._add_fault(
            _Fault(
                self._fault_method(method),
                "fail",
                times,
                status=status,
                retry_after=retry_after,
                description=description,
            )
        )

    def delay_next(self, method: str | None, seconds: float, *, times: int = 1) -> None:
        """Hold the next calls for ``seconds`` before serving them.

        The call still takes effect after the delay even when the client gave up, which is
        what makes a timed-out send on real Telegram a possible duplicate.
        """
        self._add_fault(_Fault(self._fault_method(method), "delay", times, seconds=seconds))

    def drop_next(self, method: str | None, *, times: int = 1, after_effect: bool = False) -> None:
        """Close the connection without answering.

        With ``after_effect=True`` the call is carried out first, so a message may exist
        although the client saw a network error.
        """
        self._add_fault(
            _Fault(self._fault_method(method), "drop", times, after_effect=after_effect)
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def pending_faults(self) -> int:
        return sum(fault.times for fault in self._faults)

    def _fault_method(self, method: str | None) -> str | None:
        if method is None:
            return None
        name = canonical_method(method)
        if name is None:
            raise ValueError(f"the double does not implement {method!r}")
        return name

    def _add_fault(self, fault: _Fault) -> None:
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ----------------------------------------------------------------------------------------
    # Observing

    def calls(self, method: str | None = None) -> list[Call]:
        """Every request received, in arrival order; ``method`` is case-insensitive."""
        if method is None:
            return list(self._calls)
        name = canonical_method(method) or method
        return [call for call in self._calls if call.method == name]

    def last_call(self, method: str) -> Call:
        calls = self.calls(method)
        if not calls:
            raise LookupError(f"no {method} call was received")
        return calls[-1]

    def clear_calls(self) -> None:
        self._calls.clear()

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str | None = None,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what or predicate!r}; "
                    f"{self._summary()}"
                )
            # Re-check now and then too: a predicate may depend on state outside the double.
            await self._wait_change(min(remaining, 0.05))

    async def wait_for_messages(
        self,
        chat: ChatRef,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Message]:
        """Wait until the bot has sent at least ``count`` messages to the chat; return them."""
        return await self.wait_for(
            lambda: messages if len(messages := self.messages_to(chat)) >= count else None,
            timeout=timeout,
            what=f"{count} message(s) to chat {chat}",
        )

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` have been answered; return them."""

        def answered() -> list[Call] | None:
            done = [c for c in self.calls(method) if c.status is not None or c.dropped]
            return done if len(done) >= count else None

        return await self.wait_for(answered, timeout=timeout, what=f"{count} {method} call(s)")

    async def wait_for_callback_answer(
        self,
        query: str | JsonDict,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        query_id = _query_id(query, "callback_query")
        answers = await self.wait_for(
            lambda: self.callback_answers(query_id),
            timeout=timeout,
            what=f"an answer to callback query {query_id}",
        )
        return answers[0]

    async def wait_for_inline_answer(
        self,
        query: str | JsonDict,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InlineAnswer:
        query_id = _query_id(query, "inline_query")
        answers = await self.wait_for(
            lambda: self.inline_answers(query_id),
            timeout=timeout,
            what=f"an answer to inline query {query_id}",
        )
        return answers[0]

    async def wait_until_idle(
        self,
        *,
        quiet: float = 0.15,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until every update was confirmed and the bot made no request for ``quiet`` s.

        A waiting long poll does not count as activity.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle = (
                not self._pending_updates
                and self._busy == 0
                and not self._webhook_busy
                and loop.time() - self._last_activity >= quiet
            )
            if idle:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"the bot did not go idle within {timeout}s; {self._summary()}")
            await asyncio.sleep(0.01)

    def _summary(self) -> str:
        recent = ", ".join(
            f"{c.method}->{c.status if not c.dropped else 'dropped'}" for c in self._calls[-8:]
        )
        return (
            f"{len(self._pending_updates)} update(s) unconfirmed, {self._busy} request(s) in "
            f"progress, last calls: [{recent}]"
        )

    def _touch(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._last_activity = asyncio.get_running_loop().time()

    # ----------------------------------------------------------------------------------------
    # HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        method = canonical_method(raw_method)
        call = Call(method or raw_method, {}, {}, time.time())
        self._calls.append(call)
        long_poll = method == "getUpdates"
        if not long_poll:
            self._busy += 1
        try:
            return await self._answer(request, call, token, method)
        except Exception as exc:
            # A crash here is a bug in the double; keep it visible instead of passing it off
            # as a Telegram outage.
            logger.exception("Bot API double failed on %s", call.method)
            self.internal_errors.append(exc)
            return self._error(call, ApiError(500, f"Internal Server Error: {exc!r}"))
        finally:
            if not long_poll:
                self._busy -= 1
            if not long_poll or (call.response and call.response.get("result")):
                self._touch()
            self._notify()

    async def _answer(
        self, request: web.Request, call: Call, token: str, method: str | None
    ) -> web.StreamResponse:
        parse_error: ApiError | None = None
        try:
            values, files = await read_request(request)
        except ApiError as exc:
            values, files, parse_error = {}, {}, exc
        except web.HTTPRequestEntityTooLarge:
            values, files, parse_error = {}, {}, ApiError(413, "Request Entity Too Large")
        except ValueError:
            values, files = {}, {}
            parse_error = ApiError(400, "Bad Request: can't parse request body")
        call.params = normalised(values)
        call.files = {name: (f.filename, len(f.data)) for name, f in files.items()}

        if token != self.token:
            if is_token_shaped(token):
                return self._error(call, ApiError(401, "Unauthorized"))
            return self._error(call, ApiError(404, "Not Found"))
        if method is None:
            # Real Telegram gives the same 404, which PTB reports as InvalidToken; the log line
            # saves a confusing hunt when a bot uses a method the double lacks.
            logger.warning("Bot API double: no method %r, answering 404", call.method)
            return self._error(call, ApiError(404, "Not Found"))
        if parse_error is not None:
            return self._error(call, parse_error)

        fault = self._take_fault(method)
        if fault is not None:
            if fault.kind == "fail":
                return self._error(call, fault.error())
            if fault.kind == "delay" and not await self._pause(fault.seconds):
                return self._drop(request, call)
            if fault.kind == "drop" and not fault.after_effect:
                return self._drop(request, call)

        _, handler = METHODS[method.lower()]
        try:
            result = await handler(self, Params(values, files))
        except ApiError as exc:
            return self._error(call, exc)
        if fault is not None and fault.kind == "drop":
            return self._drop(request, call)
        body: JsonDict = {"ok": True, "result": result}
        call.status, call.response = 200, body
        return web.json_response(body)

    def _error(self, call: Call, error: ApiError) -> web.Response:
        body = error.to_json()
        call.status, call.response = error.error_code, body
        return web.json_response(body, status=error.error_code)

    def _drop(self, request: web.Request, call: Call) -> web.Response:
        call.dropped = True
        if request.transport is not None:
            request.transport.close()
        # Nothing reaches the client: the transport is already closed.
        return web.Response(status=204)

    async def _pause(self, seconds: float) -> bool:
        """Sleep, but wake up early when the double shuts down; False if it did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return True
            await self._wait_change(remaining)
        return False

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").to_json(), status=401)
        file_path = request.match_info["file_path"]
        stored = self.stored_file_by_path(file_path)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").to_json(), status=404)
        self.downloads.append(file_path)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ----------------------------------------------------------------------------------------
    # Webhook delivery

    def on_webhook_changed(self) -> None:
        if self.webhook is None or self._runner is None:
            return
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(
                self._deliver_webhooks(), name="bot-api-double-webhook"
            )

    async def _deliver_webhooks(self) -> None:
        in_flight: dict[int, asyncio.Task[None]] = {}
        while not self._closing and self.webhook is not None:
            config = self.webhook
            limit = max(1, min(self.webhook_connections, config.max_connections))
            waiting = [u for u in self._pending_updates if u["update_id"] not in in_flight]
            if waiting and len(in_flight) < limit:
                update = waiting[0]
                in_flight[update["update_id"]] = asyncio.create_task(
                    self._deliver_one(config, update)
                )
                continue
            # Wake for a finished delivery, or for a new update while a connection is free.
            change = asyncio.ensure_future(self._wait_change(1.0))
            await asyncio.wait([change, *in_flight.values()], return_when=asyncio.FIRST_COMPLETED)
            change.cancel()
            for update_id in [i for i, task in in_flight.items() if task.done()]:
                in_flight.pop(update_id).result()
        for task in in_flight.values():
            task.cancel()

    async def _deliver_one(self, config: Any, update: JsonDict) -> None:
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token
        status, error = await self._post_update(config.url, update, headers)
        self.webhook_deliveries.append(
            WebhookDelivery(update["update_id"], config.url, headers, status, error)
        )
        self._touch()
        if error is None:
            if update in self._pending_updates:
                self._pending_updates.remove(update)
            self._webhook_failures = 0
        else:
            config.last_error_date = int(time.time())
            config.last_error_message = error
            self._webhook_failures += 1
            # Telegram retries with growing pauses; keep them short for tests.
            await self._pause(min(0.05 * 2**self._webhook_failures, 1.0))
        self._notify()

    async def _post_update(
        self, url: str, update: JsonDict, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._webhook_busy += 1
        try:
            async with self._session.post(
                url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return response.status, None
                return (
                    response.status,
                    f"Wrong response from the webhook: {response.status} {response.reason}",
                )
        except TimeoutError:
            return None, "Read timeout expired"
        except aiohttp.ClientError as exc:
            return None, f"Connection failed: {exc}"
        finally:
            self._webhook_busy -= 1


def _query_id(query: str | JsonDict, kind: str) -> str:
    if isinstance(query, str):
        return query
    payload: Any = query.get(kind, query)
    return str(payload["id"])
