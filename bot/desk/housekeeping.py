"""The desk's work beside editing records: the queue of claims nobody could match, the
audit log and undo, the team (admins appoint moderators), and datasets in and out.

Each does what its chat command does, through the same calls: /queue, /link, /dismiss,
/audit, /undo, /mod, a dataset file sent to the bot (validated in full, then a preview of
what would change by id, then the import on a second request), /export.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

from aiohttp import web

from bot.desk.http import (
    BOT_KEY,
    MAX_UPLOAD,
    ROLE_KEY,
    Route,
    actor_of,
    problem,
    read_bytes,
    read_json,
)
from bot.notify import link_claim
from bot.services import Services
from db.datasets import ImportPlan, export_dataset, import_dataset, plan_import
from db.repository import NotFoundError, RepositoryError
from domain import dataset
from domain.dataset import DatasetInvalid
from domain.model import Role
from domain.moderation import InputError


class Housekeeping:
    def __init__(self, services: Services) -> None:
        self.svc = services

    def routes(self) -> list[Route]:
        return [
            ("GET", "/queue", self.queue),
            ("POST", "/queue/{id}/link", self.link),
            ("POST", "/queue/{id}/dismiss", self.dismiss),
            ("GET", "/audit", self.audit),
            ("POST", "/undo", self.undo),
            ("GET", "/moderators", self.moderators),
            ("POST", "/moderators", self.appoint),
            ("DELETE", "/moderators/{id}", self.remove_moderator),
            ("POST", "/import", self.import_file),
            ("GET", "/export", self.export),
        ]

    # --- the queue --------------------------------------------------------------------------

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

    async def link(self, request: web.Request) -> web.Response:
        data = await read_json(request)
        try:
            told = await link_claim(
                self.svc,
                request.app[BOT_KEY],
                int(request.match_info["id"]),
                str(data.get("incident", "")),
                actor_of(request),
            )
        except (NotFoundError, ValueError) as missing:
            return problem(404, str(missing))
        return web.json_response({"told": told})

    async def dismiss(self, request: web.Request) -> web.Response:
        await read_json(request)
        try:
            await self.svc.database.community.dismiss_query(
                int(request.match_info["id"]), actor_of(request)
            )
        except (NotFoundError, ValueError) as missing:
            return problem(404, str(missing))
        return web.json_response({"dismissed": True})

    # --- the audit log ----------------------------------------------------------------------

    async def audit(self, request: web.Request) -> web.Response:
        """The latest changes; `?action=`, `?user=` (a Telegram id) and `?refusals=1` filter."""
        try:
            limit = min(200, max(1, int(request.query.get("limit", "50"))))
            user = int(request.query["user"]) if request.query.get("user") else None
        except ValueError:
            return problem(400, "limit and user are numbers")
        events = await self.svc.database.audit.latest(
            limit,
            user_id=user,
            action=request.query.get("action") or None,
            refusals=request.query.get("refusals") == "1",
        )
        return web.json_response(
            [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "who": e.actor_label,
                    "user": e.actor_id,
                    "action": e.action,
                    "entity": e.entity,
                    "key": e.entity_key,
                }
                for e in events
            ]
        )

    async def undo(self, request: web.Request) -> web.Response:
        await read_json(request)
        try:
            event = await self.svc.database.audit.undo_last(actor_of(request))
        except (RepositoryError, InputError) as refused:
            return problem(409, str(refused))
        if event is None:
            return problem(404, "nothing of yours to undo")
        await self.svc.sync_index()
        return web.json_response({"undone": event.action, "key": event.entity_key})

    # --- the team ---------------------------------------------------------------------------

    async def moderators(self, request: web.Request) -> web.Response:
        team = await self.svc.database.staff.moderators()
        return web.json_response(
            {
                "admins": sorted(self.svc.settings.admin_ids),
                "moderators": [
                    {"id": m.telegram_user_id, "name": m.display_name, "role": m.role} for m in team
                ],
            }
        )

    async def appoint(self, request: web.Request) -> web.Response:
        if request[ROLE_KEY] is not Role.ADMIN:
            return problem(403, "only admins appoint moderators")
        data = await read_json(request)
        user_id = data.get("id")
        if not isinstance(user_id, int) or user_id <= 0:
            return problem(400, "a moderator is a Telegram user id (a number)")
        name = str(data.get("name", ""))[:200]
        added = await self.svc.database.staff.appoint(user_id, name, actor_of(request))
        return web.json_response({"appointed": user_id, "new": added})

    async def remove_moderator(self, request: web.Request) -> web.Response:
        if request[ROLE_KEY] is not Role.ADMIN:
            return problem(403, "only admins remove moderators")
        await read_json(request)
        try:
            user_id = int(request.match_info["id"])
        except ValueError:
            return problem(400, "a moderator is a Telegram user id (a number)")
        removed = await self.svc.database.staff.dismiss(user_id, actor_of(request))
        if not removed:
            return problem(404, "not a moderator")
        return web.json_response({"removed": user_id})

    # --- datasets ---------------------------------------------------------------------------

    async def import_file(self, request: web.Request) -> web.Response:
        """A dataset file as the body: with `?preview=1`, every problem or what importing it
        would change, by id; without, the import (incidents deleted or edited here since
        the export are left as they are unless `?all=1`)."""
        data = await read_bytes(request, MAX_UPLOAD)
        repository = self.svc.database.repository

        def opener() -> io.BytesIO:
            return io.BytesIO(data)

        report = await asyncio.to_thread(
            dataset.validate,
            opener,
            await repository.source_keys(),
            max_bytes=dataset.MAX_BYTES,
            existing_posts=await repository.post_owners(),
        )
        if not report.ok:
            return problem(422, "not imported", problems=report.describe().splitlines())
        plan = await plan_import(repository, opener)
        if request.query.get("preview") == "1":
            return web.json_response(_plan_json(plan) | {"summary": plan.describe()})
        leave = [] if request.query.get("all") == "1" else plan.held_back
        try:
            result = await import_dataset(
                repository, opener, actor_of(request), label="desk", leave=leave
            )
        except DatasetInvalid as invalid:
            return problem(422, "not imported", problems=invalid.report.describe().splitlines())
        await self.svc.sync_index()
        return web.json_response({"imported": result.describe(), "left": leave})

    async def export(self, request: web.Request) -> web.Response:
        out = io.StringIO()
        await export_dataset(self.svc.database.repository, out)
        return web.Response(
            text=out.getvalue(),
            content_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="factcheck-dataset.json"'},
        )


def _plan_json(plan: ImportPlan) -> dict[str, Any]:
    return {
        "new": plan.new,
        "changed": plan.changed,
        "restored": plan.restored,
        "unchanged": len(plan.unchanged),
        "newer_here": plan.newer_here,
    }
