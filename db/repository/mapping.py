"""Rows <-> views: how an `IncidentView` is read from its tables and written back to them.

Reads assemble whole views in a fixed number of queries however many incidents are asked
for (no N+1). Writes replace an incident's children (points, accounts, figures, stances,
phrases, posts) wholesale, inside the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.models import (
    Account,
    AccountStance,
    Figure,
    Incident,
    KnownMediaRecord,
    KnownPostRecord,
    MatchPhrase,
    Point,
    Source,
    utcnow,
)
from db.repository._base import NotFoundError
from domain.dataset import incident_to_json, source_to_json
from domain.media.pictures import from_hex, to_hex
from domain.model import (
    AccountView,
    DatePrecision,
    FigureView,
    IncidentStatus,
    IncidentView,
    KnownMedia,
    KnownPost,
    MediaKind,
    NameGroup,
    PointView,
    SourceKind,
    SourceTranslation,
    SourceView,
    Stance,
    StanceView,
    Translation,
)

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
        translations={
            lang: SourceTranslation(s["name"], s.get("affiliation", ""))
            for lang, s in row.translations.items()
        },
    )


def source_values(view: SourceView) -> dict[str, Any]:
    """A source's columns: its dataset record, with the id under the column's name."""
    record = source_to_json(view)
    return {"key": record.pop("id"), **record, "translations": record.get("translations", {})}


def incident_values(view: IncidentView) -> dict[str, Any]:
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
        "translations": incident_to_json(view)["translations"],
    }


async def assemble(session: AsyncSession, rows: Sequence[Incident]) -> list[IncidentView]:
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
                    translations=dict(figure.translations),
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
                    StanceView(
                        point_keys[stance.point_id],
                        Stance(stance.stance),
                        stance.note,
                        dict(stance.translations),
                    )
                )

    phrases: dict[int, list[str]] = defaultdict(list)
    for phrase in (
        await session.execute(
            select(MatchPhrase)
            .where(col(MatchPhrase.incident_id).in_(ids))
            .order_by(col(MatchPhrase.incident_id), col(MatchPhrase.position), col(MatchPhrase.id))
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

    media: dict[int, list[KnownMedia]] = defaultdict(list)
    for record in (
        await session.execute(
            select(KnownMediaRecord)
            .where(col(KnownMediaRecord.incident_id).in_(ids))
            .order_by(
                col(KnownMediaRecord.incident_id),
                col(KnownMediaRecord.position),
                col(KnownMediaRecord.id),
            )
        )
    ).scalars():
        media[record.incident_id].append(media_view(record))

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
                    translations=dict(account.translations),
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
                names=tuple(NameGroup(g["name"], tuple(g.get("aliases", []))) for g in row.names),
                translations={
                    lang: Translation(
                        t["title"],
                        t.get("summary", ""),
                        t.get("place", ""),
                        t.get("country", ""),
                        t.get("date_note", ""),
                    )
                    for lang, t in row.translations.items()
                },
                points=tuple(
                    PointView(p.key, p.text, dict(p.translations), p.version)
                    for p in points_by_incident[row_id]
                ),
                accounts=tuple(accounts),
                phrases=tuple(phrases[row_id]),
                posts=tuple(posts[row_id]),
                media=tuple(media[row_id]),
                version=row.version,
            )
        )
    return views


async def source_ids_of(session: AsyncSession, incidents: Sequence[IncidentView]) -> dict[str, int]:
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


async def delete_children(session: AsyncSession, incident_id: int) -> None:
    # Explicit deletes rather than relying on ON DELETE CASCADE, which SQLite only honours
    # with foreign keys switched on.
    account_ids = select(col(Account.id)).where(col(Account.incident_id) == incident_id)
    await session.execute(delete(Figure).where(col(Figure.account_id).in_(account_ids)))
    await session.execute(
        delete(AccountStance).where(col(AccountStance.account_id).in_(account_ids))
    )
    await session.execute(delete(Account).where(col(Account.incident_id) == incident_id))
    await session.execute(delete(Point).where(col(Point.incident_id) == incident_id))
    await session.execute(delete(MatchPhrase).where(col(MatchPhrase.incident_id) == incident_id))
    await session.execute(
        delete(KnownPostRecord).where(col(KnownPostRecord.incident_id) == incident_id)
    )
    await session.execute(
        delete(KnownMediaRecord).where(col(KnownMediaRecord.incident_id) == incident_id)
    )


async def insert_children(
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
            "translations": dict(a.translations),
            "created_at": now,
            "updated_at": now,
        }
        for incident_id, view in incidents
        for n, a in enumerate(view.accounts)
    ]
    if account_rows:
        result = await session.execute(
            insert(Account).returning(col(Account.id), col(Account.incident_id), col(Account.key)),
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
                        "translations": dict(f.translations),
                    }
                    for n, f in enumerate(account.figures)
                )
                stance_rows.extend(
                    {
                        "account_id": account_id,
                        "point_id": point_ids[(incident_id, s.point_key)],
                        "stance": s.stance.value,
                        "note": s.note,
                        "translations": dict(s.translations),
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
    media_rows = [
        {
            "incident_id": incident_id,
            "kind": item.kind.value,
            "file_ids": list(item.file_ids),
            "fingerprints": [to_hex(value) for value in item.fingerprints],
            "size": item.size,
            "width": item.width,
            "height": item.height,
            "note": item.note,
            "position": n,
        }
        for incident_id, view in incidents
        for n, item in enumerate(view.media)
    ]
    if media_rows:
        await session.execute(insert(KnownMediaRecord), media_rows)


def media_view(record: KnownMediaRecord) -> KnownMedia:
    return KnownMedia(
        MediaKind(record.kind),
        tuple(record.file_ids),
        tuple(from_hex(text) for text in record.fingerprints),
        record.size,
        record.width,
        record.height,
        record.note,
    )
