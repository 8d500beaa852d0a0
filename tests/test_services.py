"""Services kept by the running bot: the matching index stays in step with storage."""

from __future__ import annotations

import io
from pathlib import Path

from bot.config import load_settings
from bot.services import Services
from db.database import Database
from db.datasets import import_dataset
from db.models import IncidentChange, utcnow
from db.repository import Actor
from domain.dataset import SAMPLE_PATH
from domain.sample import REFERENCE_INCIDENT_KEY
from tests.double import DEFAULT_TOKEN


async def test_an_import_just_before_start_is_not_indexed_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/factcheck.db"
    database = Database(url)
    await database.prepare(sample_data="no")
    data = SAMPLE_PATH.read_bytes()
    await import_dataset(database.repository, lambda: io.BytesIO(data), Actor.cli())
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "DATABASE_URL": url, "SAMPLE_DATA": "no"},
        env_file=None,
    )
    svc = Services.create(settings, database)
    try:
        await svc.start()
        generation = svc.checker.generation
        # The import's changes are seconds old, inside the look-back; loading covered them.
        assert await svc.sync_index() == []
        assert svc.checker.generation == generation
        # A change written after start is still picked up, once.
        async with database.repository.session() as session, session.begin():
            session.add(IncidentChange(incident_key=REFERENCE_INCIDENT_KEY, at=utcnow()))
        assert await svc.sync_index() == [REFERENCE_INCIDENT_KEY]
        assert await svc.sync_index() == []
    finally:
        await svc.stop()
