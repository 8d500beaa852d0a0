"""State that outlives a process but not a task: moderators' form drafts, uploaded
datasets awaiting confirmation, and the inbox of Telegram updates being handled."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col

from db.models import (
    DeskRequest,
    FormDraft,
    InboxUpdate,
    PendingUpload,
    utcnow,
)
from db.repository._base import Store, WriteGate, insert_for, rows_affected


class FormDrafts(Store):
    """Moderators' guided forms in progress, one per moderator and chat."""

    async def get(
        self, user_id: int, chat_id: int, *, max_age: dt.timedelta
    ) -> dict[str, Any] | None:
        """The open form's state, or None; a form left longer than `max_age` is closed."""
        async with self.session() as session, session.begin():
            row = await session.get(FormDraft, (user_id, chat_id))
            if row is None:
                return None
            if utcnow() - row.updated_at > max_age:
                await session.delete(row)
                return None
            return dict(row.state)

    async def put(self, user_id: int, chat_id: int, state: Mapping[str, Any]) -> None:
        async with self.session() as session, session.begin():
            values = {"state": dict(state), "updated_at": utcnow()}
            statement = insert_for(session)(FormDraft).values(
                user_id=user_id, chat_id=chat_id, **values
            )
            await session.execute(
                statement.on_conflict_do_update(index_elements=["user_id", "chat_id"], set_=values)
            )

    async def discard(self, user_id: int, chat_id: int) -> bool:
        """Close the form; True if one was open."""
        async with self.session() as session, session.begin():
            result = await session.execute(
                delete(FormDraft).where(
                    col(FormDraft.user_id) == user_id, col(FormDraft.chat_id) == chat_id
                )
            )
            return bool(rows_affected(result))

    async def prune(self, older_than: dt.timedelta) -> int:
        async with self.session() as session, session.begin():
            result = await session.execute(
                delete(FormDraft).where(col(FormDraft.updated_at) < utcnow() - older_than)
            )
            return rows_affected(result)


class DeskRequests(Store):
    """Request ids of changes made from the desk: each counts once, in every replica."""

    async def first_time(self, user_id: int, request_id: str) -> bool:
        """Note the request; False when it was made before (a replay)."""
        async with self.session() as session, session.begin():
            # One statement: two replicas given the same request at once cannot both
            # find it new.
            statement = (
                insert_for(session)(DeskRequest)
                .values(user_id=user_id, request_id=request_id, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["user_id", "request_id"])
            )
            return bool(rows_affected(await session.execute(statement)))

    async def prune(self, older_than: dt.timedelta) -> int:
        async with self.session() as session, session.begin():
            result = await session.execute(
                delete(DeskRequest).where(col(DeskRequest.created_at) < utcnow() - older_than)
            )
            return rows_affected(result)


class PendingUploads(Store):
    """Validated dataset files waiting for their moderator's Import button."""

    async def put(self, user_id: int, chat_id: int, file_id: str, file_name: str) -> None:
        values = {"file_id": file_id, "file_name": file_name[:300], "created_at": utcnow()}
        async with self.session() as session, session.begin():
            # One statement: two replicas storing the same moderator's upload at once
            # cannot both find the row missing and both insert it.
            statement = insert_for(session)(PendingUpload).values(
                user_id=user_id, chat_id=chat_id, **values
            )
            await session.execute(
                statement.on_conflict_do_update(index_elements=["user_id", "chat_id"], set_=values)
            )

    async def take(
        self, user_id: int, chat_id: int, *, max_age: dt.timedelta
    ) -> tuple[str, str] | None:
        """The waiting file's id and name, now no longer waiting; None if there is none,
        or it waited longer than `max_age`."""
        async with self.session() as session, session.begin():
            row = await session.get(PendingUpload, (user_id, chat_id))
            if row is None:
                return None
            await session.delete(row)
            if utcnow() - row.created_at > max_age:
                return None
            return row.file_id, row.file_name

    async def prune(self, older_than: dt.timedelta) -> None:
        async with self.session() as session, session.begin():
            await session.execute(
                delete(PendingUpload).where(col(PendingUpload.created_at) < utcnow() - older_than)
            )


class UpdateInbox(Store):
    """Telegram updates between arrival and being handled, shared by every bot process."""

    def __init__(
        self, sessions: async_sessionmaker[Any], write_gate: WriteGate | None = None
    ) -> None:
        super().__init__(sessions)
        self._gate = write_gate or contextlib.nullcontext()

    async def record(
        self,
        arrived: Sequence[tuple[int, dict[str, Any]]] = (),
        finished: Iterable[int] = (),
    ) -> set[int]:
        """In one transaction, write down updates that arrived and mark others done; returns
        the ids of the arrivals seen for the first time (the rest were delivered before, to
        this process or another)."""
        done = list(finished)
        now = utcnow()
        fresh: set[int] = set()
        # Core statements on the table, one compiled form whatever the batch size: this
        # runs for every batch of updates, and the ORM's bulk path costs several times more.
        table = SQLModel.metadata.tables[InboxUpdate.__tablename__]
        async with self._gate, self.session() as session, session.begin():
            if arrived:
                rows = [
                    {"update_id": i, "payload": payload, "received_at": now, "claimed_at": now}
                    for i, payload in arrived
                ]
                statement = (
                    insert_for(session)(table)
                    .on_conflict_do_nothing(index_elements=["update_id"])
                    .returning(table.c.update_id)
                )
                fresh = {int(i) for i in (await session.execute(statement, rows)).scalars()}
            if done:
                await session.execute(
                    update(table)
                    .where(table.c.update_id.in_(bindparam("ids", expanding=True)))
                    .values(done_at=now, payload=None),
                    {"ids": done},
                )
        return fresh

    async def renew(self, update_ids: Iterable[int]) -> None:
        """Vouch again for updates this process is still working on."""
        ids = list(update_ids)
        if not ids:
            return
        async with self.session() as session, session.begin():
            await session.execute(
                update(InboxUpdate)
                .where(col(InboxUpdate.update_id).in_(ids), col(InboxUpdate.done_at).is_(None))
                .values(claimed_at=utcnow())
            )

    async def take_over(
        self, claimed_before: dt.datetime, limit: int = 1000
    ) -> list[tuple[int, dict[str, Any], int]]:
        """Unfinished updates last vouched for before `claimed_before` (their process died,
        or it is this process starting again), now claimed by the caller, oldest first,
        each with how many times it has been taken over, this time included."""
        async with self.session() as session, session.begin():
            stale = (
                select(col(InboxUpdate.update_id))
                .where(
                    col(InboxUpdate.done_at).is_(None),
                    col(InboxUpdate.claimed_at) < claimed_before,
                )
                .order_by(col(InboxUpdate.update_id))
                .limit(limit)
            )
            rows = (
                await session.execute(
                    update(InboxUpdate)
                    .where(
                        col(InboxUpdate.update_id).in_(stale.scalar_subquery()),
                        # Checked again by the update itself: of two processes taking over
                        # at once, the second finds the claim fresh and takes nothing.
                        col(InboxUpdate.claimed_at) < claimed_before,
                        col(InboxUpdate.done_at).is_(None),
                    )
                    .values(claimed_at=utcnow(), attempts=col(InboxUpdate.attempts) + 1)
                    .returning(
                        col(InboxUpdate.update_id),
                        col(InboxUpdate.payload),
                        col(InboxUpdate.attempts),
                    )
                )
            ).all()
        return sorted((int(i), payload or {}, int(attempts)) for i, payload, attempts in rows)

    async def unfinished(self) -> int:
        async with self.session() as session:
            statement = select(func.count()).where(col(InboxUpdate.done_at).is_(None))
            return int((await session.execute(statement)).scalar_one())
