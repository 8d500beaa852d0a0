"""Matching against an index kept in a database, for collections too big for memory.

The store (`MatchStore`, implemented by `db.match_index`) keeps per incident its
field-weighted term frequencies and texts, the document frequency of every term, and
answers "which incidents score best on these terms". This module does the rest exactly
as the in-memory matcher does: the same reading of the message (`_scoring`), the same
BM25 over the same stored frequencies, the same stage-2 model and thresholds. Only the
first cut is approximate: the store ranks a pool of `pool` incidents by the message's
rarer terms, and stage 1 is then computed exactly over that pool. Name groups are few
and stay in memory, loaded from the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable, AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from domain.matching._evidence import Facts
from domain.matching._fuzzy import correctable, one_edit_apart
from domain.matching._index import bm25_idf, saturate
from domain.matching._names import NameGroups, Variant
from domain.matching._scoring import (
    DEFAULT_KIND_WEIGHTS,
    Item,
    KindWeight,
    MatchResult,
    MatchStatus,
    MatchThresholds,
    Profile,
    Query,
    Ranker,
    Shortlisted,
    Text,
    analysis_of,
    build_query,
    corrections_for,
    groups_in,
    profile,
    text_masses,
)
from domain.model import IncidentDocument, TextKind, short_key
from domain.normalize import Analysis


@dataclass(frozen=True, slots=True)
class StoredIncident:
    """An incident as the store hands it back for scoring."""

    incident_key: str
    order: int
    """The store's id for it, also the tie-breaker (insertion order, as in-memory slots)."""
    tfs: Mapping[str, float]
    """Frequencies of the terms asked for (not of every term the incident has)."""


class MatchStore(Protocol):
    def bound(self) -> AbstractAsyncContextManager[MatchStore]:
        """The store for a burst of reads that may share one connection."""
        ...

    async def statistics(self, terms: Collection[str]) -> tuple[int, dict[str, int]]:
        """How many incidents are indexed, and the document frequency of each of `terms`
        the index holds."""
        ...

    async def near(self, terms: Collection[str]) -> dict[str, int]:
        """Indexed terms (with their document frequency) that may be one edit from any
        of `terms`: a superset is fine, the caller checks."""
        ...

    async def group_df(self, members: Collection[Variant]) -> int: ...

    async def pool(
        self, weights: Mapping[str, float], wanted: Collection[str], k1: float, size: int
    ) -> list[StoredIncident]:
        """The `size` incidents with the highest BM25 over the weighted terms, each with
        its frequencies of the `wanted` terms."""
        ...

    async def details(
        self, orders: Collection[int]
    ) -> tuple[dict[int, tuple[tuple[Text, ...], Facts]], dict[str, int]]:
        """The analyzed texts and the facts of incidents by their `StoredIncident.order`,
        and the document frequency of every term in them."""
        ...

    async def put(self, key: str, short: str, found: Profile) -> bool:
        """Index an incident, replacing what was under its key; False if nothing changed."""
        ...

    async def delete(self, key: str) -> bool: ...

    async def declared_groups(self) -> list[tuple[str, tuple[tuple[Variant, ...], ...]]]: ...

    async def rebuild(self, incidents: AsyncIterable[tuple[str, str, Profile]]) -> int:
        """Replace the whole index by these (key, short key, profile); returns how many."""
        ...

    async def count(self) -> int: ...

    async def key_for_short(self, short: str) -> str | None: ...


class _Snapshot:
    """The statistics one match read from the store (`_scoring.Statistics`)."""

    def __init__(self, documents: int, dfs: dict[str, int]) -> None:
        self.documents = documents
        self.dfs = dfs
        self.neighbours: dict[str, list[str]] = {}
        self.group_dfs: dict[Variant, int] = {}
        self._idf: dict[str, float] = {}

    def df(self, term: str) -> int:
        return self.dfs.get(term, 0)

    def near(self, term: str) -> list[str]:
        return list(self.neighbours.get(term, ()))

    def group_df(self, group: Variant, members: frozenset[Variant]) -> int:
        return self.group_dfs[group]

    def idf(self, df: int) -> float:
        return bm25_idf(self.documents, df)

    def term_idf(self, term: str) -> float:
        idf = self._idf.get(term)
        if idf is None:
            idf = self._idf[term] = self.idf(self.df(term))
        return idf

    def masses(self, incident_key: str, texts: Sequence[Text]) -> tuple[float, ...]:
        return text_masses(self, texts)


class StoredMatcher:
    """The database-backed counterpart of `ClaimMatcher`; every edit is visible to the
    next match of every process sharing the store."""

    def __init__(
        self,
        store: MatchStore,
        thresholds: MatchThresholds | None = None,
        *,
        kind_weights: Mapping[TextKind, KindWeight] | None = None,
        k1: float = 1.2,
        b: float = 0.75,
        depth: int = 20,
        pool: int = 100,
        posting_budget: int = 5_000,
        group_budget: int = 20_000,
    ) -> None:
        self.store = store
        self._ranker = Ranker(thresholds or MatchThresholds())
        self._weights = {**DEFAULT_KIND_WEIGHTS, **(kind_weights or {})}
        self._k1 = k1
        self._b = b
        self._depth = depth
        self._pool = pool
        self._budget = posting_budget
        self._group_budget = group_budget
        self._groups = NameGroups()

    @property
    def thresholds(self) -> MatchThresholds:
        return self._ranker.thresholds

    def profile(self, doc: IncidentDocument) -> Profile:
        return profile(doc, self._weights, self._b)

    async def load(self) -> int:
        """Read the declared name groups; returns how many incidents the store holds."""
        self._groups = NameGroups()
        for key, groups in await self.store.declared_groups():
            self._groups.declare(key, groups)
        return await self.store.count()

    async def upsert(self, doc: IncidentDocument) -> bool:
        """Index `doc`; False if the store already held exactly this (another process
        indexed it), in which case only this process's name groups are brought up to date."""
        found = self.profile(doc)
        changed = await self.store.put(doc.incident_key, short_key(doc.incident_key), found)
        self._groups.declare(doc.incident_key, found.groups)
        return changed

    async def rebuild(self, docs: AsyncIterable[IncidentDocument]) -> int:
        """Replace the whole index by `docs`; returns how many were indexed."""

        async def profiles() -> AsyncIterator[tuple[str, str, Profile]]:
            async for doc in docs:
                yield doc.incident_key, short_key(doc.incident_key), self.profile(doc)

        await self.store.rebuild(profiles())
        return await self.load()

    async def remove(self, incident_key: str) -> bool:
        self._groups.forget(incident_key)
        return await self.store.delete(incident_key)

    async def match(
        self, text: str, limit: int = 5, *, sent_on: dt.date | None = None
    ) -> MatchResult:
        analysis = analysis_of(text)
        if not analysis.terms or limit <= 0:
            return MatchResult(MatchStatus.NONE, (), analysis.cleaned)
        async with self.store.bound() as store:
            return await self._match(store, analysis, limit, sent_on)

    async def _match(
        self, store: MatchStore, analysis: Analysis, limit: int, sent_on: dt.date | None
    ) -> MatchResult:
        sequence = analysis.terms
        stats = _Snapshot(*await store.statistics(set(sequence)))
        unknown = {t for t in sequence if t not in stats.dfs and correctable(t)}
        if unknown:
            found = await store.near(unknown)
            stats.dfs.update(found)
            for term in unknown:
                stats.neighbours[term] = [t for t in found if one_edit_apart(term, t)]
        corrections = corrections_for(sequence, stats)
        mentioned = {
            g: self._groups.members(g) for g in groups_in(sequence, corrections, self._groups)
        }
        unread = {t for m in mentioned.values() for v in m for t in v} - stats.dfs.keys()
        if unread:
            stats.dfs.update((await store.statistics(unread))[1])
        for group, members in mentioned.items():
            stats.group_dfs[group] = await self._group_df(store, stats, members)
        query = build_query(analysis, corrections, stats, self._groups, sent_on)
        if not query.items:
            return MatchResult(MatchStatus.NONE, (), query.cleaned)
        wanted = {t for item in query.items for variant in item.variants for t in variant}
        pool = await store.pool(self._pool_weights(query, stats), wanted, self._k1, self._pool)
        scored = self._stage1(query, pool)
        texts, dfs = await store.details([incident.order for _, incident in scored])
        stats.dfs.update(dfs)
        shortlist = [
            Shortlisted(incident.incident_key, score, incident.tfs.keys(), *texts[incident.order])
            for score, incident in scored
        ]
        return self._ranker.rank(query, shortlist, stats, limit)

    async def _group_df(
        self, store: MatchStore, stats: _Snapshot, members: frozenset[Variant]
    ) -> int:
        """How many incidents hold the group: counted when that reads at most
        `group_budget` postings; else the sum over its variants of their rarest term's
        frequency, an upper bound. Counting a group whose spelling is a common word read
        a hundred thousand postings at 1M texts, for an IDF near its floor either way."""
        bound = sum(min(stats.df(t) for t in variant) for variant in members if variant)
        if bound <= self._group_budget:
            return await store.group_df(members)
        return min(bound, stats.documents)

    def _pool_weights(self, query: Query, stats: _Snapshot) -> dict[str, float]:
        """The terms the store ranks its pool by: the rarest first, until reading their
        postings would cost more than the budget. A term in half the incidents adds
        little to any score but reads half the index; the exact stage 1 still counts it."""
        weighted: dict[str, tuple[float, int]] = {}
        for item in query.items:
            df = stats.df(item.term) if item.term else stats.group_dfs.get(item.group, 0)
            for variant in item.variants:
                for term in variant:
                    weight = max(item.weight * item.idf, weighted.get(term, (0.0, 0))[0])
                    weighted[term] = (weight, df)
        chosen: dict[str, float] = {}
        spent = 0
        for term, (weight, df) in sorted(weighted.items(), key=lambda pair: pair[1][1]):
            if chosen and spent + df > self._budget:
                break
            chosen[term] = weight
            spent += df
        return chosen

    def _stage1(
        self, query: Query, pool: Sequence[StoredIncident]
    ) -> list[tuple[float, StoredIncident]]:
        """BM25 over the pool exactly as the in-memory index computes it (single precision,
        items added in the same order), best `depth` first."""
        if not pool:
            return []
        frequencies = np.array(
            [[_frequency(item, incident.tfs) for item in query.items] for incident in pool],
            dtype=np.float64,
        )
        saturated = saturate(frequencies, self._k1).astype(np.float32)
        scores = np.zeros(len(pool), dtype=np.float32)
        for column, item in enumerate(query.items):
            scores += np.float32(item.weight * item.idf) * saturated[:, column]
        order = sorted(
            (i for i in range(len(pool)) if scores[i] > 0.0),
            key=lambda i: (-scores[i], pool[i].order),
        )
        return [(float(scores[i]), pool[i]) for i in order[: self._depth]]


def _frequency(item: Item, tfs: Mapping[str, float]) -> float:
    """The item's frequency in one incident: a term's own; for a group, per variant held,
    the smallest frequency among its terms, summed (as the in-memory index builds a group)."""
    term = item.term
    if term is not None:
        return tfs.get(term, 0.0)
    total = 0.0
    for variant in item.variants:
        found = [tfs.get(t, 0.0) for t in set(variant)]
        if all(found):
            total += min(found)
    return total
