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
from typing import Any, Final

from aiohttp import web
from telegram import Bot

from bot.desk.auth import InitDataError, verify_init_data
from bot.desk.housekeeping import Housekeeping
from bot.desk.http import (
    BOT_KEY,
    ROLE_KEY,
    USER_KEY,
    Handler,
    Route,
    actor_of,
    problem,
    read_json,
    user_of,
)
from bot.desk.strings import DESK_WORDS
from bot.handlers.moderation.access import role_of
from bot.i18n import pick_language, t
from bot.services import Services
from db.repository import ConflictError, NotFoundError, RepositoryError
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
from domain.model import IncidentView, Stance
from domain.moderation import InputError

log = logging.getLogger(__name__)

MAX_SOURCES: Final = 50
API: Final = "/desk/api"


class DeskApi:
    def __init__(self, services: Services) -> None:
        self.svc = services

    def register(self, app: web.Application, bot: Bot) -> None:
        app[BOT_KEY] = bot
        routes: list[Route] = [
            ("GET", "/me", self.me),
            ("GET", "/incidents", self.incidents),
            ("POST", "/incidents", self.create_incident),
            ("GET", "/incidents/{key}", self.incident),
            ("PUT", "/incidents/{key}", self.save_incident),
            ("POST", "/incidents/{key}/stance", self.set_stance),
            ("DELETE", "/incidents/{key}", self.delete_incident),
            ("GET", "/sources", self.sources),
            ("POST", "/sources", self.add_sources),
            *Housekeeping(self.svc).routes(),
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
            except InitDataError as refused:
                log.warning("desk request refused: %s", refused)
                return problem(401, str(refused))
            role = await role_of(self.svc, user.id)
            if role is None:
                log.warning("desk refused to a non-moderator", extra={"user": user.id})
                await self.svc.database.staff.record_refusal(user.id, f"desk {request.path}")
                return problem(403, "the desk is for moderators only")
            if request.method != "GET":
                if request.content_type != "application/json":
                    return problem(415, "send JSON")
                request_id = request.headers.get("X-Request-Id", "")
                if not 8 <= len(request_id) <= 100:
                    return problem(400, "every change needs an X-Request-Id")
                if not await self.svc.database.desk_requests.first_time(user.id, request_id):
                    log.warning("a desk request was sent again", extra={"user": user.id})
                    return problem(409, "this request was already made", replayed=True)
            request[USER_KEY] = user
            request[ROLE_KEY] = role
            return await handler(request)

        return guarded

    # --- reading ----------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        """Who is signed in, and the desk's words in their language: their /lang choice,
        else the language Telegram gives for them."""
        user = user_of(request)
        role = request[ROLE_KEY]
        chosen = await self.svc.language_choice(user.id)
        language = pick_language(user.language_code, chosen, self.svc.settings.default_language)
        words = {text: t(language, text) for text in DESK_WORDS}
        return web.json_response(
            {
                "id": user.id,
                "name": user.name,
                "role": role.value,
                "language": language,
                "words": {text: said for text, said in words.items() if said != text},
            }
        )

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
            return problem(404, "no such incident")
        helpful, not_helpful = await self.svc.database.community.feedback_counts(incident.key)
        feedback = {"helpful": helpful, "not_helpful": not_helpful}
        return web.json_response(_full(incident) | {"feedback": feedback})

    async def sources(self, request: web.Request) -> web.Response:
        sources = await self.svc.database.repository.list_sources()
        return web.json_response([source_to_json(s) for s in sources])

    # --- writing ----------------------------------------------------------------------------

    async def _save(
        self, request: web.Request, changed: IncidentView, expected: int | None
    ) -> web.Response:
        sources = {s.key for s in await self.svc.database.repository.list_sources()}
        problems = check_incident(changed, sources)
        if problems:
            return problem(422, "not saved", problems=[str(p) for p in problems[:20]])
        try:
            saved = await self.svc.database.repository.save_incident(
                changed, actor_of(request), expected_version=expected
            )
        except ConflictError as conflict:
            current = await self.svc.database.repository.get_incident(changed.key)
            return problem(
                409, str(conflict), current=_full(current) if current is not None else None
            )
        except RepositoryError as refused:
            return problem(422, str(refused))
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
        incident = await self._read_incident(await read_json(request))
        return await self._save(request, incident, None)

    async def save_incident(self, request: web.Request) -> web.Response:
        data = await read_json(request)
        incident = await self._read_incident(data)
        if incident.key != request.match_info["key"]:
            return problem(400, "the incident's id cannot change")
        version = data.get("version")
        if not isinstance(version, int):
            return problem(400, "say which version the change was made on")
        return await self._save(request, incident, version)

    async def set_stance(self, request: web.Request) -> web.Response:
        """One cell of the grid: an account's stance on a point."""
        data = await read_json(request)
        incident = await self.svc.database.repository.get_incident(request.match_info["key"])
        if incident is None:
            return problem(404, "no such incident")
        try:
            stance = Stance(str(data.get("stance")))
            changed = moderation.set_stance(
                incident,
                str(data.get("account")),
                str(data.get("point")),
                stance,
                str(data.get("note", ""))[:300],
            )
        except (ValueError, InputError) as refused:
            return problem(422, str(refused))
        version = data.get("version")
        if not isinstance(version, int):
            return problem(400, "say which version the change was made on")
        return await self._save(request, changed, version)

    async def add_sources(self, request: web.Request) -> web.Response:
        """New sources (or new versions of sources), checked as a dataset's are."""
        items = (await read_json(request)).get("sources")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_SOURCES:
            return problem(400, f"expected {{sources: [...]}}, 1 to {MAX_SOURCES}")
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
            return problem(422, "not saved", problems=problems[:20])
        await self.svc.database.repository.save_sources(sources, actor_of(request))
        return web.json_response({"saved": [s.name for s in sources]})

    async def delete_incident(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        try:
            await self.svc.database.repository.set_incident_deleted(key, True, actor_of(request))
        except NotFoundError:
            return problem(404, "no such incident")
        await self.svc.sync_index()
        return web.json_response({"deleted": key})


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
