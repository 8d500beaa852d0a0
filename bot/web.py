"""The bot's HTTP server: Telegram's updates in (webhook mode), public incident pages,
health and metrics out. It runs in webhook mode, and in polling mode when WEB_BASE_URL
gives it a public address.

Routes:
- POST <path of WEBHOOK_URL> (webhook mode): an update from Telegram; refused (403)
  without the secret header, so nobody else can feed the bot updates.
- GET /i/<incident id>[?lang=xx] (with WEB_BASE_URL): the incident's public page
  (`bot.pages`) in the reader's language; 404 for an unknown or deleted incident. The
  ETag is the incident's version and the language: a page is served again only after
  the incident changed.
- GET /healthz: 200 when the database answers, 503 when it does not.
- GET /metrics: Prometheus text format, to requests from this machine or, with METRICS_TOKEN
  set, to requests that bear it (403 otherwise).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from importlib import resources
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from telegram.ext import Application

from bot.desk.api import DeskApi
from bot.inbox import read_update
from bot.pages import STYLE, incident_page, not_found_page, page_language
from bot.services import Services

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 3.0
MAX_UPDATE_BYTES = 1024 * 1024
SHUTDOWN_SECONDS = 5.0


def webhook_path(webhook_url: str) -> str:
    return urlparse(webhook_url).path or "/"


PAGE_CACHE_SECONDS = 300
PAGE_HEADERS = {
    "Cache-Control": f"public, max-age={PAGE_CACHE_SECONDS}",
    "Vary": "Accept-Language",
    "X-Content-Type-Options": "nosniff",
    # Pages run no script (their JSON-LD is data) and are never framed.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
_INCIDENT_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_PAGE_REVISION = hashlib.blake2s(STYLE.encode()).hexdigest()[:8]


class WebServer:
    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        services: Services,
        *,
        path: str | None,
        secret: str,
        listen: str,
        port: int,
        metrics_token: str = "",
    ) -> None:
        self._application = application
        self._services = services
        self._secret = secret.encode()
        self._metrics_token = metrics_token.encode()
        self._listen = listen
        self._port = port
        self._accepting = True
        app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        if path is not None:
            app.router.add_post(path, self._receive)
        if services.settings.web_base_url:
            app.router.add_get("/i/{key}", self._incident_page)
            DeskApi(services).register(app, application.bot)
            app.router.add_get("/desk", self._desk_page)
            app.router.add_get("/desk/{name:(desk\\.js|desk\\.css)}", self._desk_asset)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        # A few seconds for requests in progress to finish when stopping; the updates they
        # carry are already written down, and Telegram retries any it did not get a 200 for.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self._listen, self._port).start()
        log.info("web server listening", extra={"listen": self._listen, "port": self._port})

    async def stop(self) -> None:
        """Stop taking updates; Telegram re-delivers anything refused now to a live replica."""
        self._accepting = False
        await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request without the right secret refused")
            return web.Response(status=403, text="forbidden")
        if not self._accepting:
            return web.Response(status=503, text="shutting down")
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        update = read_update(data, self._application.bot)
        if update is None:
            # Telegram would post it again and again; there is nothing to gain from that.
            log.warning("an update that could not be read is skipped")
            return web.Response(text="skipped")
        for new in await self._services.inbox.accept([(update, data)]):
            await self._application.update_queue.put(new)
        return web.Response(text="ok")

    async def _incident_page(self, request: web.Request) -> web.Response:
        settings = self._services.settings
        language = page_language(
            request.query.get("lang"),
            request.headers.get("Accept-Language", ""),
            settings.default_language,
        )
        key = request.match_info["key"]
        found = await self._services.checker.incidents([key]) if _INCIDENT_KEY.match(key) else {}
        incident = found.get(key)
        if incident is None:
            return web.Response(
                status=404,
                text=not_found_page(language),
                content_type="text/html",
                charset="utf-8",
                headers={**PAGE_HEADERS, "Cache-Control": "no-cache"},
            )
        etag = f'"{incident.version}-{language}-{_PAGE_REVISION}"'
        headers = {**PAGE_HEADERS, "ETag": etag, "Content-Language": language}
        if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            return web.Response(status=304, headers=headers)
        body = incident_page(
            incident, language, base=settings.web_base_url, publisher=settings.publisher_name
        )
        return web.Response(text=body, content_type="text/html", charset="utf-8", headers=headers)

    async def _desk_page(self, request: web.Request) -> web.Response:
        return _asset("desk.html")

    async def _desk_asset(self, request: web.Request) -> web.Response:
        return _asset(request.match_info["name"])

    async def _health(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                async with self._services.database.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as problem:
            log.warning("health check failed: %s", type(problem).__name__)
            return web.json_response({"status": "database unreachable"}, status=503)
        body: dict[str, Any] = {
            "status": "ok",
            "incidents": await self._services.checker.size(),
        }
        return web.json_response(body)

    def _may_read_metrics(self, request: web.Request) -> bool:
        """Metrics tell who uses the bot how much: with `METRICS_TOKEN` set, only a request
        bearing it reads them; without, only one from this machine (a local scraper, or a
        proxy that decides who may)."""
        if self._metrics_token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").encode()
            return hmac.compare_digest(given, self._metrics_token)
        return request.remote in ("127.0.0.1", "::1")

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self._may_read_metrics(request):
            return web.Response(status=403, text="forbidden")
        metrics = self._services.metrics
        checker = self._services.checker
        metrics.semantic_state(
            checker.semantic.value,
            checker.unembedded,
            checker.semantic_calls,
            checker.semantic_skipped,
        )
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                database = self._services.database
                metrics.queue_size.set(await database.community.queue_size())
                metrics.unfinished_updates.set(await database.inbox.unfinished())
        except Exception:
            log.warning("could not read the queue sizes for metrics", exc_info=True)
        return web.Response(
            body=generate_latest(metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )


_DESK_FILES = resources.files("bot.desk") / "static"
_DESK_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
_DESK_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # Telegram shows the desk in its own frame; scripts and styles only from this server.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors https://web.telegram.org https://*.telegram.org"
    ),
    "Referrer-Policy": "no-referrer",
}


def _asset(name: str) -> web.Response:
    """A file of the desk, shipped inside the package (no build step)."""
    suffix = name[name.rfind(".") :]
    body = (_DESK_FILES / name).read_text(encoding="utf-8")
    return web.Response(
        text=body, content_type=_DESK_TYPES[suffix], charset="utf-8", headers=_DESK_HEADERS
    )
