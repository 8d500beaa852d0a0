"""The claim matcher: lexical retrieval, then a calibrated score for a short list.

Stage 1 scores every indexed incident with BM25 over the terms of all its texts at once
(`_index`), after the message has been normalized, its unknown terms mapped to indexed
terms one typo away (`_fuzzy`), and its names widened to their whole name groups
(`_names`). Stage 2 scores the best `depth` incidents with a small logistic model whose
output is a probability-like score in 0..1 that means the same for every message, which
is what the CONFIDENT / AMBIGUOUS / NONE thresholds need. docs/matching.md has the
measurements behind every constant here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np

from domain.matching._fuzzy import NearTerms
from domain.matching._index import Float32Array, FloatArray, IntArray, InvertedIndex
from domain.matching._names import NameGroups, Variant
from domain.model import IncidentDocument, TextKind
from domain.normalize import analyze, terms


class MatchStatus(StrEnum):
    CONFIDENT = "confident"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class MatchThresholds:
    """When the best candidate is an answer, a question back to the user, or nothing.

    CONFIDENT needs the best score at least `confident` and ahead of the runner-up by at
    least `margin`; below `minimum` nothing is offered; anything between is AMBIGUOUS.
    The defaults come from the curves in docs/matching.md.
    """

    confident: float = 0.5
    margin: float = 0.1
    minimum: float = 0.15

    def __post_init__(self) -> None:
        if not 0.0 <= self.minimum <= self.confident <= 1.0:
            raise ValueError("need 0 <= minimum <= confident <= 1")
        if not 0.0 <= self.margin <= 1.0:
            raise ValueError("need 0 <= margin <= 1")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One incident the message may be about.

    `score` is comparable across messages (roughly the chance this is the right incident);
    `point_key` is the incident's point the message is about, when its words single one
    out, with `point_score` (0..1) saying how well.
    """

    incident_key: str
    score: float
    point_key: str | None = None
    point_score: float = 0.0


@dataclass(frozen=True, slots=True)
class MatchResult:
    status: MatchStatus
    candidates: tuple[Candidate, ...]
    query: str
    """The message as the matcher read it, after normalization."""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class KindWeight:
    """How much one occurrence of a term counts in a text of some kind, and the text length
    (in terms) at which a text of that kind is neither favoured nor penalized for length."""

    weight: float
    pivot: float


DEFAULT_KIND_WEIGHTS: Final[Mapping[TextKind, KindWeight]] = {
    TextKind.TITLE: KindWeight(1.0, 8.0),
    TextKind.SUMMARY: KindWeight(1.0, 16.0),
    TextKind.PLACE: KindWeight(1.0, 2.0),
    TextKind.KEYWORD: KindWeight(0.8, 2.0),
    TextKind.NAME: KindWeight(0.8, 3.0),
    TextKind.POINT: KindWeight(0.8, 10.0),
    TextKind.ACCOUNT: KindWeight(0.5, 30.0),
    TextKind.SOURCE: KindWeight(0.3, 3.0),
    TextKind.PHRASE: KindWeight(1.0, 12.0),
}

# Texts a message can paraphrase, as opposed to single names: only these count when
# asking how much of a stored text the message repeats, so that "Idlib" alone is not a
# complete match of the place text "Idlib".
_SENTENCE_KINDS: Final = frozenset(
    {TextKind.TITLE, TextKind.SUMMARY, TextKind.POINT, TextKind.ACCOUNT, TextKind.PHRASE}
)

# Telegram caps a message at 4096 characters; anything longer is cut, not scanned.
_MAX_QUERY_CHARS: Final = 6000
# A term reached through a typo correction is likelier wrong than one spelled right.
_CORRECTION_WEIGHT: Final = 0.8
# Past this many rare terms' worth in common, more of them says little more.
_MAX_EVIDENCE: Final = 4.0
# Below this overlap no point is named; the message is about the incident as a whole.
_MIN_POINT_SCORE: Final = 0.3
# A figure the message quotes is what tells points apart ("40 soldiers" vs "50 militants").
_NUMBER_WEIGHT: Final = 3.0

# Stage-2 model over the features of `_features`, fitted by logistic regression on the
# claim-retrieval train splits (bench/quality.py --fit --bench ct2020_en,ct2021_2a_en
# --split train).
_MODEL_BIAS: Final = -16.56
_MODEL_WEIGHTS: Final = (10.686, 3.103, 5.671)


@dataclass(frozen=True, slots=True)
class _Text:
    kind: TextKind
    point_key: str | None
    unique: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Item:
    """One thing the message asks for: a term, or a whole name group.

    A document holds the item if it holds every term of at least one of `variants` (a
    plain term is a group with a single one-term variant).
    """

    weight: float
    idf: float
    variants: tuple[Variant, ...]
    ids: IntArray
    saturated: Float32Array

    def held_by(self, doc_terms: AbstractSet[str]) -> bool:
        if len(self.variants) == 1 and len(self.variants[0]) == 1:
            return self.variants[0][0] in doc_terms
        return any(all(t in doc_terms for t in variant) for variant in self.variants)


@dataclass(frozen=True, slots=True)
class _Query:
    cleaned: str
    items: tuple[_Item, ...]
    terms: frozenset[str]
    """Every term the message can be said to contain: its own, the corrections of its
    typos, and all spellings of the names it mentions."""
    numbers: frozenset[str]


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
    ) -> None:
        self.thresholds = thresholds or MatchThresholds()
        self._weights = {**DEFAULT_KIND_WEIGHTS, **(kind_weights or {})}
        self._b = b
        self._depth = depth
        self._coef = np.asarray(_MODEL_WEIGHTS, dtype=np.float64)
        self._index = InvertedIndex(k1)
        self._near = NearTerms()
        self._groups = NameGroups()
        self._texts: dict[str, tuple[_Text, ...]] = {}
        # Derived from postings and the incident count, so emptied by every edit.
        self._group_arrays: dict[Variant, tuple[IntArray, Float32Array]] = {}
        self._idf_cache: dict[str, float] = {}
        self._mass_cache: dict[str, tuple[float, ...]] = {}

    # --- the collection -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, incident_key: object) -> bool:
        return incident_key in self._index

    def upsert(self, doc: IncidentDocument) -> None:
        """Index `doc`, replacing whatever was indexed under its key."""
        texts: list[_Text] = []
        tfs: dict[str, float] = {}
        for match_text in doc.texts:
            found = analyze(match_text.text).terms
            if not found:
                continue
            kind = self._weights[match_text.kind]
            length_norm = 1.0 - self._b + self._b * len(found) / kind.pivot
            for term, count in Counter(found).items():
                tfs[term] = tfs.get(term, 0.0) + kind.weight * count / length_norm
            texts.append(_Text(match_text.kind, match_text.point_key, tuple(dict.fromkeys(found))))
        self._drop(doc.incident_key)
        for term in self._index.put(doc.incident_key, tfs):
            self._near.add(term)
        self._texts[doc.incident_key] = tuple(texts)
        self._groups.declare(
            doc.incident_key,
            ([tuple(terms(variant)) for variant in group.variants] for group in doc.name_groups),
        )

    def remove(self, incident_key: str) -> bool:
        """Forget an incident; True if it was indexed."""
        found = self._drop(incident_key)
        self._groups.forget(incident_key)
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
        return True

    # --- matching -----------------------------------------------------------------------

    def match(self, text: str, limit: int = 5) -> MatchResult:
        """The incidents `text` may be about, best first, at most `limit` of them."""
        query = self._parse(text)
        if not query.items or limit <= 0:
            return MatchResult(MatchStatus.NONE, (), query.cleaned)
        shortlist = self._retrieve(query)
        if not shortlist:
            return MatchResult(MatchStatus.NONE, (), query.cleaned)
        rows = np.array(self._feature_rows(query, shortlist))
        scores = 1.0 / (1.0 + np.exp(-(rows @ self._coef + _MODEL_BIAS)))
        ranked = sorted(
            zip((slot for slot, _ in shortlist), scores.tolist(), strict=True),
            key=lambda pair: -pair[1],
        )
        candidates = tuple(
            Candidate(key, score, *self._point(query, key))
            for key, score in ((self._index.key(slot), score) for slot, score in ranked[:limit])
        )
        return MatchResult(self._status(candidates), candidates, query.cleaned)

    def shortlist_features(self, text: str) -> list[tuple[str, tuple[float, ...]]]:
        """The stage-2 features of every incident on the stage-1 shortlist, in stage-1 order.

        For fitting the stage-2 model offline (bench/quality.py --fit); not used to match.
        """
        query = self._parse(text)
        shortlist = self._retrieve(query) if query.items else []
        keys = [self._index.key(slot) for slot, _ in shortlist]
        return list(zip(keys, self._feature_rows(query, shortlist), strict=True))

    def _status(self, candidates: Sequence[Candidate]) -> MatchStatus:
        limits = self.thresholds
        best = candidates[0].score
        if best < limits.minimum:
            return MatchStatus.NONE
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        if best >= limits.confident and best - runner_up >= limits.margin:
            return MatchStatus.CONFIDENT
        return MatchStatus.AMBIGUOUS

    def _parse(self, text: str) -> _Query:
        analysis = analyze(text[:_MAX_QUERY_CHARS])
        index = self._index
        sequence = analysis.terms
        corrections: dict[str, list[str]] = {}
        for term in set(sequence):
            if not index.has(term):
                neighbours = self._near.near(term)
                if neighbours:
                    # The most widespread neighbour is the likeliest intended word; a
                    # second one stays in case the two are equally plausible.
                    neighbours.sort(key=lambda t: (-index.df(t), t))
                    corrections[term] = neighbours[:2]
        spelled = [corrections[t][0] if t in corrections else t for t in sequence]

        known: set[str] = set(sequence)
        items: list[_Item] = []
        for term, count in Counter(sequence).items():
            if index.has(term):
                items.append(self._term_item(term, _query_tf(count)))
            for near in corrections.get(term, ()):
                known.add(near)
                items.append(self._term_item(near, _query_tf(count) * _CORRECTION_WEIGHT))
        # A name keeps its own spelling above (an exact match is the stronger evidence)
        # and adds its whole group as one more item; replacing the spelling by the group
        # cost short messages most of their evidence when the group is broad.
        groups = Counter(group for _, _, group in self._groups.find_in(spelled))
        for group, count in groups.items():
            members = self._groups.members(group)
            known.update(t for variant in members for t in variant)
            items.append(self._group_item(group, members, _query_tf(count)))
        numbers = frozenset(t for t in sequence if t[:1].isdigit())
        return _Query(analysis.cleaned, tuple(items), frozenset(known), numbers)

    def _term_item(self, term: str, weight: float) -> _Item:
        ids, saturated = self._index.saturated(term)
        return _Item(weight, self._index.idf(len(ids)), ((term,),), ids, saturated)

    def _group_item(self, group: Variant, members: frozenset[Variant], weight: float) -> _Item:
        """A group scores like one term whose occurrences are those of all its variants."""
        cached = self._group_arrays.get(group)
        if cached is None:
            dense = np.zeros(self._index.capacity, dtype=np.float64)
            for variant in members:
                ids, tfs = self._all_of(variant)
                dense[ids] += tfs
            ids = np.flatnonzero(dense).astype(np.int32)
            cached = self._group_arrays[group] = (ids, self._index.saturate(dense[ids]))
        ids, saturated = cached
        return _Item(weight, self._index.idf(len(ids)), tuple(members), ids, saturated)

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

    def _retrieve(self, query: _Query) -> list[tuple[int, float]]:
        """Stage 1: the `depth` best slots by BM25, best first."""
        scores = np.zeros(self._index.capacity, dtype=np.float32)
        for item in query.items:
            if len(item.ids):
                scores[item.ids] += np.float32(item.weight * item.idf) * item.saturated
        if len(scores) > self._depth:
            top = np.argpartition(scores, -self._depth)[-self._depth :]
        else:
            top = np.arange(len(scores))
        top = top[scores[top] > 0.0]
        order = top[np.argsort(-scores[top], kind="stable")]
        return [(int(slot), float(scores[slot])) for slot in order]

    # --- stage 2 ------------------------------------------------------------------------

    def _feature_rows(
        self, query: _Query, shortlist: Sequence[tuple[int, float]]
    ) -> list[tuple[float, float, float]]:
        if not shortlist:
            return []
        top = shortlist[0][1]
        # IDF grows with the size of the index; measured against the largest IDF possible,
        # evidence reads as "this many rare terms in common" at any size.
        rare = self._index.idf(0)
        return [self._features(query, slot, score / top, rare) for slot, score in shortlist]

    def _features(
        self, query: _Query, slot: int, relative: float, rare: float
    ) -> tuple[float, float, float]:
        """Stage-2 features of one shortlisted incident.

        - stage-1 score relative to the best: orders the list, and is 1 for the leader;
        - the largest idf-weighted share of one stored sentence that the message repeats;
        - the idf mass the message and incident share, in rare terms' worth, capped.

        The last two do not depend on the other candidates, so the leader's score means
        the same in an index of ten incidents as in one of a hundred thousand.
        """
        doc_terms = frozenset(self._index.terms_of(slot))
        shared = sum(item.weight * item.idf for item in query.items if item.held_by(doc_terms))
        key = self._index.key(slot)
        cover = 0.0
        for text, mass in zip(self._texts[key], self._masses(key), strict=True):
            if mass:
                hits = query.terms.intersection(text.unique)
                if hits:
                    cover = max(cover, sum(map(self._idf, hits)) / mass)
        return relative, cover, min(shared / rare, _MAX_EVIDENCE) / _MAX_EVIDENCE

    def _masses(self, incident_key: str) -> tuple[float, ...]:
        """Per text of the incident, the IDF sum of its terms (0 where it does not count)."""
        masses = self._mass_cache.get(incident_key)
        if masses is None:
            masses = self._mass_cache[incident_key] = tuple(
                sum(map(self._idf, text.unique)) if text.kind in _SENTENCE_KINDS else 0.0
                for text in self._texts[incident_key]
            )
        return masses

    def _idf(self, term: str) -> float:
        idf = self._idf_cache.get(term)
        if idf is None:
            idf = self._idf_cache[term] = self._index.idf(self._index.df(term))
        return idf

    # --- which point --------------------------------------------------------------------

    def _point(self, query: _Query, incident_key: str) -> tuple[str | None, float]:
        """The point of the incident whose wording the message covers best (idf-weighted,
        numbers quoted by the message weighing extra), if it covers enough of it."""
        best_key: str | None = None
        best = 0.0
        for text in self._texts[incident_key]:
            if text.point_key is None:
                continue
            total = hit = 0.0
            for term in text.unique:
                weight = self._idf(term) * (_NUMBER_WEIGHT if term in query.numbers else 1.0)
                total += weight
                if term in query.terms:
                    hit += weight
            if total and hit / total > best:
                best, best_key = hit / total, text.point_key
        return (best_key if best >= _MIN_POINT_SCORE else None), best


def _query_tf(count: int) -> float:
    # A word repeated in a message is emphasis, not twice the evidence.
    return 1.0 if count == 1 else 1.0 + 0.5 * math.log(count)
