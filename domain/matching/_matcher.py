"""The in-memory claim matcher: lexical retrieval, then a calibrated score for a short list.

Stage 1 scores every indexed incident with BM25 over the terms of all its texts at once
(`_index`), after the message has been normalized, its unknown terms mapped to indexed
terms one typo away (`_fuzzy`), and its names widened to their whole name groups
(`_names`). Stage 2 (`_scoring.Ranker`, shared with the database-backed index) scores
the best `depth` incidents with a small logistic model whose output is a
probability-like score in 0..1 that means the same for every message, which is what the
CONFIDENT / AMBIGUOUS / NONE thresholds need. docs/matching.md has the measurements.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from domain.matching._evidence import Facts
from domain.matching._fuzzy import NearTerms
from domain.matching._index import Float32Array, FloatArray, IntArray, InvertedIndex
from domain.matching._names import NameGroups, Variant
from domain.matching._scoring import (
    DEFAULT_KIND_WEIGHTS,
    KindWeight,
    MatchResult,
    MatchStatus,
    MatchThresholds,
    Profile,
    Query,
    Ranker,
    Shortlisted,
    Text,
    profile,
    read_query,
    text_masses,
)
from domain.matching._semantic import Vector, VectorTable
from domain.model import IncidentDocument, TextKind


class ClaimMatcher:
    """An incrementally updated index of incidents that answers "which incident is this?".

    Single-threaded by design (one asyncio loop); every edit is visible to the next match.
    """

    def __init__(
        self,
        thresholds: MatchThresholds | None = None,
        *,
        kind_weights: Mapping[TextKind, KindWeight] | None = None,
        k1: float = 1.2,
        b: float = 0.75,
        depth: int = 20,
        semantic_depth: int = 5,
    ) -> None:
        self._ranker = Ranker(thresholds or MatchThresholds())
        self._weights = {**DEFAULT_KIND_WEIGHTS, **(kind_weights or {})}
        self._b = b
        self._depth = depth
        self._index = InvertedIndex(k1)
        self._near = NearTerms()
        self._groups = NameGroups()
        self._texts: dict[str, tuple[Text, ...]] = {}
        self._facts: dict[str, Facts] = {}
        self._vectors = VectorTable()
        self._background = np.zeros((0, 0), dtype=np.float32)
        self._semantic_depth = semantic_depth
        # Derived from postings and the incident count, so emptied by every edit.
        self._group_arrays: dict[Variant, tuple[IntArray, Float32Array]] = {}
        self._idf_cache: dict[str, float] = {}
        self._mass_cache: dict[str, tuple[float, ...]] = {}

    @property
    def thresholds(self) -> MatchThresholds:
        return self._ranker.thresholds

    @thresholds.setter
    def thresholds(self, thresholds: MatchThresholds) -> None:
        self._ranker.thresholds = thresholds

    # --- the collection -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, incident_key: object) -> bool:
        return incident_key in self._index

    def upsert(self, doc: IncidentDocument) -> None:
        """Index `doc`, replacing whatever was indexed under its key."""
        self.put(doc.incident_key, self.profile(doc))

    def profile(self, doc: IncidentDocument) -> Profile:
        """What the index keeps of `doc` (the slow part of indexing: analyzing its texts)."""
        return profile(doc, self._weights, self._b)

    def put(self, incident_key: str, found: Profile) -> None:
        """Index an incident already analyzed by `profile`."""
        self._drop(incident_key)
        for term in self._index.put(incident_key, found.tfs):
            self._near.add(term)
        self._texts[incident_key] = found.texts
        self._facts[incident_key] = found.facts
        self._groups.declare(incident_key, found.groups)

    def remove(self, incident_key: str) -> bool:
        """Forget an incident; True if it was indexed."""
        found = self._drop(incident_key)
        self._groups.forget(incident_key)
        self._vectors.remove(incident_key)
        return found

    def _drop(self, incident_key: str) -> bool:
        self._group_arrays.clear()
        self._idf_cache.clear()
        self._mass_cache.clear()
        if incident_key not in self._index:
            return False
        for term in self._index.remove(incident_key):
            self._near.discard(term)
        del self._texts[incident_key]
        self._facts.pop(incident_key, None)
        return True

    # --- statistics (`_scoring.Statistics`) ---------------------------------------------

    def df(self, term: str) -> int:
        return self._index.df(term)

    def near(self, term: str) -> list[str]:
        return self._near.near(term)

    def group_df(self, group: Variant, members: frozenset[Variant]) -> int:
        return len(self._group_postings(group, members)[0])

    def idf(self, df: int) -> float:
        return self._index.idf(df)

    def term_idf(self, term: str) -> float:
        idf = self._idf_cache.get(term)
        if idf is None:
            idf = self._idf_cache[term] = self._index.idf(self._index.df(term))
        return idf

    def masses(self, incident_key: str, texts: Sequence[Text]) -> tuple[float, ...]:
        masses = self._mass_cache.get(incident_key)
        if masses is None:
            masses = self._mass_cache[incident_key] = text_masses(self, texts)
        return masses

    # --- matching -----------------------------------------------------------------------

    def match(
        self,
        text: str,
        limit: int = 5,
        *,
        sent_on: dt.date | None = None,
        vector: Vector | None = None,
    ) -> MatchResult:
        """The incidents `text` may be about, best first, at most `limit` of them.

        `sent_on` is the day the message was sent, which "yesterday" is relative to;
        `vector` is the message's embedding, when the semantic stage is to take part.
        """
        query = self._read(text, sent_on, vector)
        if limit <= 0 or (not query.items and vector is None):
            return MatchResult(MatchStatus.NONE, (), query.cleaned)
        return self._ranker.rank(query, self._shortlist(query, vector), self, limit)

    def _read(self, text: str, sent_on: dt.date | None, vector: Vector | None) -> Query:
        query = read_query(text, self, self._groups, sent_on)
        if vector is not None and len(self._background):
            floor = float(np.max(self._background @ vector))
            query = dataclasses.replace(query, background=floor)
        return query

    # --- the semantic stage's vectors ------------------------------------------------------

    def set_background(self, vectors: npt.NDArray[np.float32]) -> None:
        """The vectors of `_semantic.BACKGROUND` by the model that made the incidents'."""
        self._background = np.asarray(vectors, dtype=np.float32)

    def set_vector(self, incident_key: str, vector: Vector) -> None:
        """The incident's embedding (`_semantic.passage_of`), kept until it is removed."""
        self._vectors.put(incident_key, vector)

    def has_vector(self, incident_key: str) -> bool:
        return incident_key in self._vectors

    def _shortlist(self, query: Query, vector: Vector | None) -> list[Shortlisted]:
        """Stage 1, and with a vector the incidents nearest in meaning that words missed;
        each with its similarity, or none at all if any of them lacks a vector."""
        shortlist = self._retrieve(query) if query.items else []
        if vector is None:
            return shortlist
        similar = self._vectors.nearest(vector, self._semantic_depth)
        held = {entry.incident_key for entry in shortlist}
        for key, _ in similar:
            if key not in held and key in self._texts:
                slot = self._index.slot(key)
                terms = frozenset(self._index.terms_of(slot))
                shortlist.append(Shortlisted(key, 0.0, terms, self._texts[key], self._facts[key]))
        similarities = self._vectors.similarities([e.incident_key for e in shortlist], vector)
        if similarities is None:
            return shortlist
        return [
            dataclasses.replace(entry, similarity=similarity)
            for entry, similarity in zip(shortlist, similarities, strict=True)
        ]

    def shortlist_features(
        self, text: str, *, sent_on: dt.date | None = None, vector: Vector | None = None
    ) -> list[tuple[str, tuple[float, ...]]]:
        """The stage-2 features of every incident on the shortlist, in stage-1 order.

        For fitting the stage-2 model offline (bench/fit.py); not used to match.
        """
        query = self._read(text, sent_on, vector)
        shortlist = self._shortlist(query, vector)
        rows = self._ranker.feature_rows(query, shortlist, self)
        return [(entry.incident_key, row) for entry, row in zip(shortlist, rows, strict=True)]

    def _group_postings(
        self, group: Variant, members: frozenset[Variant]
    ) -> tuple[IntArray, Float32Array]:
        """A group scores like one term whose occurrences are those of all its variants."""
        cached = self._group_arrays.get(group)
        if cached is None:
            dense = np.zeros(self._index.capacity, dtype=np.float64)
            for variant in members:
                ids, tfs = self._all_of(variant)
                dense[ids] += tfs
            ids = np.flatnonzero(dense).astype(np.int32)
            cached = self._group_arrays[group] = (ids, self._index.saturate(dense[ids]))
        return cached

    def _all_of(self, variant: Variant) -> tuple[IntArray, FloatArray]:
        """Documents holding every term of `variant`, with its rarest term's frequency."""
        arrays = sorted((self._index.raw(t) for t in set(variant)), key=lambda a: len(a[0]))
        ids, tfs = arrays[0]
        for other_ids, other_tfs in arrays[1:]:
            ids, mine, theirs = np.intersect1d(
                ids, other_ids, assume_unique=True, return_indices=True
            )
            tfs = np.minimum(tfs[mine], other_tfs[theirs])
        return ids, tfs

    def _retrieve(self, query: Query) -> list[Shortlisted]:
        """Stage 1: the `depth` best incidents by BM25, best first."""
        scores = np.zeros(self._index.capacity, dtype=np.float32)
        for item in query.items:
            term = item.term
            if term is not None:
                ids, saturated = self._index.saturated(term)
            else:
                ids, saturated = self._group_postings(item.group, frozenset(item.variants))
            if len(ids):
                scores[ids] += np.float32(item.weight * item.idf) * saturated
        if len(scores) > self._depth:
            top = np.argpartition(scores, -self._depth)[-self._depth :]
        else:
            top = np.arange(len(scores))
        top = top[scores[top] > 0.0]
        order = top[np.argsort(-scores[top], kind="stable")]
        shortlist = []
        for slot in order.tolist():
            key = self._index.key(slot)
            terms = frozenset(self._index.terms_of(slot))
            shortlist.append(
                Shortlisted(key, float(scores[slot]), terms, self._texts[key], self._facts[key])
            )
        return shortlist
