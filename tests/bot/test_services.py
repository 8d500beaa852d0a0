"""Services kept by the running bot: the matching index stays in step with storage."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

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


async def test_claims_arriving_during_a_write_go_together_in_the_next_batch() -> None:
    import asyncio
    from collections.abc import Sequence

    from bot.batches import Batcher
    from db.repository import UnmatchedClaim

    batches: list[list[str]] = []
    release = asyncio.Event()

    async def write(claims: Sequence[UnmatchedClaim]) -> list[int]:
        batches.append([c.claim for c in claims])
        await release.wait()
        if any(c.claim == "bad" for c in claims):
            raise RuntimeError("database gone")
        return [len(c.claim) for c in claims]

    writer = Batcher(write, max_batch=2)

    def ask(text: str) -> asyncio.Task[int]:
        return asyncio.create_task(writer.call(UnmatchedClaim(text, text, 1, 1, "en")))

    first = ask("a")
    await asyncio.sleep(0)
    later = [ask("bb"), ask("ccc"), ask("bad")]
    await asyncio.sleep(0)
    release.set()
    assert await first == 1
    assert [await later[0], await later[1]] == [2, 3]
    with pytest.raises(RuntimeError, match="database gone"):
        await later[2]
    await writer.close()
    assert batches == [["a"], ["bb", "ccc"], ["bad"]]


async def test_languages_looked_up_at_once_each_get_their_own_users_choice(
    tmp_path: Path,
) -> None:
    import asyncio

    url = f"sqlite:///{tmp_path}/factcheck.db"
    database = Database(url)
    await database.prepare(sample_data="no")
    await database.community.set_language(1, "ru")
    await database.community.set_language(2, "en")
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "DATABASE_URL": url, "SAMPLE_DATA": "no"},
        env_file=None,
    )
    svc = Services.create(settings, database)
    try:
        users = [1, 2, 3, 2, 1]
        choices = await asyncio.gather(*(svc.language_choice(u) for u in users))
        assert choices == ["ru", "en", None, "en", "ru"]
    finally:
        await svc.stop()
