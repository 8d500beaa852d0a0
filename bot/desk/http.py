"""What every desk handler shares: who is asking (set by the guard in `bot.desk.api`),
reading a JSON body within a size limit, and answering a problem as JSON."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web
from telegram import Bot

from bot.desk.auth import DeskUser
from db.repository import Actor
from domain.model import Role

MAX_BODY: Final = 512 * 1024
MAX_UPLOAD: Final = 20 * 1024 * 1024
"""A dataset file sent from the desk: as large as one a bot can receive in the chat."""
USER_KEY: Final = web.RequestKey("desk_user", DeskUser)
ROLE_KEY: Final = web.RequestKey("desk_role", Role)
BOT_KEY: Final = web.AppKey("bot", Bot)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]


def problem(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def user_of(request: web.Request) -> DeskUser:
    return request[USER_KEY]


def actor_of(request: web.Request) -> Actor:
    user = user_of(request)
    return Actor(user.id, user.name or str(user.id))


async def read_bytes(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    # `read(n)` gives what has arrived, up to n bytes: a body comes in several chunks.
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(limit + 1 - size):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
    return b"".join(parts)


async def read_json(request: web.Request) -> dict[str, Any]:
    raw = await read_bytes(request, MAX_BODY)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise web.HTTPBadRequest(text="not JSON") from error
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data
