"""Stored embeddings of incidents (`incident_vector`), for the semantic stage of matching.

The matcher asks for every vector of its model at start and writes the ones it had to
compute; a vector is keyed by incident and model, so replicas and restarts share the work
and a model upgrade starts its own set beside the old one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from db.models import IncidentVector, utcnow
from db.repository import insert_for


class IncidentVectors:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def vectors(self, model: str) -> dict[str, tuple[str, bytes]]:
        """Every stored vector of `model`: incident key -> (passage digest, float32 bytes)."""
        return await self._read(col(IncidentVector.model) == model)

    async def vectors_of(self, model: str, keys: Iterable[str]) -> dict[str, tuple[str, bytes]]:
        wanted = list(keys)
        if not wanted:
            return {}
        return await self._read(
            col(IncidentVector.model) == model, col(IncidentVector.incident_key).in_(wanted)
        )

    async def _read(self, *conditions: Any) -> dict[str, tuple[str, bytes]]:
        columns = (IncidentVector.incident_key, IncidentVector.digest, IncidentVector.vector)
        async with self._sessions() as session:
            rows = await session.execute(select(*map(col, columns)).where(*conditions))
            return {key: (digest, bytes(vector)) for key, digest, vector in rows}

    async def save_vectors(self, model: str, rows: Sequence[tuple[str, str, bytes]]) -> None:
        """Store (incident key, passage digest, vector bytes) rows, replacing older ones."""
        if not rows:
            return
        async with self._sessions() as session, session.begin():
            insert = insert_for(session)
            for key, digest, vector in rows:
                values = {"digest": digest, "vector": vector, "updated_at": utcnow()}
                statement = insert(IncidentVector).values(incident_key=key, model=model, **values)
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=["incident_key", "model"], set_=values
                    )
                )

    async def forget(self, keys: Iterable[str]) -> None:
        """Drop the vectors of incidents that are gone."""
        wanted = list(keys)
        if not wanted:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(IncidentVector).where(col(IncidentVector.incident_key).in_(wanted))
            )
