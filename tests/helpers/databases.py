"""Databases to test on: SQLite files, and on the PostgreSQL test server, schemas or whole
databases of their own that are removed afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from db.database import Database
from db.engine import create_engine
from tests.double.fixtures import bot_api, ptb_bot  # noqa: F401  (shared fixtures)

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


# The same server, as asyncpg (not SQLAlchemy) spells it.
ADMIN_DSN = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


BACKENDS = ["sqlite", "postgres"]


_postgres_checked: list[str | None] = []


async def postgres_problem() -> str | None:
    """None when the test server answers, else the reason it does not (asked once per run)."""
    if not _postgres_checked:
        try:
            connection = await asyncpg.connect(ADMIN_DSN, timeout=3)
            await connection.close()
            _postgres_checked.append(None)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _postgres_checked.append(
                f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__}: {exc})"
            )
    return _postgres_checked[0]


async def create_database(prefix: str) -> tuple[str, str]:
    """A new, empty database on the test server, for processes of their own: its name
    and its URL. (A schema, as the fixtures use, cannot be named in DATABASE_URL.)"""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name, f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _postgres_schema_database() -> tuple[Database, str]:
    """A database confined to a fresh schema, so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    async with admin.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    await admin.dispose()
    engine = create_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    return Database(POSTGRES_URL, engine=engine), schema


async def _drop_schema(schema: str) -> None:
    admin = create_engine(POSTGRES_URL)
    async with admin.begin() as connection:
        await connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await admin.dispose()


async def make_database(backend: str, tmp_path: object) -> tuple[Database, str | None]:
    if backend == "postgres":
        problem = await postgres_problem()
        if problem:
            pytest.skip(problem)
        return await _postgres_schema_database()
    return Database(f"sqlite:///{tmp_path}/factcheck.db"), None


@asynccontextmanager
async def migrated_database(backend: str, tmp_path: object) -> AsyncIterator[Database]:
    """An empty, migrated database on `backend`, removed afterwards."""
    db, schema = await make_database(backend, tmp_path)
    await db.prepare(sample_data="no")
    try:
        yield db
    finally:
        await db.close()
        if schema:
            await _drop_schema(schema)
