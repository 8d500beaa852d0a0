"""The desk's JSON API, under /desk/api/. Every request bears Telegram's init data
(`bot.desk.auth`); only admins and moderators get past it — anyone else gets 403 and an
audit entry, as in the chat. Every write names the version it was made on (a stale one
is 409, with the current record), goes through the same checks as an imported dataset
(422 with every problem), is saved in one transaction with its audit event, and reaches
the match index through the change log before the answer returns.

Incidents travel in the dataset format (docs/dataset.md): the page edits that JSON and
sends it back whole, so every field the format has — points, accounts, figures as given,
stances, translations, media — is editable, and nothing is lost on the way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web
from telegram import Bot

from bot.desk.auth import DeskUser, InitDataError, Replays, verify_init_data
from bot.handlers.moderation.access import role_of
from bot.notify import link_claim
from bot.services import Services
from db.repository import Actor, ConflictError, NotFoundError, RepositoryError
from domain import moderation
from domain.dataset import (
    check_incident,
    check_incident_json,
    check_source,
    incident_to_json,
    parse_incident,
    parse_source,
    source_to_json,
)
from domain.model import IncidentView, Role, Stance
from domain.moderation import InputError

log = logging.getLogger(__name__)

MAX_BODY: Final = 512 * 1024
MAX_SOURCES: Final = 50
API: Final = "/desk/api"
USER_KEY: Final = web.RequestKey("desk_user", DeskUser)
ROLE_KEY: Final = web.RequestKey("desk_role", Role)
BOT_KEY: Final = web.AppKey("bot", Bot)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _problem(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class DeskApi:
    def __init__(self, services: Services) -> None:
        self.svc = services
        self.replays = Replays(ttl=services.settings.init_data_max_age)

    def register(self, app: web.Application, bot: Bot) -> None:
        app[BOT_KEY] = bot
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/me", self.me),
            ("GET", "/incidents", self.incidents),
            ("POST", "/incidents", self.create_incident),
            ("GET", "/incidents/{key}", self.incident),
            ("PUT", "/incidents/{key}", self.save_incident),
            ("POST", "/incidents/{key}/stance", self.set_stance),
            ("DELETE", "/incidents/{key}", self.delete_incident),
            ("GET", "/sources", self.sources),
            ("POST", "/sources", self.add_sources),
            ("GET", "/queue", self.queue),
            ("POST", "/queue/{id}/link", self.link),
            ("POST", "/queue/{id}/dismiss", self.dismiss),
            ("GET", "/audit", self.audit),
            ("POST", "/undo", self.undo),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API + path, self._guarded(handler))

    # --- who is asking -----------------------------------------------------------------------

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            settings = self.svc.settings
            header = request.headers.get("Authorization", "")
            try:
                if not header.startswith("tma "):
                    raise InitDataError("no init data: open the desk from the bot")
                user = verify_init_data(
                    header[4:],
                    settings.telegram_bot_token,
                    max_age=settings.init_data_max_age,
                )
            except InitDataError as problem:
                log.warning("desk request refused: %s", problem)
                return _problem(401, str(problem))
            role = await role_of(self.svc, user.id)
            if role is None:
                log.warning("desk refused to a non-moderator", extra={"user": user.id})
                await self.svc.database.staff.record_refusal(user.id, f"desk {request.path}")
                return _problem(403, "the desk is for moderators only")
            if request.method != "GET":
                if request.content_type != "application/json":
                    return _problem(415, "send JSON")
                request_id = request.headers.get("X-Request-Id", "")
                if not 8 <= len(request_id) <= 100:
                    return _problem(400, "every change needs an X-Request-Id")
                if not self.replays.first_time(user.id, request_id):
                    log.warning("a desk request was sent again", extra={"user": user.id})
                    return _problem(409, "this request was already made", replayed=True)
            request[USER_KEY] = user
            request[ROLE_KEY] = role
            return await handler(request)

        return guarded

    @staticmethod
    def user(request: web.Request) -> DeskUser:
        return request[USER_KEY]

    def actor(self, request: web.Request) -> Actor:
        user = self.user(request)
        return Actor(user.id, user.name or str(user.id))

    @staticmethod
    async def body(request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY, actual_size=request.content_length
            )
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise web.HTTPBadRequest(text="not JSON") from error
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return data

    # --- reading ----------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        user = self.user(request)
        role = request[ROLE_KEY]
        return web.json_response({"id": user.id, "name": user.name, "role": role.value})

    async def incidents(self, request: web.Request) -> web.Response:
        """The most recently changed incidents, or those the search (the matcher itself,
        as a user's claim would be matched) finds."""
        query = request.query.get("q", "").strip()[:500]
        if query:
            match = await self.svc.checker.match(query)
            keys = [c.incident_key for c in match.candidates]
        else:
            keys = [key for key, _title in await self.svc.database.repository.recent_incidents(50)]
        found = await self.svc.checker.incidents(keys)
        return web.json_response([_summary(found[key]) for key in keys if key in found])

    async def incident(self, request: web.Request) -> web.Response:
        incident = await self.svc.database.repository.get_incident(request.match_info["key"])
        if incident is None:
            return _problem(404, "no such incident")
        return web.json_response(_full(incident))

    async def sources(self, request: web.Request) -> web.Response:
        sources = await self.svc.database.repository.list_sources()
        return web.json_response([source_to_json(s) for s in sources])

    async def queue(self, request: web.Request) -> web.Response:
        entries = await self.svc.database.community.open_queue(limit=100)
        return web.json_response(
            [
                {
                    "id": e.id,
                    "text": e.sample_text,
                    "times_asked": e.times_asked,
                    "waiting": e.waiting,
                    "judged_wrong": e.judged_wrong,
                }
                for e in entries
            ]
        )

    async def audit(self, request: web.Request) -> web.Response:
        limit = min(200, max(1, int(request.query.get("limit", "50") or 50)))
        action = request.query.get("action") or None
        events = await self.svc.database.audit.latest(limit, action=action)
        return web.json_response(
            [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "who": e.actor_label,
                    "action": e.action,
                    "entity": e.entity,
                    "key": e.entity_key,
                }
                for e in events
            ]
        )

    # --- writing ----------------------------------------------------------------------------

    async def _save(
        self, request: web.Request, changed: IncidentView, expected: int | None
    ) -> web.Response:
        sources = {s.key for s in await self.svc.database.repository.list_sources()}
        problems = check_incident(changed, sources)
        if problems:
            return _problem(422, "not saved", problems=[str(p) for p in problems[:20]])
        try:
            saved = await self.svc.database.repository.save_incident(
                changed, self.actor(request), expected_version=expected
            )
        except ConflictError as conflict:
            current = await self.svc.database.repository.get_incident(changed.key)
            return _problem(
                409, str(conflict), current=_full(current) if current is not None else None
            )
        except RepositoryError as problem:
            return _problem(422, str(problem))
        await self.svc.sync_index()
        return web.json_response(_full(saved))

    async def _read_incident(self, data: dict[str, Any]) -> IncidentView:
        sources = {s.key: s for s in await self.svc.database.repository.list_sources()}
        raw = data.get("incident")
        if not isinstance(raw, dict):
            raise web.HTTPBadRequest(text="expected {incident: …}")
        problems = [str(p) for p in check_incident_json(raw, sources)]
        if not problems:
            try:
                return parse_incident(raw, sources)
            except (KeyError, TypeError, ValueError) as error:
                problems = [f"incident: {error}"]
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": "not saved", "problems": problems[:20]}),
            content_type="application/json",
        )

    async def create_incident(self, request: web.Request) -> web.Response:
        incident = await self._read_incident(await self.body(request))
        return await self._save(request, incident, None)

    async def save_incident(self, request: web.Request) -> web.Response:
        data = await self.body(request)
        incident = await self._read_incident(data)
        if incident.key != request.match_info["key"]:
            return _problem(400, "the incident's id cannot change")
        version = data.get("version")
        if not isinstance(version, int):
            return _problem(400, "say which version the change was made on")
        return await self._save(request, incident, version)

    async def set_stance(self, request: web.Request) -> web.Response:
        """One cell of the grid: an account's stance on a point."""
        data = await self.body(request)
        incident = await self.svc.database.repository.get_incident(request.match_info["key"])
        if incident is None:
            return _problem(404, "no such incident")
        try:
            stance = Stance(str(data.get("stance")))
            changed = moderation.set_stance(
                incident,
                str(data.get("account")),
                str(data.get("point")),
                stance,
                str(data.get("note", ""))[:300],
            )
        except (ValueError, InputError) as problem:
            return _problem(422, str(problem))
        version = data.get("version")
        if not isinstance(version, int):
            return _problem(400, "say which version the change was made on")
        return await self._save(request, changed, version)

    async def add_sources(self, request: web.Request) -> web.Response:
        """New sources (or new versions of sources), checked as a dataset's are."""
        items = (await self.body(request)).get("sources")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_SOURCES:
            return _problem(400, f"expected {{sources: [...]}}, 1 to {MAX_SOURCES}")
        sources = []
        problems: list[str] = []
        for n, item in enumerate(items):
            try:
                source = parse_source(item)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                problems.append(f"sources[{n}]: {error}")
                continue
            problems += [f"sources[{n}] {p}" for p in check_source(source)]
            sources.append(source)
        if problems:
            return _problem(422, "not saved", problems=problems[:20])
        await self.svc.database.repository.save_sources(sources, self.actor(request))
        return web.json_response({"saved": [s.name for s in sources]})

    async def delete_incident(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        try:
            await self.svc.database.repository.set_incident_deleted(key, True, self.actor(request))
        except NotFoundError:
            return _problem(404, "no such incident")
        await self.svc.sync_index()
        return web.json_response({"deleted": key})

    async def link(self, request: web.Request) -> web.Response:
        data = await self.body(request)
        try:
            told = await link_claim(
                self.svc,
                request.app[BOT_KEY],
                int(request.match_info["id"]),
                str(data.get("incident", "")),
                self.actor(request),
            )
        except (NotFoundError, ValueError) as problem:
            return _problem(404, str(problem))
        return web.json_response({"told": told})

    async def dismiss(self, request: web.Request) -> web.Response:
        await self.body(request)
        try:
            await self.svc.database.community.dismiss_query(
                int(request.match_info["id"]), self.actor(request)
            )
        except (NotFoundError, ValueError) as problem:
            return _problem(404, str(problem))
        return web.json_response({"dismissed": True})

    async def undo(self, request: web.Request) -> web.Response:
        await self.body(request)
        try:
            event = await self.svc.database.audit.undo_last(self.actor(request))
        except (RepositoryError, InputError) as problem:
            return _problem(409, str(problem))
        if event is None:
            return _problem(404, "nothing of yours to undo")
        await self.svc.sync_index()
        return web.json_response({"undone": event.action, "key": event.entity_key})


def _summary(incident: IncidentView) -> dict[str, Any]:
    return {
        "id": incident.key,
        "title": incident.title,
        "place": incident.place,
        "date": incident.date_start.isoformat() if incident.date_start else None,
        "status": incident.status.value,
        "version": incident.version,
        "accounts": len(incident.accounts),
        "points": len(incident.points),
    }


def _full(incident: IncidentView) -> dict[str, Any]:
    return {"version": incident.version, "incident": incident_to_json(incident)}
