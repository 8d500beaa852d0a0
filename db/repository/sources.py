"""Sources (who publishes accounts): reads and writes, for `Repository`.

A changed source touches every incident citing it (they show and match by its name), so
its save appends those incidents to the change log too.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.models import (
    Account,
    Incident,
    IncidentChange,
    Source,
    utcnow,
)
from db.repository._base import (
    Actor,
    ConflictError,
    NotFoundError,
    RepositoryError,
    SaveOutcome,
    Store,
    audit_event,
)
from db.repository.mapping import source_values, source_view
from domain.dataset import source_to_json
from domain.model import (
    SourceView,
)


class SourceRecords(Store):
    async def list_sources(self, *, include_deleted: bool = False) -> list[SourceView]:
        async with self.session() as session:
            query = select(Source).order_by(col(Source.id))
            if not include_deleted:
                query = query.where(col(Source.deleted_at).is_(None))
            return [source_view(row) for row in (await session.execute(query)).scalars()]

    async def get_source(self, key: str) -> SourceView | None:
        async with self.session() as session:
            row = (
                await session.execute(
                    select(Source).where(col(Source.key) == key, col(Source.deleted_at).is_(None))
                )
            ).scalar_one_or_none()
            return source_view(row) if row else None

    async def source_keys(self) -> set[str]:
        async with self.session() as session:
            return set((await session.execute(select(col(Source.key)))).scalars())

    # --- whole-record writes (dataset import, guided forms) ------------------------------

    async def save_sources(
        self, sources: Iterable[SourceView], actor: Actor, session: AsyncSession | None = None
    ) -> SaveOutcome:
        """Create or update sources by id; identical ones are left untouched."""
        if session is None:
            async with self.session() as own, own.begin():
                return await self.save_sources(sources, actor, own)
        outcome = SaveOutcome()
        incoming = {s.key: s for s in sources}
        if not incoming:
            return outcome
        existing = {
            row.key: row
            for row in (
                await session.execute(select(Source).where(col(Source.key).in_(list(incoming))))
            ).scalars()
        }
        now = utcnow()
        for key, view in incoming.items():
            row = existing.get(key)
            after = source_to_json(view)
            if row is None:
                session.add(Source(**source_values(view), created_at=now, updated_at=now))
                outcome.created.append(key)
                session.add(audit_event(actor, "create", "source", key, None, after))
                continue
            before = source_to_json(source_view(row))
            if before == after and row.deleted_at is None:
                outcome.unchanged += 1
                continue
            for name, value in source_values(view).items():
                setattr(row, name, value)
            row.deleted_at = None
            row.version += 1
            row.updated_at = now
            outcome.updated.append(key)
            session.add(audit_event(actor, "update", "source", key, before, after))
            # Incidents show and are matched by their sources' names: every replica must
            # re-read the ones citing this source.
            citing = await session.execute(
                select(col(Incident.key))
                .join(Account, col(Account.incident_id) == col(Incident.id))
                .where(col(Account.source_id) == row.id)
                .distinct()
            )
            session.add_all(IncidentChange(incident_key=k, at=now) for k in citing.scalars())
        await session.flush()
        return outcome

    async def save_source(
        self, source: SourceView, actor: Actor, *, expected_version: int | None
    ) -> SourceView:
        """Create (expected_version None) or change one source, refusing stale edits."""
        async with self.session() as session, session.begin():
            row = (
                await session.execute(select(Source).where(col(Source.key) == source.key))
            ).scalar_one_or_none()
            if expected_version is None and row is not None:
                raise RepositoryError(f"a source with id {source.key!r} already exists")
            if expected_version is not None:
                if row is None:
                    raise NotFoundError("source", source.key)
                if row.version != expected_version:
                    raise ConflictError("source", source.key, expected_version, row.version)
            await self.save_sources([source], actor, session)
            saved = (
                await session.execute(
                    select(Source)
                    .where(col(Source.key) == source.key)
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
            return source_view(saved)
