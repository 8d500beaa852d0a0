"""Engine and session setup for the embedded SQLite default and for PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/factcheck.db"
SQLITE_BUSY_SECONDS = 15.0

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


class DatabaseUrlError(ValueError):
    pass


def async_url(raw: str) -> URL:
    """Accept the URL forms people paste (postgres://, sqlite:///) and pick the async driver."""
    try:
        url = make_url(raw.strip())
    except Exception as exc:
        raise DatabaseUrlError(f"not a database URL: {exc}") from None
    driver = _ASYNC_DRIVERS.get(url.drivername, url.drivername)
    if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise DatabaseUrlError(
            f"unsupported database {url.drivername!r}: use sqlite:///PATH or postgresql://…"
        )
    url = url.set(drivername=driver)
    if is_sqlite(url):
        sqlite_busy_seconds(url)
    return url


def sqlite_busy_seconds(url: URL) -> float:
    """How long an SQLite writer waits for another writer: the URL's `?timeout=SECONDS`."""
    raw = url.query.get("timeout", str(SQLITE_BUSY_SECONDS))
    text = raw if isinstance(raw, str) else raw[-1]
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise DatabaseUrlError(f"timeout={text!r}: expected seconds between 0 and 3600")
    return seconds


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def create_engine(raw_url: str, **options: Any) -> AsyncEngine:
    url = async_url(raw_url)
    if is_sqlite(url):
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A busy database waits for the writer instead of failing at once; how long is
        # the URL's `?timeout=SECONDS` (15 by default).
        busy_seconds = sqlite_busy_seconds(url)
        url = url.difference_update_query(["timeout"])
        options.setdefault("connect_args", {}).setdefault("timeout", busy_seconds)
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_configurator(busy_seconds))
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **options)


def _sqlite_configurator(busy_seconds: float) -> Callable[[Any, Any], None]:
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite opens its connection outside a transaction; PRAGMAs must run there.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()

    return configure


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def database_problem(problem: BaseException) -> str:
    """One line an operator can act on, instead of a traceback."""
    detail = str(getattr(problem, "orig", None) or problem).strip().splitlines()[0][:300]
    return f"Cannot use the database named by DATABASE_URL: {type(problem).__name__}: {detail}"
