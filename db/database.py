"""One handle on the database: engine, sessions, the stores, and start-up preparation."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from db import migrate
from db.datasets import ImportResult, import_dataset
from db.engine import async_url, create_engine, is_sqlite, session_factory
from db.repository import (
    Actor,
    AuditTrail,
    CommunityRepository,
    DeskRequests,
    FormDrafts,
    PendingUploads,
    Repository,
    SharedState,
    StaffRepository,
    UpdateInbox,
    WriteGate,
)
from db.vectors import IncidentVectors
from domain.dataset import SAMPLE_PATH

log = logging.getLogger(__name__)

SampleData = Literal["auto", "yes", "no"]


class Database:
    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.url = async_url(url)
        self.engine = engine or create_engine(url)
        sessions = session_factory(self.engine)
        self.repository = Repository(sessions)
        # The hot paths' writes (arrived updates, unmatched claims) queue here rather than
        # in SQLite's busy handler; PostgreSQL takes concurrent writers as they come.
        gate: WriteGate | None = asyncio.Lock() if is_sqlite(self.url) else None
        self.community = CommunityRepository(sessions, gate)
        self.staff = StaffRepository(sessions)
        self.audit = AuditTrail(sessions, self.repository)
        self.shared = SharedState(sessions)
        self.drafts = FormDrafts(sessions)
        self.uploads = PendingUploads(sessions)
        self.desk_requests = DeskRequests(sessions)
        self.inbox = UpdateInbox(sessions, gate)
        self.vectors = IncidentVectors(sessions)

    @property
    def is_embedded(self) -> bool:
        return is_sqlite(self.url)

    async def prepare(self, *, sample_data: SampleData = "auto") -> ImportResult | None:
        """Upgrade the schema; on a brand-new database, load the bundled sample data.

        "auto" loads the sample only into a fresh embedded (SQLite) database, so a newsroom
        bot is useful on first start while a production PostgreSQL starts empty.
        """
        fresh = await migrate.current_revision(self.engine) is None
        await migrate.upgrade(self.engine)
        wanted = sample_data == "yes" or (sample_data == "auto" and self.is_embedded)
        if fresh and wanted and await self.repository.count_incidents() == 0:
            return await load_sample(self.repository)
        return None

    async def close(self) -> None:
        await self.engine.dispose()


async def load_sample(repository: Repository) -> ImportResult:
    data = SAMPLE_PATH.read_bytes()
    result = await import_dataset(
        repository, lambda: io.BytesIO(data), Actor.system(), label="bundled sample data"
    )
    log.info("loaded the bundled sample data: %s", result.describe())
    return result
