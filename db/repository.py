"""The queries the bot needs, over an async session factory.

Reads assemble whole `IncidentView`s in a fixed number of queries however many incidents
are asked for (no N+1). Every write runs in one transaction and records an AuditEvent in
that same transaction, so a change and its audit trail land together or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, col

from db.models import (
    Account,
    AccountStance,
    AuditEvent,
    Feedback,
    Figure,
    FormDraft,
    InboxUpdate,
    Incident,
    IncidentChange,
    KnownPostRecord,
    MatchPhrase,
    Moderator,
    PendingUpload,
    Point,
    RateWindow,
    Source,
    UnmatchedAsker,
    UnmatchedQuery,
    UserPreference,
    utcnow,
)
from domain.dataset import incident_to_json, parse_incident, source_to_json
from domain.model import (
    AccountView,
    DatePrecision,
    FigureView,
    IncidentStatus,
    IncidentView,
    KnownPost,
    NameGroup,
    PointView,
    QueueStatus,
    Role,
    SourceKind,
    SourceView,
    Stance,
    StanceView,
    Translation,
)

# Writers that take turns in this process: SQLite has one writer at a time, and writers
# that meet there wait in its busy handler, sleeping in steps of up to 100 ms.
WriteGate = contextlib.AbstractAsyncContextManager[Any]


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


@dataclass(frozen=True)
class StanceSummary:
    """For one point: which accounts assert it, which dispute it, which partly agree."""

    point_key: str
    asserting: tuple[str, ...]
    disputing: tuple[str, ...]
    partly: tuple[str, ...]


# --- rows <-> views ----------------------------------------------------------------------


def source_view(row: Source) -> SourceView:
    return SourceView(
        key=row.key,
        name=row.name,
        kind=SourceKind(row.kind),
        affiliation=row.affiliation,
        aliases=tuple(row.aliases),
        homepage=row.homepage,
        version=row.version,
    )


def _source_values(view: SourceView) -> dict[str, Any]:
    return {
        "key": view.key,
        "name": view.name,
        "kind": view.kind.value,
        "affiliation": view.affiliation,
        "aliases": list(view.aliases),
        "homepage": view.homepage,
    }


def _incident_values(view: IncidentView) -> dict[str, Any]:
    return {
        "key": view.key,
        "title": view.title,
        "summary": view.summary,
        "place": view.place,
        "place_aliases": list(view.place_aliases),
        "country": view.country,
        "region": view.region,
        "date_start": view.date_start,
        "date_end": view.date_end,
        "date_precision": view.date_precision.value,
        "date_note": view.date_note,
        "status": view.status.value,
        "keywords": list(view.keywords),
        "names": [{"name": g.name, "aliases": list(g.aliases)} for g in view.names],
        "translations": {
            lang: {"title": t.title, "summary": t.summary} for lang, t in view.translations.items()
        },
    }


class Repository:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    def session(self) -> AsyncSession:
        session: AsyncSession = self._sessions()
        return session

    # --- reading incidents ---------------------------------------------------------------

    async def get_incident(self, key: str, *, include_deleted: bool = False) -> IncidentView | None:
        async with self.session() as session:
            query = select(Incident).where(col(Incident.key) == key)
            if not include_deleted:
                query = query.where(col(Incident.deleted_at).is_(None))
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                return None
            return (await self._assemble(session, [row]))[0]

    async def get_incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        async with self.session() as session:
            rows = (
                (
                    await session.execute(
                        select(Incident).where(
                            col(Incident.key).in_(wanted), col(Incident.deleted_at).is_(None)
                        )
                    )
                )
                .scalars()
                .all()
            )
            return {view.key: view for view in await self._assemble(session, rows)}

    async def incident_states(
        self, keys: Iterable[str]
    ) -> dict[str, tuple[IncidentView, dt.datetime | None, dt.datetime]]:
        """Stored incidents by key, deleted ones too, each with when it was deleted (None if
        live) and last changed: what an import of them would do."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        async with self.session() as session:
            rows = (
                (await session.execute(select(Incident).where(col(Incident.key).in_(wanted))))
                .scalars()
                .all()
            )
            views = {view.key: view for view in await self._assemble(session, rows)}
            return {row.key: (views[row.key], row.deleted_at, row.updated_at) for row in rows}

    async def iter_incidents(
        self, *, batch_size: int = 500, include_deleted: bool = False
    ) -> AsyncIterator[IncidentView]:
        """Every incident, in id order, a batch at a time (bounded memory for export/index)."""
        last_id = 0
        while True:
            async with self.session() as session:
                query = (
                    select(Incident)
                    .where(col(Incident.id) > last_id)
                    .order_by(col(Incident.id))
                    .limit(batch_size)
                )
                if not include_deleted:
                    query = query.where(col(Incident.deleted_at).is_(None))
                rows = (await session.execute(query)).scalars().all()
                if not rows:
                    return
                views = await self._assemble(session, rows)
            last_id = rows[-1].id or last_id
            for view in views:
                yield view

    async def incident_keys_starting(self, prefix: str) -> set[str]:
        """Keys that begin with `prefix`, deleted ones too: what a new key must not repeat."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        async with self.session() as session:
            query = select(col(Incident.key)).where(
                col(Incident.key).like(f"{escaped}%", escape="\\")
            )
            return set((await session.execute(query)).scalars())

    async def recent_incidents(self, limit: int = 10) -> list[tuple[str, str]]:
        """(key, title) of the most recently changed live incidents."""
        async with self.session() as session:
            query = (
                select(col(Incident.key), col(Incident.title))
                .where(col(Incident.deleted_at).is_(None))
                .order_by(col(Incident.updated_at).desc(), col(Incident.id).desc())
                .limit(limit)
            )
            return [(key, title) for key, title in await session.execute(query)]

    async def count_incidents(self) -> int:
        async with self.session() as session:
            query = select(func.count()).select_from(Incident)
            query = query.where(col(Incident.deleted_at).is_(None))
            return int((await session.execute(query)).scalar_one())

    async def _assemble(
        self, session: AsyncSession, rows: Sequence[Incident]
    ) -> list[IncidentView]:
        """Build full views for incident rows in seven queries, whatever their number."""
        if not rows:
            return []
        ids = [row.id for row in rows]
        points_by_incident: dict[int, list[Point]] = defaultdict(list)
        point_keys: dict[int, str] = {}
        for point in (
            await session.execute(
                select(Point)
                .where(col(Point.incident_id).in_(ids), col(Point.deleted_at).is_(None))
                .order_by(col(Point.incident_id), col(Point.position), col(Point.id))
            )
        ).scalars():
            points_by_incident[point.incident_id].append(point)
            point_keys[point.id or 0] = point.key

        accounts_by_incident: dict[int, list[tuple[Account, Source]]] = defaultdict(list)
        account_ids: list[int] = []
        for account, source in await session.execute(
            select(Account, Source)
            .join(Source, col(Source.id) == col(Account.source_id))
            .where(col(Account.incident_id).in_(ids), col(Account.deleted_at).is_(None))
            .order_by(col(Account.incident_id), col(Account.position), col(Account.id))
        ):
            accounts_by_incident[account.incident_id].append((account, source))
            account_ids.append(account.id or 0)

        figures: dict[int, list[FigureView]] = defaultdict(list)
        stances: dict[int, list[StanceView]] = defaultdict(list)
        if account_ids:
            for figure in (
                await session.execute(
                    select(Figure)
                    .where(col(Figure.account_id).in_(account_ids))
                    .order_by(col(Figure.account_id), col(Figure.position), col(Figure.id))
                )
            ).scalars():
                figures[figure.account_id].append(
                    FigureView(
                        label=figure.label,
                        raw=figure.raw,
                        min=figure.min_value,
                        max=figure.max_value,
                        point_key=point_keys.get(figure.point_id) if figure.point_id else None,
                    )
                )
            for stance in (
                await session.execute(
                    select(AccountStance)
                    .where(col(AccountStance.account_id).in_(account_ids))
                    .order_by(col(AccountStance.account_id), col(AccountStance.id))
                )
            ).scalars():
                if stance.point_id in point_keys:
                    stances[stance.account_id].append(
                        StanceView(point_keys[stance.point_id], Stance(stance.stance), stance.note)
                    )

        phrases: dict[int, list[str]] = defaultdict(list)
        for phrase in (
            await session.execute(
                select(MatchPhrase)
                .where(col(MatchPhrase.incident_id).in_(ids))
                .order_by(
                    col(MatchPhrase.incident_id), col(MatchPhrase.position), col(MatchPhrase.id)
                )
            )
        ).scalars():
            phrases[phrase.incident_id].append(phrase.text)

        posts: dict[int, list[KnownPost]] = defaultdict(list)
        for post in (
            await session.execute(
                select(KnownPostRecord)
                .where(col(KnownPostRecord.incident_id).in_(ids))
                .order_by(
                    col(KnownPostRecord.incident_id),
                    col(KnownPostRecord.position),
                    col(KnownPostRecord.id),
                )
            )
        ).scalars():
            posts[post.incident_id].append(KnownPost(post.channel, post.message_id))

        sources: dict[int, SourceView] = {}
        views = []
        for row in rows:
            row_id = row.id or 0
            accounts = []
            for account, source in accounts_by_incident[row_id]:
                source_id = source.id or 0
                if source_id not in sources:
                    sources[source_id] = source_view(source)
                accounts.append(
                    AccountView(
                        key=account.key,
                        source=sources[source_id],
                        summary=account.summary,
                        published_on=account.published_on,
                        url=account.url,
                        language=account.language,
                        figures=tuple(figures[account.id or 0]),
                        stances=tuple(stances[account.id or 0]),
                        version=account.version,
                    )
                )
            views.append(
                IncidentView(
                    key=row.key,
                    title=row.title,
                    summary=row.summary,
                    place=row.place,
                    place_aliases=tuple(row.place_aliases),
                    country=row.country,
                    region=row.region,
                    date_start=row.date_start,
                    date_end=row.date_end,
                    date_precision=DatePrecision(row.date_precision),
                    date_note=row.date_note,
                    status=IncidentStatus(row.status),
                    keywords=tuple(row.keywords),
                    names=tuple(
                        NameGroup(g["name"], tuple(g.get("aliases", []))) for g in row.names
                    ),
                    translations={
                        lang: Translation(t["title"], t.get("summary", ""))
                        for lang, t in row.translations.items()
                    },
                    points=tuple(
                        PointView(p.key, p.text, dict(p.translations), p.version)
                        for p in points_by_incident[row_id]
                    ),
                    accounts=tuple(accounts),
                    phrases=tuple(phrases[row_id]),
                    posts=tuple(posts[row_id]),
                    version=row.version,
                )
            )
        return views

    # --- questions about stances ---------------------------------------------------------

    async def accounts_taking(self, incident_key: str, point_key: str, stance: Stance) -> list[str]:
        """Keys of the accounts of an incident that take `stance` on one point."""
        async with self.session() as session:
            query = (
                select(col(Account.key))
                .join(AccountStance, col(AccountStance.account_id) == col(Account.id))
                .join(Point, col(Point.id) == col(AccountStance.point_id))
                .join(Incident, col(Incident.id) == col(Account.incident_id))
                .where(
                    col(Incident.key) == incident_key,
                    col(Point.key) == point_key,
                    col(AccountStance.stance) == stance.value,
                    col(Account.deleted_at).is_(None),
                    col(Point.deleted_at).is_(None),
                )
                .order_by(col(Account.position), col(Account.id))
            )
            return list((await session.execute(query)).scalars())

    async def stance_summary(self, incident_key: str) -> list[StanceSummary]:
        """Per point, who asserts and who disputes it: where the accounts contradict each other."""
        async with self.session() as session:
            query = (
                select(col(Point.key), col(AccountStance.stance), col(Account.key))
                .join(AccountStance, col(AccountStance.point_id) == col(Point.id))
                .join(Account, col(Account.id) == col(AccountStance.account_id))
                .join(Incident, col(Incident.id) == col(Point.incident_id))
                .where(
                    col(Incident.key) == incident_key,
                    col(Account.deleted_at).is_(None),
                    col(Point.deleted_at).is_(None),
                )
                .order_by(
                    col(Point.position), col(Point.id), col(Account.position), col(Account.id)
                )
            )
            grouped: dict[str, dict[str, list[str]]] = {}
            for point_key, stance, account_key in await session.execute(query):
                grouped.setdefault(point_key, defaultdict(list))[stance].append(account_key)
        return [
            StanceSummary(
                point_key,
                tuple(by_stance[Stance.ASSERTS]),
                tuple(by_stance[Stance.DISPUTES]),
                tuple(by_stance[Stance.PARTLY]),
            )
            for point_key, by_stance in grouped.items()
        ]

    async def post_owners(self) -> dict[tuple[str, int], str]:
        """Every recorded channel post, by the incident it belongs to (deleted ones too: a
        post stays claimed while its incident can be restored)."""
        async with self.session() as session:
            rows = await session.execute(
                select(
                    col(KnownPostRecord.channel), col(KnownPostRecord.message_id), col(Incident.key)
                ).join(Incident, col(KnownPostRecord.incident_id) == col(Incident.id))
            )
            return {(channel, int(message_id)): key for channel, message_id, key in rows}

    async def incident_for_post(self, channel: str, message_id: int) -> str | None:
        async with self.session() as session:
            query = (
                select(col(Incident.key))
                .join(KnownPostRecord, col(KnownPostRecord.incident_id) == col(Incident.id))
                .where(
                    col(KnownPostRecord.channel) == channel,
                    col(KnownPostRecord.message_id) == message_id,
                    col(Incident.deleted_at).is_(None),
                )
            )
            return (await session.execute(query)).scalar_one_or_none()

    # --- sources -------------------------------------------------------------------------

    async def list_sources(self, *, include_deleted: bool = False) -> list[SourceView]:
        async with self.session() as session:
            query = select(Source).order_by(col(Source.id))
            if not include_deleted:
                query = query.where(col(Source.deleted_at).is_(None))
            return [source_view(row) for row in (await session.execute(query)).scalars()]

    async def get_source(self, key: str) -> SourceView | None:
        async with self.session() as session:
            row = (
                await session.execute(
                    select(Source).where(col(Source.key) == key, col(Source.deleted_at).is_(None))
                )
            ).scalar_one_or_none()
            return source_view(row) if row else None

    async def incidents_citing(self, source_key: str) -> list[str]:
        """Keys of the incidents with an account from this source."""
        async with self.session() as session:
            query = (
                select(col(Incident.key))
                .join(Account, col(Account.incident_id) == col(Incident.id))
                .join(Source, col(Source.id) == col(Account.source_id))
                .where(col(Source.key) == source_key)
                .distinct()
            )
            return list((await session.execute(query)).scalars())

    async def source_keys(self) -> set[str]:
        async with self.session() as session:
            return set((await session.execute(select(col(Source.key)))).scalars())

    # --- whole-record writes (dataset import, guided forms) ------------------------------

    async def save_sources(
        self, sources: Iterable[SourceView], actor: Actor, session: AsyncSession | None = None
    ) -> SaveOutcome:
        """Create or update sources by id; identical ones are left untouched."""
        if session is None:
            async with self.session() as own, own.begin():
                return await self.save_sources(sources, actor, own)
        outcome = SaveOutcome()
        incoming = {s.key: s for s in sources}
        if not incoming:
            return outcome
        existing = {
            row.key: row
            for row in (
                await session.execute(select(Source).where(col(Source.key).in_(list(incoming))))
            ).scalars()
        }
        now = utcnow()
        for key, view in incoming.items():
            row = existing.get(key)
            after = source_to_json(view)
            if row is None:
                session.add(Source(**_source_values(view), created_at=now, updated_at=now))
                outcome.created.append(key)
                session.add(audit_event(actor, "create", "source", key, None, after))
                continue
            before = source_to_json(source_view(row))
            if before == after and row.deleted_at is None:
                outcome.unchanged += 1
                continue
            for name, value in _source_values(view).items():
                setattr(row, name, value)
            row.deleted_at = None
            row.version += 1
            row.updated_at = now
            outcome.updated.append(key)
            session.add(audit_event(actor, "update", "source", key, before, after))
            # Incidents show and are matched by their sources' names: every replica must
            # re-read the ones citing this source.
            citing = await session.execute(
                select(col(Incident.key))
                .join(Account, col(Account.incident_id) == col(Incident.id))
                .where(col(Account.source_id) == row.id)
                .distinct()
            )
            session.add_all(IncidentChange(incident_key=k, at=now) for k in citing.scalars())
        await session.flush()
        return outcome

    async def save_source(
        self, source: SourceView, actor: Actor, *, expected_version: int | None
    ) -> SourceView:
        """Create (expected_version None) or change one source, refusing stale edits."""
        async with self.session() as session, session.begin():
            row = (
                await session.execute(select(Source).where(col(Source.key) == source.key))
            ).scalar_one_or_none()
            if expected_version is None and row is not None:
                raise RepositoryError(f"a source with id {source.key!r} already exists")
            if expected_version is not None:
                if row is None:
                    raise NotFoundError("source", source.key)
                if row.version != expected_version:
                    raise ConflictError("source", source.key, expected_version, row.version)
            await self.save_sources([source], actor, session)
            saved = (
                await session.execute(
                    select(Source)
                    .where(col(Source.key) == source.key)
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
            return source_view(saved)

    async def save_incidents(
        self,
        incidents: Sequence[IncidentView],
        actor: Actor,
        session: AsyncSession | None = None,
        *,
        audit_creations: bool = True,
        expected_versions: Mapping[str, int] | None = None,
        audit_action: str = "update",
    ) -> SaveOutcome:
        """Create or replace whole incidents by id; identical ones are left untouched.

        The incident's points and accounts become exactly those given (dataset semantics).
        With `expected_versions`, an incident changed by someone else since it was read at
        that version is refused with ConflictError, and nothing is written.
        """
        if session is None:
            async with self.session() as own, own.begin():
                return await self.save_incidents(
                    incidents,
                    actor,
                    own,
                    audit_creations=audit_creations,
                    expected_versions=expected_versions,
                    audit_action=audit_action,
                )
        expected_versions = expected_versions or {}
        outcome = SaveOutcome()
        if not incidents:
            return outcome
        keys = [i.key for i in incidents]
        existing_rows = (
            (await session.execute(select(Incident).where(col(Incident.key).in_(keys))))
            .scalars()
            .all()
        )
        existing = {row.key: row for row in existing_rows}
        current = {v.key: v for v in await self._assemble(session, existing_rows)}
        source_ids = await self._source_ids(session, incidents)
        now = utcnow()
        new_views = [v for v in incidents if v.key not in existing]
        if new_views:
            inserted = await session.execute(
                insert(Incident).returning(col(Incident.id), col(Incident.key)),
                [
                    {**_incident_values(v), "version": 1, "created_at": now, "updated_at": now}
                    for v in new_views
                ],
            )
            new_ids = {key: int(row_id or 0) for row_id, key in inserted}
            await self._insert_children(
                session, [(new_ids[v.key], v) for v in new_views], source_ids
            )
            outcome.created.extend(v.key for v in new_views)
            if audit_creations:
                for view in new_views:
                    session.add(
                        audit_event(
                            actor, "create", "incident", view.key, None, incident_to_json(view)
                        )
                    )
        for view in incidents:
            row = existing.get(view.key)
            if row is None:
                continue
            before_view = current.get(view.key)
            before = incident_to_json(before_view) if before_view else None
            after = incident_to_json(view)
            expected = expected_versions.get(view.key, row.version)
            if row.version != expected:
                raise ConflictError("incident", view.key, expected, row.version)
            if before == after and row.deleted_at is None:
                outcome.unchanged += 1
                continue
            row_id = row.id or 0
            # The version test in the statement itself catches a writer that committed
            # between our read and this update (SQLite reads take no locks).
            result = await session.execute(
                update(Incident)
                .where(col(Incident.id) == row_id, col(Incident.version) == expected)
                .values(
                    **_incident_values(view),
                    version=Incident.version + 1,
                    updated_at=now,
                    deleted_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise ConflictError("incident", view.key, expected, expected + 1)
            await self._delete_children(session, row_id)
            await self._insert_children(session, [(row_id, view)], source_ids)
            outcome.updated.append(view.key)
            session.add(audit_event(actor, audit_action, "incident", view.key, before, after))
        changed = [*outcome.created, *outcome.updated]
        if changed:
            await session.execute(
                insert(IncidentChange), [{"incident_key": k, "at": now} for k in changed]
            )
        await session.flush()
        return outcome

    async def save_incident(
        self,
        incident: IncidentView,
        actor: Actor,
        *,
        expected_version: int | None,
        audit_action: str = "update",
    ) -> IncidentView:
        """Create (expected_version None) or replace one incident, refusing stale edits."""
        async with self.session() as session, session.begin():
            exists = (
                await session.execute(
                    select(col(Incident.version)).where(col(Incident.key) == incident.key)
                )
            ).scalar_one_or_none()
            if expected_version is None and exists is not None:
                raise RepositoryError(f"an incident with id {incident.key!r} already exists")
            if expected_version is not None and exists is None:
                raise NotFoundError("incident", incident.key)
            versions = {incident.key: expected_version} if expected_version is not None else {}
            await self.save_incidents(
                [incident], actor, session, expected_versions=versions, audit_action=audit_action
            )
            return await self._incident_in(session, incident.key, fresh=True)

    async def _source_ids(
        self, session: AsyncSession, incidents: Sequence[IncidentView]
    ) -> dict[str, int]:
        wanted = {a.source.key for i in incidents for a in i.accounts}
        if not wanted:
            return {}
        rows = await session.execute(
            select(col(Source.key), col(Source.id)).where(col(Source.key).in_(list(wanted)))
        )
        found = {key: int(row_id or 0) for key, row_id in rows}
        missing = wanted - set(found)
        if missing:
            raise NotFoundError("source", sorted(missing)[0])
        return found

    async def _delete_children(self, session: AsyncSession, incident_id: int) -> None:
        # Explicit deletes rather than relying on ON DELETE CASCADE, which SQLite only honours
        # with foreign keys switched on.
        account_ids = select(col(Account.id)).where(col(Account.incident_id) == incident_id)
        await session.execute(delete(Figure).where(col(Figure.account_id).in_(account_ids)))
        await session.execute(
            delete(AccountStance).where(col(AccountStance.account_id).in_(account_ids))
        )
        await session.execute(delete(Account).where(col(Account.incident_id) == incident_id))
        await session.execute(delete(Point).where(col(Point.incident_id) == incident_id))
        await session.execute(
            delete(MatchPhrase).where(col(MatchPhrase.incident_id) == incident_id)
        )
        await session.execute(
            delete(KnownPostRecord).where(col(KnownPostRecord.incident_id) == incident_id)
        )

    async def _insert_children(
        self,
        session: AsyncSession,
        incidents: Sequence[tuple[int, IncidentView]],
        source_ids: dict[str, int],
    ) -> None:
        now = utcnow()
        point_rows = [
            {
                "incident_id": incident_id,
                "key": p.key,
                "position": n,
                "text": p.text,
                "translations": dict(p.translations),
                "created_at": now,
                "updated_at": now,
            }
            for incident_id, view in incidents
            for n, p in enumerate(view.points)
        ]
        point_ids: dict[tuple[int, str], int] = {}
        if point_rows:
            result = await session.execute(
                insert(Point).returning(col(Point.id), col(Point.incident_id), col(Point.key)),
                point_rows,
            )
            point_ids = {(inc, key): int(pid or 0) for pid, inc, key in result}
        account_rows = [
            {
                "incident_id": incident_id,
                "source_id": source_ids[a.source.key],
                "key": a.key,
                "position": n,
                "summary": a.summary,
                "published_on": a.published_on,
                "url": a.url,
                "language": a.language,
                "created_at": now,
                "updated_at": now,
            }
            for incident_id, view in incidents
            for n, a in enumerate(view.accounts)
        ]
        if account_rows:
            result = await session.execute(
                insert(Account).returning(
                    col(Account.id), col(Account.incident_id), col(Account.key)
                ),
                account_rows,
            )
            account_ids = {(inc, key): int(aid or 0) for aid, inc, key in result}
            figure_rows: list[dict[str, Any]] = []
            stance_rows: list[dict[str, Any]] = []
            for incident_id, view in incidents:
                for account in view.accounts:
                    account_id = account_ids[(incident_id, account.key)]
                    figure_rows.extend(
                        {
                            "account_id": account_id,
                            "point_id": point_ids.get((incident_id, f.point_key))
                            if f.point_key
                            else None,
                            "position": n,
                            "label": f.label,
                            "raw": f.raw,
                            "min_value": f.min,
                            "max_value": f.max,
                        }
                        for n, f in enumerate(account.figures)
                    )
                    stance_rows.extend(
                        {
                            "account_id": account_id,
                            "point_id": point_ids[(incident_id, s.point_key)],
                            "stance": s.stance.value,
                            "note": s.note,
                        }
                        for s in account.stances
                    )
            if figure_rows:
                await session.execute(insert(Figure), figure_rows)
            if stance_rows:
                await session.execute(insert(AccountStance), stance_rows)
        phrase_rows = [
            {"incident_id": incident_id, "text": text, "position": n, "created_at": now}
            for incident_id, view in incidents
            for n, text in enumerate(view.phrases)
        ]
        if phrase_rows:
            await session.execute(insert(MatchPhrase), phrase_rows)
        post_rows = [
            {
                "incident_id": incident_id,
                "channel": post.channel,
                "message_id": post.message_id,
                "position": n,
            }
            for incident_id, view in incidents
            for n, post in enumerate(view.posts)
        ]
        if post_rows:
            await session.execute(insert(KnownPostRecord), post_rows)

    # --- field edits with optimistic locking ---------------------------------------------

    async def edit_incident(
        self, key: str, expected_version: int, changes: dict[str, Any], actor: Actor
    ) -> IncidentView:
        """Change some fields of an incident, refusing if it changed since `expected_version`."""
        allowed = set(_incident_values(IncidentView("k", "t", "s", "p"))) - {"key"}
        unknown = set(changes) - allowed
        if unknown:
            raise RepositoryError(f"cannot edit field(s): {', '.join(sorted(unknown))}")
        async with self.session() as session, session.begin():
            before = await self._incident_in(session, key)
            result = await session.execute(
                update(Incident)
                .where(
                    col(Incident.key) == key,
                    col(Incident.version) == expected_version,
                    col(Incident.deleted_at).is_(None),
                )
                .values(**changes, version=Incident.version + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise ConflictError("incident", key, expected_version, before.version)
            after = await self._incident_in(session, key, fresh=True)
            session.add(
                audit_event(
                    actor,
                    "update",
                    "incident",
                    key,
                    incident_to_json(before),
                    incident_to_json(after),
                )
            )
        return after

    async def _incident_in(
        self, session: AsyncSession, key: str, *, fresh: bool = False
    ) -> IncidentView:
        query = select(Incident).where(col(Incident.key) == key, col(Incident.deleted_at).is_(None))
        if fresh:
            query = query.execution_options(populate_existing=True)
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise NotFoundError("incident", key)
        return (await self._assemble(session, [row]))[0]

    async def set_incident_deleted(
        self, key: str, deleted: bool, actor: Actor, *, audit_action: str | None = None
    ) -> IncidentView:
        """Soft-delete an incident, or undo that; the record itself is kept."""
        async with self.session() as session, session.begin():
            return await self.set_deleted_in(session, key, deleted, actor, audit_action)

    async def set_deleted_in(
        self,
        session: AsyncSession,
        key: str,
        deleted: bool,
        actor: Actor,
        audit_action: str | None = None,
    ) -> IncidentView:
        """`set_incident_deleted` inside the caller's transaction."""
        row = (
            await session.execute(select(Incident).where(col(Incident.key) == key))
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError("incident", key)
        row.deleted_at = utcnow() if deleted else None
        row.version += 1
        row.updated_at = utcnow()
        session.add(IncidentChange(incident_key=key, at=utcnow()))
        await session.flush()
        view = (await self._assemble(session, [row]))[0]
        session.add(
            audit_event(
                actor,
                audit_action or ("delete" if deleted else "restore"),
                "incident",
                key,
                None,
                None,
            )
        )
        return view

    # --- audit -----------------------------------------------------------------------------

    async def latest_audit(
        self,
        limit: int = 20,
        *,
        user_id: int | None = None,
        action: str | None = None,
        refusals: bool = False,
    ) -> list[AuditEvent]:
        """The latest audit events, newest first; refused attempts only when asked for
        (by `refusals`, or `action="refused"`)."""
        query = select(AuditEvent)
        if user_id is not None:
            query = query.where(col(AuditEvent.actor_id) == user_id)
        if action is not None:
            query = query.where(col(AuditEvent.action) == action)
        elif not refusals:
            query = query.where(col(AuditEvent.action) != "refused")
        async with self.session() as session:
            ordered = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
            return list((await session.execute(ordered.limit(limit))).scalars())


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


def _insert_for(session: AsyncSession) -> Any:
    """`insert` of the session's dialect, which has ON CONFLICT (upserts) on both."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class UnmatchedClaim:
    """A claim nobody could match, as one user asked it in one chat."""

    normalized: str
    claim: str
    user_id: int
    chat_id: int
    language: str | None


class CommunityRepository:
    """What users leave behind: unmatched claims, follow-up requests, feedback, settings."""

    def __init__(
        self, sessions: async_sessionmaker[Any], write_gate: WriteGate | None = None
    ) -> None:
        self._sessions = sessions
        self._gate = write_gate or contextlib.nullcontext()

    async def record_unmatched(
        self,
        normalized: str,
        claim: str,
        *,
        user_id: int,
        chat_id: int,
        language: str | None,
    ) -> int:
        """Queue a claim nobody could match; asking again counts it, never duplicates it."""
        (query_id,) = await self.record_unmatched_many(
            [UnmatchedClaim(normalized, claim, user_id, chat_id, language)]
        )
        return query_id

    async def forget_unmatched(self, older_than: dt.datetime) -> int:
        """Delete the claims last asked before `older_than`, with who asked them (their
        user and chat ids): the retention of what people sent that matched nothing.
        Returns how many claims went."""
        async with self._sessions() as session, session.begin():
            old = select(col(UnmatchedQuery.id)).where(
                col(UnmatchedQuery.last_asked_at) < older_than
            )
            await session.execute(
                delete(UnmatchedAsker).where(col(UnmatchedAsker.query_id).in_(old))
            )
            gone = await session.execute(
                delete(UnmatchedQuery).where(col(UnmatchedQuery.last_asked_at) < older_than)
            )
            return int(getattr(gone, "rowcount", 0) or 0)

    async def record_unmatched_many(self, claims: Sequence[UnmatchedClaim]) -> list[int]:
        """Queue many unmatched claims in one transaction; their query ids, in order.

        Counted as one at a time would be: each distinct asker of a wording counts once,
        and asking again reopens a closed entry. A fixed handful of statements however
        many claims, and no read-then-write: the count grows by the askers actually
        inserted, so two processes recording the same wording cannot double-count it.
        """
        if not claims:
            return []
        now = utcnow()
        texts = [c.normalized[:500] for c in claims]
        samples: dict[str, str] = {}
        for text, claim in zip(texts, claims, strict=True):
            samples.setdefault(text, claim.claim)  # the first wording asked is shown
        queries = SQLModel.metadata.tables[UnmatchedQuery.__tablename__]
        askers = SQLModel.metadata.tables[UnmatchedAsker.__tablename__]
        async with self._gate, self._sessions() as session, session.begin():
            insert_into = _insert_for(session)
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
        async with self._sessions() as session, session.begin():
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
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(UnmatchedAsker)
                .where(
                    col(UnmatchedAsker.query_id) == query_id,
                    col(UnmatchedAsker.user_id) == user_id,
                )
                .values(wants_follow_up=True, chat_id=chat_id)
            )
            return bool(result.rowcount)

    async def open_queue(self, limit: int = 20, offset: int = 0) -> list[QueueEntry]:
        """Unmatched claims, most asked first."""
        async with self._sessions() as session:
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
                )
                for row, count in await session.execute(query)
            ]

    async def queue_size(self) -> int:
        async with self._sessions() as session:
            query = select(func.count()).where(col(UnmatchedQuery.status) == QueueStatus.OPEN.value)
            return int((await session.execute(query)).scalar_one())

    async def link_query(self, query_id: int, incident_key: str, actor: Actor) -> list[FollowUp]:
        """Link a queued claim to an incident: its wording becomes a matching phrase.

        Returns the people waiting for a follow-up and not yet told; mark each with
        `mark_notified` once the message is delivered.
        """
        async with self._sessions() as session, session.begin():
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
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(UnmatchedAsker)
                .where(
                    col(UnmatchedAsker.query_id) == query_id,
                    col(UnmatchedAsker.user_id) == user_id,
                )
                .values(notified_at=utcnow())
            )

    async def dismiss_query(self, query_id: int, actor: Actor) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(UnmatchedQuery, query_id)
            if row is None:
                raise NotFoundError("queued claim", str(query_id))
            row.status = QueueStatus.DISMISSED
            row.resolved_by = actor.user_id
            row.resolved_at = utcnow()
            session.add(
                audit_event(actor, "dismiss", "queue", str(query_id), {"claim": row.sample_text})
            )

    async def save_feedback(self, incident_key: str, user_id: int, helpful: bool) -> bool:
        """One vote per user per incident; voting again changes the vote."""
        async with self._sessions() as session, session.begin():
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
            return True

    async def feedback_counts(self, incident_key: str) -> tuple[int, int]:
        """(helpful, not helpful) votes for an incident."""
        async with self._sessions() as session:
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
        async with self._sessions() as session:
            rows = await session.execute(
                select(col(UserPreference.user_id), col(UserPreference.language)).where(
                    col(UserPreference.user_id).in_(set(user_ids))
                )
            )
            chosen = {int(user_id): language for user_id, language in rows}
        return [chosen.get(user_id) for user_id in user_ids]

    async def set_language(self, user_id: int, language: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(UserPreference, user_id)
            if row is None:
                session.add(UserPreference(user_id=user_id, language=language))
            else:
                row.language = language
                row.updated_at = utcnow()


class StaffRepository:
    """Moderators and admins, the audit trail of their changes, and undo."""

    def __init__(self, sessions: async_sessionmaker[Any], repository: Repository) -> None:
        self._sessions = sessions
        self._repository = repository

    async def role_of(self, user_id: int) -> Role | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Moderator).where(
                        col(Moderator.telegram_user_id) == user_id,
                        col(Moderator.removed_at).is_(None),
                    )
                )
            ).scalar_one_or_none()
            return Role(row.role) if row else None

    async def appoint(self, user_id: int, name: str, actor: Actor) -> bool:
        """Make someone a moderator; False if they already are one."""
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(Moderator).where(col(Moderator.telegram_user_id) == user_id)
                )
            ).scalar_one_or_none()
            if row is not None and row.removed_at is None:
                return False
            if row is None:
                session.add(
                    Moderator(
                        telegram_user_id=user_id,
                        display_name=name[:200],
                        added_by=actor.user_id,
                    )
                )
            else:
                row.removed_at = None
                row.display_name = name[:200] or row.display_name
                row.added_by = actor.user_id
            session.add(
                audit_event(actor, "appoint", "moderator", str(user_id), None, {"name": name})
            )
            return True

    async def dismiss(self, user_id: int, actor: Actor) -> bool:
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(Moderator).where(
                        col(Moderator.telegram_user_id) == user_id,
                        col(Moderator.removed_at).is_(None),
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                return False
            row.removed_at = utcnow()
            session.add(audit_event(actor, "remove", "moderator", str(user_id)))
            return True

    async def moderators(self) -> list[Moderator]:
        async with self._sessions() as session:
            query = (
                select(Moderator)
                .where(col(Moderator.removed_at).is_(None))
                .order_by(col(Moderator.created_at))
            )
            return list((await session.execute(query)).scalars())

    async def staff_ids(self) -> set[int]:
        """Telegram ids of everyone currently a moderator or an admin."""
        async with self._sessions() as session:
            query = select(col(Moderator.telegram_user_id)).where(
                col(Moderator.removed_at).is_(None)
            )
            return {int(user_id) for user_id in (await session.execute(query)).scalars()}

    async def record_refusal(self, user_id: int, what: str) -> None:
        """Attempts by non-moderators are kept in the audit trail too, one row per person
        and command an hour, counting the attempts: a flood of them must not push the real
        changes out of sight."""
        since = utcnow() - dt.timedelta(hours=1)
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(AuditEvent)
                    .where(
                        col(AuditEvent.action) == "refused",
                        col(AuditEvent.actor_id) == user_id,
                        col(AuditEvent.entity_key) == what[:200],
                        col(AuditEvent.at) >= since,
                    )
                    .order_by(col(AuditEvent.id).desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if row is None:
                event = audit_event(Actor(user_id, ""), "refused", "access", what[:200])
                event.after = {"times": 1}
                session.add(event)
            else:
                row.after = {"times": int((row.after or {}).get("times", 1)) + 1}
                row.at = utcnow()

    async def undo_last(self, actor: Actor) -> AuditEvent | None:
        """Revert this moderator's latest change exactly, or refuse with the reason.

        The latest change of any kind counts: if it is one that cannot be reverted here
        (an edit of a source, a dismissal), that is said, rather than reaching past it to
        an older incident change. The check that nobody else changed the incident since,
        the revert and the mark that it was undone are one transaction, with the
        incident's row locked: another moderator's edit cannot slip in between.
        """
        repository = self._repository
        async with repository.session() as session, session.begin():
            undone = select(col(AuditEvent.entity_key)).where(
                col(AuditEvent.actor_id) == actor.user_id, col(AuditEvent.action) == "undo"
            )
            event: AuditEvent | None = (
                await session.execute(
                    select(AuditEvent)
                    .where(
                        col(AuditEvent.actor_id) == actor.user_id,
                        col(AuditEvent.action).not_in(_NOT_CHANGES),
                        cast(col(AuditEvent.id), String).not_in(undone),
                    )
                    .order_by(col(AuditEvent.id).desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if event is None:
                return None
            if event.entity != "incident" or event.action not in _UNDOABLE:
                raise RepositoryError(
                    f"your latest change ({event.action} of {event.entity} "
                    f"{event.entity_key}) is not one /undo can revert; change it back by hand"
                )
            key = event.entity_key
            locked = (
                await session.execute(
                    select(col(Incident.id)).where(col(Incident.key) == key).with_for_update()
                )
            ).first()
            if locked is None:
                raise NotFoundError("incident", key)
            later = (
                await session.execute(
                    select(col(AuditEvent.id)).where(
                        col(AuditEvent.id) > event.id,
                        col(AuditEvent.entity) == "incident",
                        col(AuditEvent.entity_key) == key,
                        col(AuditEvent.actor_id).is_distinct_from(actor.user_id),
                    )
                )
            ).first()
            if later is not None:
                # Reverting now would silently drop what someone else changed since.
                raise ConflictError("incident", key, 0, 0)
            # Reverts are audited as "revert", so a later undo never undoes an undo.
            if event.action in ("create", "restore"):
                await repository.set_deleted_in(session, key, True, actor, "revert")
            elif event.action == "delete":
                await repository.set_deleted_in(session, key, False, actor, "revert")
            elif event.action == "link":
                await self._unlink(session, event, actor)
            elif event.before is not None:
                sources = {s.key: s for s in await repository.list_sources(include_deleted=True)}
                previous = parse_incident(event.before, sources)
                current = await repository._incident_in(session, key, fresh=True)
                await repository.save_incidents(
                    [previous],
                    actor,
                    session,
                    expected_versions={key: current.version},
                    audit_action="revert",
                )
            session.add(audit_event(actor, "undo", "audit", str(event.id)))
        return event

    async def _unlink(self, session: AsyncSession, event: AuditEvent, actor: Actor) -> None:
        """Take back a link: the phrase it added goes, the claim returns to the queue."""
        before, after = event.before or {}, event.after or {}
        incident = (
            await session.execute(select(Incident).where(col(Incident.key) == event.entity_key))
        ).scalar_one()
        if before.get("phrase_added"):
            await session.execute(
                delete(MatchPhrase).where(
                    col(MatchPhrase.incident_id) == incident.id,
                    col(MatchPhrase.text) == str(after.get("phrase", "")),
                )
            )
        query = await session.get(UnmatchedQuery, int(after.get("query", 0)))
        if query is not None and query.status == QueueStatus.LINKED:
            query.status = QueueStatus.OPEN
            query.linked_incident_id = None
            query.resolved_by = None
            query.resolved_at = None
        incident.version += 1
        incident.updated_at = utcnow()
        session.add(IncidentChange(incident_key=event.entity_key, at=utcnow()))
        session.add(audit_event(actor, "revert", "incident", event.entity_key, after, before))


# Audit actions that are not changes a moderator made: never what /undo looks at.
_NOT_CHANGES = ("undo", "revert", "refused")
_UNDOABLE = frozenset({"create", "update", "delete", "restore", "link"})


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


class SharedState:
    """What several bot processes on one database must agree on."""

    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def change_cursor(self, lookback: float = 30.0) -> ChangeCursor:
        """A cursor past every change visible now, still looking out for the lower ids
        of the last `lookback` seconds that are not (their writers may yet commit)."""
        since = utcnow() - dt.timedelta(seconds=lookback)
        async with self._sessions() as session:
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
            recent_ids = sorted(int(i) for i in recent)
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
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(col(IncidentChange.id), col(IncidentChange.incident_key))
                    .where(wanted)
                    .order_by(col(IncidentChange.id))
                    .limit(CHANGES_PER_READ + len(cursor.holes))
                )
            ).all()
        return cursor.advance([(int(change_id), key) for change_id, key in rows], now)

    async def count_checks(self, checks: Sequence[tuple[int, int]]) -> list[int]:
        """Count checks, each a (user id, time window); returns, for each, the total of its
        user's window up to and including it. One statement for the whole batch."""
        added: Counter[tuple[int, int]] = Counter(checks)
        if not added:
            return []
        rates = SQLModel.metadata.tables[RateWindow.__tablename__]
        async with self._sessions() as session, session.begin():
            statement = _insert_for(session)(rates)
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
        async with self._sessions() as session, session.begin():
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


class FormDrafts:
    """Moderators' guided forms in progress, one per moderator and chat."""

    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def get(
        self, user_id: int, chat_id: int, *, max_age: dt.timedelta
    ) -> dict[str, Any] | None:
        """The open form's state, or None; a form left longer than `max_age` is closed."""
        async with self._sessions() as session, session.begin():
            row = await session.get(FormDraft, (user_id, chat_id))
            if row is None:
                return None
            if utcnow() - row.updated_at > max_age:
                await session.delete(row)
                return None
            return dict(row.state)

    async def put(self, user_id: int, chat_id: int, state: Mapping[str, Any]) -> None:
        async with self._sessions() as session, session.begin():
            values = {"state": dict(state), "updated_at": utcnow()}
            statement = _insert_for(session)(FormDraft).values(
                user_id=user_id, chat_id=chat_id, **values
            )
            await session.execute(
                statement.on_conflict_do_update(index_elements=["user_id", "chat_id"], set_=values)
            )

    async def discard(self, user_id: int, chat_id: int) -> bool:
        """Close the form; True if one was open."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(FormDraft).where(
                    col(FormDraft.user_id) == user_id, col(FormDraft.chat_id) == chat_id
                )
            )
            return bool(result.rowcount)

    async def prune(self, older_than: dt.timedelta) -> int:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(FormDraft).where(col(FormDraft.updated_at) < utcnow() - older_than)
            )
            return int(result.rowcount)


class PendingUploads:
    """Validated dataset files waiting for their moderator's Import button."""

    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    async def put(self, user_id: int, chat_id: int, file_id: str, file_name: str) -> None:
        values = {"file_id": file_id, "file_name": file_name[:300], "created_at": utcnow()}
        async with self._sessions() as session, session.begin():
            # One statement: two replicas storing the same moderator's upload at once
            # cannot both find the row missing and both insert it.
            statement = _insert_for(session)(PendingUpload).values(
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
        async with self._sessions() as session, session.begin():
            row = await session.get(PendingUpload, (user_id, chat_id))
            if row is None:
                return None
            await session.delete(row)
            if utcnow() - row.created_at > max_age:
                return None
            return row.file_id, row.file_name

    async def prune(self, older_than: dt.timedelta) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(PendingUpload).where(col(PendingUpload.created_at) < utcnow() - older_than)
            )


class UpdateInbox:
    """Telegram updates between arrival and being handled, shared by every bot process."""

    def __init__(
        self, sessions: async_sessionmaker[Any], write_gate: WriteGate | None = None
    ) -> None:
        self._sessions = sessions
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
        async with self._gate, self._sessions() as session, session.begin():
            if arrived:
                rows = [
                    {"update_id": i, "payload": payload, "received_at": now, "claimed_at": now}
                    for i, payload in arrived
                ]
                statement = (
                    _insert_for(session)(table)
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
        async with self._sessions() as session, session.begin():
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
        async with self._sessions() as session, session.begin():
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
        async with self._sessions() as session:
            statement = select(func.count()).where(col(InboxUpdate.done_at).is_(None))
            return int((await session.execute(statement)).scalar_one())
