"""What several bot processes on one database agree on: the incident change log each
reads to keep its match index current, and the shared per-user rate windows.

The change log is read by id with holes remembered: a transaction that took a lower id
may commit after a higher one, and its change must not be skipped.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlmodel import SQLModel, col

from db.models import (
    InboxUpdate,
    IncidentChange,
    RateWindow,
    utcnow,
)
from db.repository._base import Store, insert_for

CHANGES_PER_READ = 10_000
# More ids than this skipped in one read are not all waited for: a rolled-back bulk write.
MAX_HOLES = 10_000


@dataclass
class ChangeCursor:
    """How far a process has read the incident change log, and which lower ids it has not
    seen yet (their transactions may still commit) with when to stop looking for each."""

    last_id: int = 0
    lookback: float = 30.0
    holes: dict[int, float] = field(default_factory=dict)

    def forget_holes_before(self, now: float) -> None:
        for change_id in [i for i, until in self.holes.items() if until <= now]:
            del self.holes[change_id]

    def advance(self, rows: Sequence[tuple[int, str]], now: float) -> list[str]:
        fresh = [(i, key) for i, key in rows if i > self.last_id or i in self.holes]
        found = {i for i, _ in fresh}
        for change_id in found:
            self.holes.pop(change_id, None)
        newest = max([self.last_id, *found])
        skipped = (i for i in range(newest - 1, self.last_id, -1) if i not in found)
        for change_id in itertools.islice(skipped, MAX_HOLES):
            self.holes[change_id] = now + self.lookback
        self.last_id = newest
        return list(dict.fromkeys(key for _, key in fresh))


class SharedState(Store):
    """What several bot processes on one database must agree on."""

    async def change_cursor(self, lookback: float = 30.0) -> ChangeCursor:
        """A cursor past every change visible now, still looking out for the lower ids
        of the last `lookback` seconds that are not (their writers may yet commit)."""
        since = utcnow() - dt.timedelta(seconds=lookback)
        async with self.session() as session:
            settled = (
                await session.execute(
                    select(func.max(IncidentChange.id)).where(col(IncidentChange.at) < since)
                )
            ).scalar()
            recent = (
                await session.execute(
                    select(col(IncidentChange.id)).where(col(IncidentChange.at) >= since)
                )
            ).scalars()
            recent_ids = sorted(int(i or 0) for i in recent)
        cursor = ChangeCursor(int(settled or 0), lookback)
        cursor.advance([(i, "") for i in recent_ids], time.monotonic())
        return cursor

    async def changes_since(self, cursor: ChangeCursor) -> list[str]:
        """Keys of incidents written since the cursor's position, which it then moves past.

        Ids are handed out when a transaction inserts, not when it commits, so a change
        with a lower id can become visible after a higher one was read. The ids skipped
        over are therefore looked for again, by id, for `cursor.lookback` seconds.
        (Reading back every recent change instead cost a process thousands of rows twice
        a second for half a minute after each import.)
        """
        now = time.monotonic()
        cursor.forget_holes_before(now)
        wanted = col(IncidentChange.id) > cursor.last_id
        if cursor.holes:
            wanted = wanted | col(IncidentChange.id).in_(sorted(cursor.holes))
        async with self.session() as session:
            rows = (
                await session.execute(
                    select(col(IncidentChange.id), col(IncidentChange.incident_key))
                    .where(wanted)
                    .order_by(col(IncidentChange.id))
                    .limit(CHANGES_PER_READ + len(cursor.holes))
                )
            ).all()
        return cursor.advance([(int(change_id or 0), key) for change_id, key in rows], now)

    async def count_checks(self, checks: Sequence[tuple[int, int]]) -> list[int]:
        """Count checks, each a (user id, time window); returns, for each, the total of its
        user's window up to and including it. One statement for the whole batch."""
        added: Counter[tuple[int, int]] = Counter(checks)
        if not added:
            return []
        rates = SQLModel.metadata.tables[RateWindow.__tablename__]
        async with self.session() as session, session.begin():
            statement = insert_for(session)(rates)
            statement = statement.on_conflict_do_update(
                index_elements=["user_id", "window"],
                set_={"count": rates.c.count + statement.excluded.count},
            ).returning(rates.c.user_id, rates.c.window, rates.c.count)
            rows = await session.execute(
                statement,
                [{"user_id": u, "window": w, "count": n} for (u, w), n in added.items()],
            )
            totals = {(int(u), int(w)): int(count) for u, w, count in rows}
        # Within the batch, checks of one user's window count up to its new total in order.
        results = []
        for key in checks:
            results.append(totals[key] - added[key] + 1)
            added[key] -= 1
        return results

    async def prune(self, older_than: dt.datetime, window_before: int) -> None:
        async with self.session() as session, session.begin():
            await session.execute(
                delete(InboxUpdate).where(
                    col(InboxUpdate.received_at) < older_than, col(InboxUpdate.done_at).is_not(None)
                )
            )
            await session.execute(delete(RateWindow).where(col(RateWindow.window) < window_before))
            # The newest change stays, however old: SQLite numbers a new row one past the
            # highest left, and processes read the log by id from where they stopped.
            newest = select(func.max(IncidentChange.id)).scalar_subquery()
            await session.execute(
                delete(IncidentChange).where(
                    col(IncidentChange.at) < older_than, col(IncidentChange.id) < newest
                )
            )
