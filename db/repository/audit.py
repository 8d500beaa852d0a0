"""The audit trail and `/undo`.

Undo reverts a moderator's latest change exactly, or refuses with the reason: the check
that nobody changed the incident since, the revert and its own audit row are one
transaction with the incident's row locked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from db.models import (
    AuditEvent,
    Incident,
    IncidentChange,
    MatchPhrase,
    UnmatchedQuery,
    utcnow,
)
from db.repository._base import (
    Actor,
    ConflictError,
    NotFoundError,
    RepositoryError,
    Store,
    audit_event,
)
from db.repository.incidents import Repository
from domain.dataset import parse_incident
from domain.model import (
    QueueStatus,
)


class AuditTrail(Store):
    """Who changed what, newest first, and taking a moderator's latest change back."""

    def __init__(self, sessions: async_sessionmaker[Any], repository: Repository) -> None:
        super().__init__(sessions)
        self._repository = repository

    async def latest(
        self,
        limit: int = 20,
        *,
        user_id: int | None = None,
        action: str | None = None,
        refusals: bool = False,
    ) -> list[AuditEvent]:
        """The latest audit events, newest first; refused attempts only when asked for
        (by `refusals`, or `action="refused"`)."""
        query = select(AuditEvent)
        if user_id is not None:
            query = query.where(col(AuditEvent.actor_id) == user_id)
        if action is not None:
            query = query.where(col(AuditEvent.action) == action)
        elif not refusals:
            query = query.where(col(AuditEvent.action) != "refused")
        async with self.session() as session:
            ordered = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            return list((await session.execute(ordered.limit(limit))).scalars())

    async def undo_last(self, actor: Actor) -> AuditEvent | None:
        """Revert this moderator's latest change exactly, or refuse with the reason.

        The latest change of any kind counts: if it is one that cannot be reverted here
        (an edit of a source, a dismissal), that is said, rather than reaching past it to
        an older incident change. The check that nobody else changed the incident since,
        the revert and the mark that it was undone are one transaction, with the
        incident's row locked: another moderator's edit cannot slip in between.
        """
        repository = self._repository
        async with repository.session() as session, session.begin():
            undone = select(col(AuditEvent.entity_key)).where(
                col(AuditEvent.actor_id) == actor.user_id, col(AuditEvent.action) == "undo"
            )
            event: AuditEvent | None = (
                await session.execute(
                    select(AuditEvent)
                    .where(
                        col(AuditEvent.actor_id) == actor.user_id,
                        col(AuditEvent.action).not_in(_NOT_CHANGES),
                        cast(col(AuditEvent.id), String).not_in(undone),
                    )
                    .order_by(col(AuditEvent.id).desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if event is None:
                return None
            if event.entity != "incident" or event.action not in _UNDOABLE:
                raise RepositoryError(
                    f"your latest change ({event.action} of {event.entity} "
                    f"{event.entity_key}) is not one /undo can revert; change it back by hand"
                )
            key = event.entity_key
            locked = (
                await session.execute(
                    select(col(Incident.id)).where(col(Incident.key) == key).with_for_update()
                )
            ).first()
            if locked is None:
                raise NotFoundError("incident", key)
            later = (
                await session.execute(
                    select(col(AuditEvent.id)).where(
                        col(AuditEvent.id) > event.id,
                        col(AuditEvent.entity) == "incident",
                        col(AuditEvent.entity_key) == key,
                        col(AuditEvent.actor_id).is_distinct_from(actor.user_id),
                    )
                )
            ).first()
            if later is not None:
                # Reverting now would silently drop what someone else changed since.
                raise ConflictError("incident", key, 0, 0)
            # Reverts are audited as "revert", so a later undo never undoes an undo.
            if event.action in ("create", "restore"):
                await repository.set_deleted_in(session, key, True, actor, "revert")
            elif event.action == "delete":
                await repository.set_deleted_in(session, key, False, actor, "revert")
            elif event.action == "link":
                await self._unlink(session, event, actor)
            elif event.before is not None:
                sources = {s.key: s for s in await repository.list_sources(include_deleted=True)}
                previous = parse_incident(event.before, sources)
                current = await repository.incident_in(session, key, fresh=True)
                await repository.save_incidents(
                    [previous],
                    actor,
                    session,
                    expected_versions={key: current.version},
                    audit_action="revert",
                )
            session.add(audit_event(actor, "undo", "audit", str(event.id)))
        return event

    async def _unlink(self, session: AsyncSession, event: AuditEvent, actor: Actor) -> None:
        """Take back a link: the phrase it added goes, the claim returns to the queue."""
        before, after = event.before or {}, event.after or {}
        incident = (
            await session.execute(select(Incident).where(col(Incident.key) == event.entity_key))
        ).scalar_one()
        if before.get("phrase_added"):
            await session.execute(
                delete(MatchPhrase).where(
                    col(MatchPhrase.incident_id) == incident.id,
                    col(MatchPhrase.text) == str(after.get("phrase", "")),
                )
            )
        query = await session.get(UnmatchedQuery, int(after.get("query", 0)))
        if query is not None and query.status == QueueStatus.LINKED:
            query.status = QueueStatus.OPEN
            query.linked_incident_id = None
            query.resolved_by = None
            query.resolved_at = None
        incident.version += 1
        incident.updated_at = utcnow()
        session.add(IncidentChange(incident_key=event.entity_key, at=utcnow()))
        session.add(audit_event(actor, "revert", "incident", event.entity_key, after, before))


# Audit actions that are not changes a moderator made: never what /undo looks at.
_NOT_CHANGES = ("undo", "revert", "refused")
_UNDOABLE = frozenset({"create", "update", "delete", "restore", "link"})
