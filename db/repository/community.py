"""What users leave behind: unmatched claims and who asked them, follow-up requests,
feedback on answers, language settings.

Writes on the hot path (an unmatched claim per check) go through the write gate, so on
SQLite they queue in this process rather than in the database's busy handler.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col

from db.models import (
    Feedback,
    Incident,
    IncidentChange,
    MatchPhrase,
    UnmatchedAsker,
    UnmatchedQuery,
    UserPreference,
    utcnow,
)
from db.repository._base import (
    Actor,
    NotFoundError,
    Store,
    WriteGate,
    audit_event,
    insert_for,
    rows_affected,
)
from domain.model import (
    QueueStatus,
)


@dataclass(frozen=True)
class FollowUp:
    """Someone waiting to hear back about a claim that was unmatched."""

    query_id: int
    user_id: int
    chat_id: int
    language: str | None
    asked_on: dt.date
    """When they asked: what a follow-up reminds them by. Not the wording, which may be
    someone else's (one queue entry gathers everyone who sent the same claim)."""


@dataclass(frozen=True)
class QueueEntry:
    id: int
    normalized_text: str
    sample_text: str
    times_asked: int
    first_asked_at: dt.datetime
    last_asked_at: dt.datetime
    waiting: int
    judged_wrong: str | None = None
    """The incident key of an answer someone judged wrong (see `UnmatchedClaim`)."""


@dataclass(frozen=True)
class UnmatchedClaim:
    """A claim nobody could match, as one user asked it in one chat."""

    normalized: str
    claim: str
    user_id: int
    chat_id: int
    language: str | None
    answered_with: str | None = None
    """The incident the bot answered with, when the asker judged that answer wrong."""


class CommunityRepository(Store):
    """What users leave behind: unmatched claims, follow-up requests, feedback, settings."""

    def __init__(
        self, sessions: async_sessionmaker[Any], write_gate: WriteGate | None = None
    ) -> None:
        super().__init__(sessions)
        self._gate = write_gate or contextlib.nullcontext()

    async def forget_unmatched(self, older_than: dt.datetime) -> int:
        """Delete the claims last asked before `older_than`, with who asked them (their
        user and chat ids): the retention of what people sent that matched nothing.
        Returns how many claims went."""
        async with self.session() as session, session.begin():
            old = select(col(UnmatchedQuery.id)).where(
                col(UnmatchedQuery.last_asked_at) < older_than
            )
            await session.execute(
                delete(UnmatchedAsker).where(col(UnmatchedAsker.query_id).in_(old))
            )
            gone = await session.execute(
                delete(UnmatchedQuery).where(col(UnmatchedQuery.last_asked_at) < older_than)
            )
            return rows_affected(gone)

    async def record_unmatched_many(self, claims: Sequence[UnmatchedClaim]) -> list[int]:
        """Queue many unmatched claims in one transaction; their query ids, in order.

        Counted as one at a time would be: each distinct asker of a wording counts once,
        and asking again reopens a closed entry. A fixed handful of statements however
        many claims, and no read-then-write: the count grows by the askers actually
        inserted, so two processes recording the same wording cannot double-count it.
        """
        if not claims:
            return []
        async with self._gate, self.session() as session, session.begin():
            return await self._record_in(session, claims)

    async def _record_in(
        self, session: AsyncSession, claims: Sequence[UnmatchedClaim]
    ) -> list[int]:
        """`record_unmatched_many` inside the caller's transaction."""
        now = utcnow()
        texts = [c.normalized[:500] for c in claims]
        samples: dict[str, str] = {}
        for text, claim in zip(texts, claims, strict=True):
            samples.setdefault(text, claim.claim)  # the first wording asked is shown
        queries = SQLModel.metadata.tables[UnmatchedQuery.__tablename__]
        askers = SQLModel.metadata.tables[UnmatchedAsker.__tablename__]
        insert_into = insert_for(session)
        ids = await self._query_ids(session, list(samples))
        missing = [text for text in samples if text not in ids]
        if missing:
            # Rows as parameters of one statement (not a VALUES list built per batch):
            # one compiled form whatever the batch size.
            await session.execute(
                insert_into(queries).on_conflict_do_nothing(index_elements=["normalized_text"]),
                [
                    {
                        "normalized_text": text,
                        "sample_text": samples[text][:1000],
                        "times_asked": 0,  # counted below, with its first asker
                        "first_asked_at": now,
                        "last_asked_at": now,
                        "status": QueueStatus.OPEN,
                    }
                    for text in missing
                ],
            )
            ids.update(await self._query_ids(session, missing))
        new_askers: dict[tuple[int, int], dict[str, Any]] = {}
        for text, claim in zip(texts, claims, strict=True):
            new_askers.setdefault(
                (ids[text], claim.user_id),
                {
                    "query_id": ids[text],
                    "user_id": claim.user_id,
                    "chat_id": claim.chat_id,
                    "language": claim.language,
                    "wants_follow_up": False,
                    "asked_at": now,
                },
            )
        inserted = (
            await session.execute(
                insert_into(askers)
                .on_conflict_do_nothing(index_elements=["query_id", "user_id"])
                .returning(askers.c.query_id),
                list(new_askers.values()),
            )
        ).scalars()
        added = dict.fromkeys(ids.values(), 0)
        for query_id in inserted:
            added[query_id] += 1
        await session.execute(
            update(queries)
            .where(queries.c.id == bindparam("row_id"))
            .values(
                times_asked=queries.c.times_asked + bindparam("added"),
                last_asked_at=now,
                status=QueueStatus.OPEN,
            ),
            [{"row_id": query_id, "added": n} for query_id, n in sorted(added.items())],
        )
        judged = {ids[text]: c.answered_with for text, c in zip(texts, claims, strict=True)}
        for query_id, key in judged.items():
            if key is not None:
                await session.execute(
                    update(queries).where(queries.c.id == query_id).values(judged_wrong=key)
                )
        return [ids[text] for text in texts]

    @staticmethod
    async def _query_ids(session: AsyncSession, texts: list[str]) -> dict[str, int]:
        rows = await session.execute(
            select(col(UnmatchedQuery.normalized_text), col(UnmatchedQuery.id)).where(
                col(UnmatchedQuery.normalized_text).in_(texts)
            )
        )
        return {text: query_id or 0 for text, query_id in rows}

    async def restore_queued(self, normalized: str, claim: str, times_asked: int) -> None:
        """Put a claim from a backup back in the queue (no asker: backups keep no user ids)."""
        async with self.session() as session, session.begin():
            row = (
                await session.execute(
                    select(UnmatchedQuery).where(
                        col(UnmatchedQuery.normalized_text) == normalized[:500]
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                session.add(
                    UnmatchedQuery(
                        normalized_text=normalized[:500],
                        sample_text=claim[:1000],
                        times_asked=times_asked,
                    )
                )
            else:
                row.times_asked = max(row.times_asked, times_asked)

    async def want_follow_up(self, query_id: int, user_id: int, chat_id: int) -> bool:
        """Mark that this user wants to hear back; False if they never asked it."""
        async with self.session() as session, session.begin():
            result = await session.execute(
                update(UnmatchedAsker)
                .where(
                    col(UnmatchedAsker.query_id) == query_id,
                    col(UnmatchedAsker.user_id) == user_id,
                )
                .values(wants_follow_up=True, chat_id=chat_id)
            )
            return bool(rows_affected(result))

    async def open_queue(self, limit: int = 20, offset: int = 0) -> list[QueueEntry]:
        """Unmatched claims, most asked first."""
        async with self.session() as session:
            waiting = (
                select(func.count())
                .where(
                    col(UnmatchedAsker.query_id) == col(UnmatchedQuery.id),
                    col(UnmatchedAsker.wants_follow_up).is_(True),
                )
                .scalar_subquery()
            )
            query = (
                select(UnmatchedQuery, waiting)
                .where(col(UnmatchedQuery.status) == QueueStatus.OPEN.value)
                .order_by(
                    col(UnmatchedQuery.times_asked).desc(), col(UnmatchedQuery.last_asked_at).desc()
                )
                .limit(limit)
                .offset(offset)
            )
            return [
                QueueEntry(
                    row.id or 0,
                    row.normalized_text,
                    row.sample_text,
                    row.times_asked,
                    row.first_asked_at,
                    row.last_asked_at,
                    int(count),
                    row.judged_wrong,
                )
                for row, count in await session.execute(query)
            ]

    async def queue_size(self) -> int:
        async with self.session() as session:
            query = select(func.count()).where(col(UnmatchedQuery.status) == QueueStatus.OPEN.value)
            return int((await session.execute(query)).scalar_one())

    async def link_query(self, query_id: int, incident_key: str, actor: Actor) -> list[FollowUp]:
        """Link a queued claim to an incident: its wording becomes a matching phrase.

        Returns the people waiting for a follow-up and not yet told; mark each with
        `mark_notified` once the message is delivered.
        """
        async with self.session() as session, session.begin():
            row = await session.get(UnmatchedQuery, query_id, with_for_update=True)
            if row is None:
                raise NotFoundError("queued claim", str(query_id))
            incident = (
                await session.execute(
                    select(Incident).where(
                        col(Incident.key) == incident_key, col(Incident.deleted_at).is_(None)
                    )
                )
            ).scalar_one_or_none()
            if incident is None:
                raise NotFoundError("incident", incident_key)
            phrase = row.sample_text[:500]
            exists = (
                await session.execute(
                    select(col(MatchPhrase.id)).where(
                        col(MatchPhrase.incident_id) == incident.id,
                        col(MatchPhrase.text) == phrase,
                    )
                )
            ).first()
            if exists is None:
                position = (
                    await session.execute(
                        select(func.count()).where(col(MatchPhrase.incident_id) == incident.id)
                    )
                ).scalar_one()
                session.add(
                    MatchPhrase(
                        incident_id=incident.id or 0,
                        text=phrase,
                        position=int(position),
                        added_by=actor.user_id,
                    )
                )
            # Linking changes what the incident is found by: it is an edit of the incident
            # (a new version, an incident audit event), so that an undo or a stale form
            # of someone else's sees it.
            incident.version += 1
            incident.updated_at = utcnow()
            session.add(IncidentChange(incident_key=incident_key, at=utcnow()))
            row.status = QueueStatus.LINKED
            row.linked_incident_id = incident.id
            row.resolved_by = actor.user_id
            row.resolved_at = utcnow()
            askers = (
                (
                    await session.execute(
                        select(UnmatchedAsker).where(
                            col(UnmatchedAsker.query_id) == query_id,
                            col(UnmatchedAsker.wants_follow_up).is_(True),
                            col(UnmatchedAsker.notified_at).is_(None),
                        )
                    )
                )
                .scalars()
                .all()
            )
            session.add(
                audit_event(
                    actor,
                    "link",
                    "incident",
                    incident_key,
                    {"query": query_id, "phrase_added": exists is None},
                    {"query": query_id, "phrase": phrase},
                )
            )
            return [
                FollowUp(query_id, a.user_id, a.chat_id, a.language, a.asked_at.date())
                for a in askers
            ]

    async def mark_notified(self, query_id: int, user_id: int) -> None:
        async with self.session() as session, session.begin():
            await session.execute(
                update(UnmatchedAsker)
                .where(
                    col(UnmatchedAsker.query_id) == query_id,
                    col(UnmatchedAsker.user_id) == user_id,
                )
                .values(notified_at=utcnow())
            )

    async def dismiss_query(self, query_id: int, actor: Actor) -> None:
        async with self.session() as session, session.begin():
            row = await session.get(UnmatchedQuery, query_id)
            if row is None:
                raise NotFoundError("queued claim", str(query_id))
            row.status = QueueStatus.DISMISSED
            row.resolved_by = actor.user_id
            row.resolved_at = utcnow()
            session.add(
                audit_event(actor, "dismiss", "queue", str(query_id), {"claim": row.sample_text})
            )

    async def save_feedback(
        self,
        incident_key: str,
        user_id: int,
        helpful: bool,
        judged_wrong: UnmatchedClaim | None = None,
    ) -> bool:
        """One vote per user per incident; voting again changes the vote. With
        `judged_wrong`, the claim the answer was given to is queued, marked with the
        incident it was answered with, in the same transaction."""
        async with self._gate, self.session() as session, session.begin():
            incident_id = (
                await session.execute(
                    select(col(Incident.id)).where(col(Incident.key) == incident_key)
                )
            ).scalar_one_or_none()
            if incident_id is None:
                return False
            row = (
                await session.execute(
                    select(Feedback).where(
                        col(Feedback.incident_id) == incident_id, col(Feedback.user_id) == user_id
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                session.add(Feedback(incident_id=incident_id, user_id=user_id, helpful=helpful))
            else:
                row.helpful = helpful
                row.updated_at = utcnow()
            if judged_wrong is not None:
                await self._record_in(session, [judged_wrong])
            return True

    async def feedback_counts(self, incident_key: str) -> tuple[int, int]:
        """(helpful, not helpful) votes for an incident."""
        async with self.session() as session:
            query = (
                select(col(Feedback.helpful), func.count())
                .join(Incident, col(Incident.id) == col(Feedback.incident_id))
                .where(col(Incident.key) == incident_key)
                .group_by(col(Feedback.helpful))
            )
            counts = {bool(helpful): int(n) for helpful, n in await session.execute(query)}
        return counts.get(True, 0), counts.get(False, 0)

    async def languages_of(self, user_ids: Sequence[int]) -> list[str | None]:
        """Each user's /lang choice (None where there is none), in the order asked;
        one query for them all."""
        async with self.session() as session:
            rows = await session.execute(
                select(col(UserPreference.user_id), col(UserPreference.language)).where(
                    col(UserPreference.user_id).in_(set(user_ids))
                )
            )
            chosen = {int(user_id): language for user_id, language in rows}
        return [chosen.get(user_id) for user_id in user_ids]

    async def set_language(self, user_id: int, language: str) -> None:
        async with self.session() as session, session.begin():
            row = await session.get(UserPreference, user_id)
            if row is None:
                session.add(UserPreference(user_id=user_id, language=language))
            else:
                row.language = language
                row.updated_at = utcnow()
