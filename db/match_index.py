"""The matcher's index kept in PostgreSQL (`MATCH_INDEX=postgres`).

Tables (migration 0005): `match_doc`, one row per incident with its terms, their
field-weighted frequencies and its texts as the matcher analyzed them; `match_posting`,
(term, incident, frequency) with the primary key on (term, incident) covering the
frequency, so a term's postings are one index-only range scan; `match_term`, each term's
document frequency, with a trigram index for typo lookups; `match_meta`, the incident
count. Writers keep all four consistent in one transaction, so every process sharing
the database sees an edit, and the IDF it changes, at its next match.

Statements go to asyncpg directly (through SQLAlchemy's pool): arrays in and out, and
COPY for bulk loads, are what make this fast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.matching import (
    Facts,
    MatchStore,
    Profile,
    StoredIncident,
    Text,
    Variant,
    facts_from_json,
    facts_to_json,
    one_edit_patterns,
)
from domain.model import TextKind

_STATISTICS: Final = """
SELECT (SELECT documents FROM match_meta WHERE id = 1),
       coalesce(array_agg(term), '{}'), coalesce(array_agg(df), '{}')
FROM match_term WHERE term = ANY($1::text[])
"""
_NEAR: Final = "SELECT term, df FROM match_term WHERE term LIKE ANY($1::text[])"
# The pool is ranked inside the database; only `size` rows come back, each with the
# frequencies of the message's terms alone (all that exact BM25 and the shared-terms
# feature read), not the incident's whole vocabulary.
_POOL: Final = """
WITH pool AS (
    SELECT p.doc_id, sum(q.w * p.tf * $3 / (p.tf + $4)) AS score
    FROM unnest($1::text[], $2::float8[]) AS q(term, w)
    JOIN match_posting p ON p.term = q.term
    GROUP BY p.doc_id
    ORDER BY score DESC, p.doc_id
    LIMIT $5
)
SELECT d.id, d.key, held.terms, held.tfs
FROM pool JOIN match_doc d ON d.id = pool.doc_id
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(t), '{}') AS terms, coalesce(array_agg(f), '{}') AS tfs
    FROM unnest(d.terms, d.tfs) AS u(t, f) WHERE t = ANY($6::text[])
) AS held
"""
# The shortlist's texts, and the document frequency of every term in them (one row with
# no id), in one round trip: stage 2 weighs each of those terms by its IDF. The terms go
# in as an array so the planner probes the term index instead of hashing the whole table.
_DETAILS: Final = """
WITH docs AS (SELECT id, texts, terms FROM match_doc WHERE id = ANY($1::int[]))
SELECT NULL::int, NULL::jsonb, coalesce(array_agg(term), '{}'), coalesce(array_agg(df), '{}')
FROM match_term WHERE term = ANY(ARRAY(SELECT DISTINCT unnest(terms) FROM docs))
UNION ALL
SELECT id, texts, NULL, NULL FROM docs
"""
# One statement, in term order, for both directions: concurrent writers then lock term
# rows in the same order and cannot deadlock.
_COUNT_TERMS: Final = """
INSERT INTO match_term (term, df)
SELECT t, d FROM unnest($1::text[], $2::int[]) AS u(t, d) ORDER BY t
ON CONFLICT (term) DO UPDATE SET df = match_term.df + excluded.df
"""
_DOC_COLUMNS: Final = ("id", "key", "short", "digest", "terms", "tfs", "texts", "name_groups")
_POSTING_COLUMNS: Final = ("term", "doc_id", "tf")


def _encode(found: Profile) -> tuple[list[str], list[float], str, str | None, str]:
    """Columns for one incident; JSON goes in as text, which both a bare asyncpg
    connection and SQLAlchemy's codecs accept."""
    terms = sorted(found.tfs)
    tfs = [found.tfs[t] for t in terms]
    texts = json.dumps(
        {
            "texts": [[t.kind.value, t.point_key, list(t.unique)] for t in found.texts],
            "facts": facts_to_json(found.facts),
        },
        ensure_ascii=False,
    )
    groups = json.dumps([list(map(list, g)) for g in found.groups]) if found.groups else None
    digest = hashlib.blake2b(
        json.dumps([terms, tfs, texts, groups]).encode(), digest_size=16
    ).hexdigest()
    return terms, tfs, texts, groups, digest


def _json(value: Any) -> Any:
    # SQLAlchemy's asyncpg dialect installs a JSON decoder on its connections; a bare
    # asyncpg connection hands back text.
    return json.loads(value) if isinstance(value, str) else value


def _texts(raw: Any) -> tuple[tuple[Text, ...], Facts]:
    """An incident's texts and facts; an index written before facts were kept holds a
    bare list of texts (its incidents get their facts at their next refresh)."""
    data = _json(raw)
    texts, facts = (data, None) if isinstance(data, list) else (data["texts"], data.get("facts"))
    return (
        tuple(Text(TextKind(kind), point_key, tuple(unique)) for kind, point_key, unique in texts),
        facts_from_json(facts),
    )


class PostgresMatchStore(MatchStore):
    def __init__(self, engine: AsyncEngine, *, pinned: Any = None) -> None:
        self._engine = engine
        self._pinned = pinned

    def raw(self) -> Any:
        """An asyncpg connection from the engine's pool (benchmarks and maintenance)."""
        return self._connection()

    @asynccontextmanager
    async def bound(self) -> AsyncIterator[PostgresMatchStore]:
        """This store on one connection: a match makes four or five small queries, and a
        checkout from the pool (with its liveness ping) costs as much as one of them."""
        if self._pinned is not None:
            yield self
            return
        async with self._connection() as pg:
            yield PostgresMatchStore(self._engine, pinned=pg)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        if self._pinned is not None:
            yield self._pinned
            return
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            yield raw.driver_connection

    # --- reading ------------------------------------------------------------------------

    async def statistics(self, terms: Collection[str]) -> tuple[int, dict[str, int]]:
        async with self._connection() as pg:
            documents, found, dfs = await pg.fetchrow(_STATISTICS, list(terms))
        return int(documents or 0), dict(zip(found, dfs, strict=True))

    async def near(self, terms: Collection[str]) -> dict[str, int]:
        patterns = sorted({p for term in terms for p in one_edit_patterns(term)})
        async with self._connection() as pg:
            return {term: df for term, df in await pg.fetch(_NEAR, patterns)}

    async def group_df(self, members: Collection[Variant]) -> int:
        variants = [sorted(set(v)) for v in members if v]
        if not variants:
            return 0
        # Incidents holding every term of some variant. One-term variants (most aliases)
        # are one index scan together; a longer one needs all its distinct terms.
        singles = [v[0] for v in variants if len(v) == 1]
        longer = [v for v in variants if len(v) > 1]
        parts = ["SELECT doc_id FROM match_posting WHERE term = ANY($1::text[])"]
        parts += [
            f"SELECT doc_id FROM match_posting WHERE term = ANY(${i + 2}::text[]) "
            f"GROUP BY doc_id HAVING count(*) = {len(v)}"
            for i, v in enumerate(longer)
        ]
        sql = f"SELECT count(DISTINCT doc_id) FROM ({' UNION ALL '.join(parts)}) AS holders"
        async with self._connection() as pg:
            return int(await pg.fetchval(sql, singles, *longer))

    async def pool(
        self, weights: Mapping[str, float], wanted: Collection[str], k1: float, size: int
    ) -> list[StoredIncident]:
        terms = list(weights)
        tfs = [weights[t] for t in terms]
        async with self._connection() as pg:
            rows = await pg.fetch(_POOL, terms, tfs, k1 + 1.0, k1, size, list(wanted))
        return [
            StoredIncident(key, doc_id, dict(zip(held, held_tfs, strict=True)))
            for doc_id, key, held, held_tfs in rows
        ]

    async def details(
        self, orders: Collection[int]
    ) -> tuple[dict[int, tuple[tuple[Text, ...], Facts]], dict[str, int]]:
        async with self._connection() as pg:
            rows = await pg.fetch(_DETAILS, list(orders))
        texts = {doc_id: _texts(raw) for doc_id, raw, _, _ in rows if doc_id is not None}
        dfs: dict[str, int] = {}
        for doc_id, _, terms, counts in rows:
            if doc_id is None:
                dfs.update(zip(terms, counts, strict=True))
        return texts, dfs

    async def declared_groups(self) -> list[tuple[str, tuple[tuple[Variant, ...], ...]]]:
        async with self._connection() as pg:
            rows = await pg.fetch(
                "SELECT key, name_groups FROM match_doc WHERE name_groups IS NOT NULL ORDER BY id"
            )
        return [
            (key, tuple(tuple(tuple(v) for v in group) for group in _json(groups)))
            for key, groups in rows
        ]

    async def count(self) -> int:
        async with self._connection() as pg:
            return int(await pg.fetchval("SELECT documents FROM match_meta WHERE id = 1") or 0)

    async def key_for_short(self, short: str) -> str | None:
        async with self._connection() as pg:
            found = await pg.fetchval("SELECT key FROM match_doc WHERE short = $1", short)
        return str(found) if found is not None else None

    async def term_counts(self) -> dict[str, int]:
        """Every term's stored document frequency (for consistency checks)."""
        async with self._connection() as pg:
            return {term: df for term, df in await pg.fetch("SELECT term, df FROM match_term")}

    # --- writing ------------------------------------------------------------------------

    async def put(self, key: str, short: str, found: Profile) -> bool:
        terms, tfs, texts, groups, digest = _encode(found)
        async with self._connection() as pg:
            # Every replica refreshes each changed incident; all but the first find it
            # indexed already, and need not take its row lock to learn that.
            if await pg.fetchval("SELECT digest FROM match_doc WHERE key = $1", key) == digest:
                return False
            for attempt in range(2):
                try:
                    async with pg.transaction():
                        return await self._put(pg, key, short, terms, tfs, texts, groups, digest)
                except asyncpg.UniqueViolationError:
                    # Another process inserted the same new incident first: an update now.
                    if attempt:
                        raise
        raise AssertionError("unreachable")

    async def _put(
        self,
        pg: Any,
        key: str,
        short: str,
        terms: list[str],
        tfs: list[float],
        texts: str,
        groups: str | None,
        digest: str,
    ) -> bool:
        row = await pg.fetchrow(
            "SELECT id, digest, terms FROM match_doc WHERE key = $1 FOR UPDATE", key
        )
        if row is not None and row["digest"] == digest:
            return False
        if row is None:
            old: list[str] = []
            doc_id = await pg.fetchval(
                "INSERT INTO match_doc (key, short, digest, terms, tfs, texts, name_groups) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                key, short, digest, terms, tfs, texts, groups,
            )  # fmt: skip
        else:
            doc_id, old = row["id"], list(row["terms"])
            await pg.execute(
                "UPDATE match_doc SET digest = $2, terms = $3, tfs = $4, texts = $5, "
                "name_groups = $6 WHERE id = $1",
                doc_id, digest, terms, tfs, texts, groups,
            )  # fmt: skip
            await pg.execute(
                "DELETE FROM match_posting WHERE term = ANY($2::text[]) AND doc_id = $1",
                doc_id, old,
            )  # fmt: skip
        await pg.execute(
            "INSERT INTO match_posting (term, doc_id, tf) "
            "SELECT t, $1, f FROM unnest($2::text[], $3::float8[]) AS u(t, f)",
            doc_id, terms, tfs,
        )  # fmt: skip
        await _count_terms(pg, added=set(terms) - set(old), removed=set(old) - set(terms))
        if row is None:
            await pg.execute("UPDATE match_meta SET documents = documents + 1 WHERE id = 1")
        return True

    async def delete(self, key: str) -> bool:
        async with self._connection() as pg, pg.transaction():
            row = await pg.fetchrow(
                "SELECT id, terms FROM match_doc WHERE key = $1 FOR UPDATE", key
            )
            if row is None:
                return False
            await pg.execute(
                "DELETE FROM match_posting WHERE term = ANY($2::text[]) AND doc_id = $1",
                row["id"], list(row["terms"]),
            )  # fmt: skip
            await pg.execute("DELETE FROM match_doc WHERE id = $1", row["id"])
            await _count_terms(pg, added=set(), removed=set(row["terms"]))
            await pg.execute("UPDATE match_meta SET documents = documents - 1 WHERE id = 1")
        return True

    async def rebuild(
        self,
        incidents: AsyncIterable[tuple[str, str, Profile]] | Iterable[tuple[str, str, Profile]],
        *,
        batch_size: int = 2000,
    ) -> int:
        """Replace the whole index by `incidents` (key, short key, profile) in one
        transaction; matches meanwhile wait on its locks rather than see a half-built
        index. COPY in batches, with the postings' key built once at the end rather than
        row by row."""
        count = 0
        async with self._connection() as pg:
            async with pg.transaction():
                await pg.execute("TRUNCATE match_doc, match_posting, match_term")
                await pg.execute("ALTER TABLE match_posting DROP CONSTRAINT match_posting_pkey")
                docs: list[tuple[Any, ...]] = []
                postings: list[tuple[str, int, float]] = []
                async for key, short, found in _aiter(incidents):
                    count += 1
                    terms, tfs, texts, groups, digest = _encode(found)
                    docs.append((count, key, short, digest, terms, tfs, texts, groups))
                    postings.extend(zip(terms, [count] * len(terms), tfs, strict=True))
                    if len(docs) >= batch_size:
                        await _copy(pg, docs, postings)
                        docs, postings = [], []
                await _copy(pg, docs, postings)
                await pg.execute(
                    "ALTER TABLE match_posting ADD CONSTRAINT match_posting_pkey "
                    "PRIMARY KEY (term, doc_id) INCLUDE (tf)"
                )
                await pg.execute(
                    "INSERT INTO match_term (term, df) "
                    "SELECT term, count(*) FROM match_posting GROUP BY term"
                )
                await pg.execute("UPDATE match_meta SET documents = $1 WHERE id = 1", count)
                await pg.execute(
                    "SELECT setval(pg_get_serial_sequence('match_doc', 'id'), $1, true)",
                    max(count, 1),
                )
            # Outside the transaction: index-only scans need the visibility map it sets.
            await pg.execute("VACUUM (ANALYZE) match_doc, match_posting, match_term")
        return count


async def _count_terms(pg: Any, *, added: set[str], removed: set[str]) -> None:
    changes = sorted([(t, 1) for t in added] + [(t, -1) for t in removed])
    if not changes:
        return
    await pg.execute(_COUNT_TERMS, [t for t, _ in changes], [d for _, d in changes])
    if removed:
        await pg.execute(
            "DELETE FROM match_term WHERE term = ANY($1::text[]) AND df <= 0", sorted(removed)
        )


async def _copy(
    pg: Any, docs: list[tuple[Any, ...]], postings: list[tuple[str, int, float]]
) -> None:
    if docs:
        await pg.copy_records_to_table("match_doc", records=docs, columns=_DOC_COLUMNS)
        await pg.copy_records_to_table("match_posting", records=postings, columns=_POSTING_COLUMNS)


async def _aiter(items: AsyncIterable[Any] | Iterable[Any]) -> AsyncIterator[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
