"""Incidents and the sources they cite: reads, whole-record writes, soft deletion.

Every write bumps the incident's version (optimistic locking: a stale edit is refused
with ConflictError) and appends to the change log (`IncidentChange`) in the same
transaction, which is how every replica, this one included, learns what to re-index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.models import (
    Incident,
    IncidentChange,
    KnownMediaRecord,
    KnownPostRecord,
    utcnow,
)
from db.repository._base import (
    Actor,
    ConflictError,
    NotFoundError,
    RepositoryError,
    SaveOutcome,
    audit_event,
    rows_affected,
)
from db.repository.mapping import (
    assemble,
    delete_children,
    incident_values,
    insert_children,
    media_view,
    source_ids_of,
)
from db.repository.sources import SourceRecords
from domain.dataset import incident_to_json
from domain.model import IncidentView, KnownMedia


class Repository(SourceRecords):
    """Incidents and sources, read and written whole."""

    # --- reading incidents ---------------------------------------------------------------

    async def get_incident(self, key: str, *, include_deleted: bool = False) -> IncidentView | None:
        async with self.session() as session:
            query = select(Incident).where(col(Incident.key) == key)
            if not include_deleted:
                query = query.where(col(Incident.deleted_at).is_(None))
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                return None
            return (await assemble(session, [row]))[0]

    async def get_incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        async with self.session() as session:
            rows = (
                (
                    await session.execute(
                        select(Incident).where(
                            col(Incident.key).in_(wanted), col(Incident.deleted_at).is_(None)
                        )
                    )
                )
                .scalars()
                .all()
            )
            return {view.key: view for view in await assemble(session, rows)}

    async def incident_states(
        self, keys: Iterable[str]
    ) -> dict[str, tuple[IncidentView, dt.datetime | None, dt.datetime]]:
        """Stored incidents by key, deleted ones too, each with when it was deleted (None if
        live) and last changed: what an import of them would do."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        async with self.session() as session:
            rows = (
                (await session.execute(select(Incident).where(col(Incident.key).in_(wanted))))
                .scalars()
                .all()
            )
            views = {view.key: view for view in await assemble(session, rows)}
            return {row.key: (views[row.key], row.deleted_at, row.updated_at) for row in rows}

    async def iter_incidents(
        self, *, batch_size: int = 500, include_deleted: bool = False
    ) -> AsyncIterator[IncidentView]:
        """Every incident, in id order, a batch at a time (bounded memory for export/index)."""
        last_id = 0
        while True:
            async with self.session() as session:
                query = (
                    select(Incident)
                    .where(col(Incident.id) > last_id)
                    .order_by(col(Incident.id))
                    .limit(batch_size)
                )
                if not include_deleted:
                    query = query.where(col(Incident.deleted_at).is_(None))
                rows = (await session.execute(query)).scalars().all()
                if not rows:
                    return
                views = await assemble(session, rows)
            last_id = rows[-1].id or last_id
            for view in views:
                yield view

    async def incident_keys_starting(self, prefix: str) -> set[str]:
        """Keys that begin with `prefix`, deleted ones too: what a new key must not repeat."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        async with self.session() as session:
            query = select(col(Incident.key)).where(
                col(Incident.key).like(f"{escaped}%", escape="\\")
            )
            return set((await session.execute(query)).scalars())

    async def recent_incidents(self, limit: int = 10) -> list[tuple[str, str]]:
        """(key, title) of the most recently changed live incidents."""
        async with self.session() as session:
            query = (
                select(col(Incident.key), col(Incident.title))
                .where(col(Incident.deleted_at).is_(None))
                .order_by(col(Incident.updated_at).desc(), col(Incident.id).desc())
                .limit(limit)
            )
            return [(key, title) for key, title in await session.execute(query)]

    async def count_incidents(self) -> int:
        async with self.session() as session:
            query = select(func.count()).select_from(Incident)
            query = query.where(col(Incident.deleted_at).is_(None))
            return int((await session.execute(query)).scalar_one())

    async def post_owners(self) -> dict[tuple[str, int], str]:
        """Every recorded channel post, by the incident it belongs to (deleted ones too: a
        post stays claimed while its incident can be restored)."""
        async with self.session() as session:
            rows = await session.execute(
                select(
                    col(KnownPostRecord.channel), col(KnownPostRecord.message_id), col(Incident.key)
                ).join(Incident, col(KnownPostRecord.incident_id) == col(Incident.id))
            )
            return {(channel, int(message_id)): key for channel, message_id, key in rows}

    async def iter_media(self) -> AsyncIterator[tuple[str, tuple[KnownMedia, ...]]]:
        """Every live incident's recorded photos and videos (what the picture index holds)."""
        async with self.session() as session:
            rows = await session.execute(
                select(col(Incident.key), KnownMediaRecord)
                .join(Incident, col(KnownMediaRecord.incident_id) == col(Incident.id))
                .where(col(Incident.deleted_at).is_(None))
                .order_by(col(Incident.key), col(KnownMediaRecord.position))
            )
            grouped: dict[str, list[KnownMedia]] = {}
            for key, record in rows:
                grouped.setdefault(key, []).append(media_view(record))
        for key, media in grouped.items():
            yield key, tuple(media)

    async def incident_for_post(self, channel: str, message_id: int) -> str | None:
        async with self.session() as session:
            query = (
                select(col(Incident.key))
                .join(KnownPostRecord, col(KnownPostRecord.incident_id) == col(Incident.id))
                .where(
                    col(KnownPostRecord.channel) == channel,
                    col(KnownPostRecord.message_id) == message_id,
                    col(Incident.deleted_at).is_(None),
                )
            )
            return (await session.execute(query)).scalar_one_or_none()

    async def save_incidents(
        self,
        incidents: Sequence[IncidentView],
        actor: Actor,
        session: AsyncSession | None = None,
        *,
        audit_creations: bool = True,
        expected_versions: Mapping[str, int] | None = None,
        audit_action: str = "update",
    ) -> SaveOutcome:
        """Create or replace whole incidents by id; identical ones are left untouched.

        The incident's points and accounts become exactly those given (dataset semantics).
        With `expected_versions`, an incident changed by someone else since it was read at
        that version is refused with ConflictError, and nothing is written.
        """
        if session is None:
            async with self.session() as own, own.begin():
                return await self.save_incidents(
                    incidents,
                    actor,
                    own,
                    audit_creations=audit_creations,
                    expected_versions=expected_versions,
                    audit_action=audit_action,
                )
        expected_versions = expected_versions or {}
        outcome = SaveOutcome()
        if not incidents:
            return outcome
        keys = [i.key for i in incidents]
        existing_rows = (
            (await session.execute(select(Incident).where(col(Incident.key).in_(keys))))
            .scalars()
            .all()
        )
        existing = {row.key: row for row in existing_rows}
        current = {v.key: v for v in await assemble(session, existing_rows)}
        source_ids = await source_ids_of(session, incidents)
        now = utcnow()
        new_views = [v for v in incidents if v.key not in existing]
        if new_views:
            inserted = await session.execute(
                insert(Incident).returning(col(Incident.id), col(Incident.key)),
                [
                    {**incident_values(v), "version": 1, "created_at": now, "updated_at": now}
                    for v in new_views
                ],
            )
            new_ids = {key: int(row_id or 0) for row_id, key in inserted}
            await insert_children(session, [(new_ids[v.key], v) for v in new_views], source_ids)
            outcome.created.extend(v.key for v in new_views)
            if audit_creations:
                for view in new_views:
                    session.add(
                        audit_event(
                            actor, "create", "incident", view.key, None, incident_to_json(view)
                        )
                    )
        for view in incidents:
            row = existing.get(view.key)
            if row is None:
                continue
            before_view = current.get(view.key)
            before = incident_to_json(before_view) if before_view else None
            after = incident_to_json(view)
            expected = expected_versions.get(view.key, row.version)
            if row.version != expected:
                raise ConflictError("incident", view.key, expected, row.version)
            if before == after and row.deleted_at is None:
                outcome.unchanged += 1
                continue
            row_id = row.id or 0
            # The version test in the statement itself catches a writer that committed
            # between our read and this update (SQLite reads take no locks).
            result = await session.execute(
                update(Incident)
                .where(col(Incident.id) == row_id, col(Incident.version) == expected)
                .values(
                    **incident_values(view),
                    version=Incident.version + 1,
                    updated_at=now,
                    deleted_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if rows_affected(result) != 1:
                raise ConflictError("incident", view.key, expected, expected + 1)
            await delete_children(session, row_id)
            await insert_children(session, [(row_id, view)], source_ids)
            outcome.updated.append(view.key)
            session.add(audit_event(actor, audit_action, "incident", view.key, before, after))
        changed = [*outcome.created, *outcome.updated]
        if changed:
            await session.execute(
                insert(IncidentChange), [{"incident_key": k, "at": now} for k in changed]
            )
        await session.flush()
        return outcome

    async def save_incident(
        self,
        incident: IncidentView,
        actor: Actor,
        *,
        expected_version: int | None,
        audit_action: str = "update",
    ) -> IncidentView:
        """Create (expected_version None) or replace one incident, refusing stale edits."""
        async with self.session() as session, session.begin():
            exists = (
                await session.execute(
                    select(col(Incident.version)).where(col(Incident.key) == incident.key)
                )
            ).scalar_one_or_none()
            if expected_version is None and exists is not None:
                raise RepositoryError(f"an incident with id {incident.key!r} already exists")
            if expected_version is not None and exists is None:
                raise NotFoundError("incident", incident.key)
            versions = {incident.key: expected_version} if expected_version is not None else {}
            await self.save_incidents(
                [incident], actor, session, expected_versions=versions, audit_action=audit_action
            )
            return await self.incident_in(session, incident.key, fresh=True)

    async def incident_in(
        self, session: AsyncSession, key: str, *, fresh: bool = False
    ) -> IncidentView:
        query = select(Incident).where(col(Incident.key) == key, col(Incident.deleted_at).is_(None))
        if fresh:
            query = query.execution_options(populate_existing=True)
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise NotFoundError("incident", key)
        return (await assemble(session, [row]))[0]

    async def set_incident_deleted(
        self, key: str, deleted: bool, actor: Actor, *, audit_action: str | None = None
    ) -> IncidentView:
        """Soft-delete an incident, or undo that; the record itself is kept."""
        async with self.session() as session, session.begin():
            return await self.set_deleted_in(session, key, deleted, actor, audit_action)

    async def set_deleted_in(
        self,
        session: AsyncSession,
        key: str,
        deleted: bool,
        actor: Actor,
        audit_action: str | None = None,
    ) -> IncidentView:
        """`set_incident_deleted` inside the caller's transaction."""
        row = (
            await session.execute(select(Incident).where(col(Incident.key) == key))
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError("incident", key)
        row.deleted_at = utcnow() if deleted else None
        row.version += 1
        row.updated_at = utcnow()
        session.add(IncidentChange(incident_key=key, at=utcnow()))
        await session.flush()
        view = (await assemble(session, [row]))[0]
        session.add(
            audit_event(
                actor,
                audit_action or ("delete" if deleted else "restore"),
                "incident",
                key,
                None,
                None,
            )
        )
        return view
