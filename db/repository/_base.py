"""What every store shares: errors, who acts, the audit row, the session factory.

Every write of every store runs in one transaction and adds its AuditEvent (built by
`audit_event`) to that same transaction, so a change and its trail land together or not
at all.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    AuditEvent,
    utcnow,
)

# Writers that take turns in this process: SQLite has one writer at a time, and writers
# that meet there wait in its busy handler, sleeping in steps of up to 100 ms.
WriteGate = contextlib.AbstractAsyncContextManager[Any]


class Store:
    """Queries over one async session factory."""

    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    def session(self) -> AsyncSession:
        session: AsyncSession = self._sessions()
        return session


def rows_affected(result: Any) -> int:
    """How many rows an UPDATE or DELETE touched (`rowcount` is on the cursor result only)."""
    return int(getattr(result, "rowcount", 0) or 0)


class RepositoryError(Exception):
    pass


class NotFoundError(RepositoryError):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"no {entity} with id {key!r}")
        self.entity = entity
        self.key = key


class ConflictError(RepositoryError):
    """Someone else saved this record since it was read; the edit would overwrite theirs."""

    def __init__(self, entity: str, key: str, expected: int, current: int) -> None:
        if expected or current:
            detail = f"you edited version {expected}, it is now at version {current}"
        else:
            detail = "after your change"
        super().__init__(
            f"{entity} {key!r} was changed by someone else ({detail}); reload it and edit again"
        )
        self.entity = entity
        self.key = key
        self.expected = expected
        self.current = current


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a Telegram user, or a named tool such as the command line."""

    user_id: int | None = None
    label: str = ""

    @classmethod
    def cli(cls) -> Actor:
        return cls(None, "command line")

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system")


@dataclass
class SaveOutcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


def audit_event(
    actor: Actor,
    action: str,
    entity: str,
    key: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        at=utcnow(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        entity=entity,
        entity_key=key[:200],
        before=before,
        after=after,
    )


def insert_for(session: AsyncSession) -> Any:
    """`insert` of the session's dialect, which has ON CONFLICT (upserts) on both."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
