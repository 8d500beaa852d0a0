"""Shared fixtures: a migrated database on each backend, and the Bot API double."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import i18n
from db.database import Database
from domain import languages
from domain.matching import warm_up
from tests.double.fixtures import bot_api, ptb_bot  # noqa: F401  (shared fixtures)
from tests.helpers.databases import BACKENDS, migrated_database


@pytest.fixture(scope="session", autouse=True)
def matching_tables_built() -> None:
    """The gazetteer and word-frequency tables are built from their packages once per
    machine and cached: built before the first test, so that on a fresh machine a bot's
    start-up inside a test does not spend its timeout building them. The same for the
    language detector's model and the message catalogues, loaded once per process."""
    warm_up()
    languages.warm_up()
    i18n.warm_up()


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    """An empty, migrated database on SQLite and on PostgreSQL."""
    async with migrated_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture
async def sqlite_database(tmp_path: object) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path}/factcheck.db")
    await db.prepare(sample_data="no")
    yield db
    await db.close()
