"""What both retrieval paths share: reading a message, and stage 2 on their shortlist.

The in-memory index (`_matcher.ClaimMatcher`) and the database-backed one
(`_stored.StoredMatcher`) differ only in where term statistics and stage-1 candidates come
from. Everything that decides what a message asks for, how a shortlisted incident is
scored, which point it is about and which status the answer gets lives here, so both
paths give the same answer for the same statistics. docs/matching.md has the
measurements behind every constant.

One module because it is the one place both paths call: the features, the fitted models
that weigh them and the status rule are read together whenever a threshold is tuned.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

import numpy as np

from domain.matching._evidence import (
    NO_FACTS,
    TRANSLITERATED,
    Facts,
    MessageFacts,
    evidence,
    facts_of,
    read_message,
    transliterated,
    with_places_of,
)
from domain.matching._names import NameGroups, Variant
from domain.model import IncidentDocument, TextKind
from domain.normalize import Analysis, analyze, is_ukrainian, script_of, terms, writing


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
_MAX_QUERY_CHARS: Final = 4096
# A term reached through a typo correction is likelier wrong than one spelled right.
_CORRECTION_WEIGHT: Final = 0.8
# Past this many rare terms' worth in common, more of them says little more.
_MAX_EVIDENCE: Final = 4.0
# How many distinct terms of a message are weighed for what the record does not explain.
_LEAD_TERMS: Final = 24
# Below this overlap no point is named; the message is about the incident as a whole.
_MIN_POINT_SCORE: Final = 0.3
# A figure the message quotes is what tells points apart ("40 soldiers" vs "50 militants").
_NUMBER_WEIGHT: Final = 3.0

# Stage-2 model over `FEATURES` (the lexical one), fitted by `python bench/fit.py`: weighted
# logistic regression on the claim-retrieval train splits and the look-alike development
# set, each positive also asked with its incident removed (docs/matching.md, "Stage 2").
_MODEL_BIAS: Final = -17.286
_MODEL_WEIGHTS: Final = (
    11.303, 4.097, 5.029, 2.290, -7.225, -1.830, 0.858, -9.987, -0.000, -8.630, -1.493
)  # fmt: skip
FEATURES: Final = (
    "relative",
    "cover",
    "shared",
    "place_named",
    "place_elsewhere",
    "place_nearby",
    "date_fits",
    "date_misses",
    "names_missing",
    "words_missing",
    "foreign_script",
)
# The semantic model, over `SEMANTIC_FEATURES` (`python bench/fit.py --semantic`), used
# when the message and every shortlisted incident have a vector.
_SEMANTIC_BIAS: Final = -8.166
_SEMANTIC_WEIGHTS: Final = (
    4.115, 3.083, 3.177, 2.512, -6.982, -1.763, 0.845, -10.350, -0.000, -8.808, -1.723,
    0.000, 97.425, 25.650, 36.995,
)  # fmt: skip
SEMANTIC_FEATURES: Final = (
    *FEATURES,
    "similarity",
    "similarity_lead",
    "similarity_margin",
    "margin_foreign",
)


@dataclass(frozen=True, slots=True)
class Text:
    kind: TextKind
    point_key: str | None
    unique: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    """What an index keeps of one incident: field-weighted, length-normalized term
    frequencies, each text's distinct terms, and the name groups it declares (as terms)."""

    tfs: dict[str, float]
    texts: tuple[Text, ...]
    groups: tuple[tuple[Variant, ...], ...]
    facts: Facts = NO_FACTS


def profile(doc: IncidentDocument, weights: Mapping[TextKind, KindWeight], b: float) -> Profile:
    texts: list[Text] = []
    tfs: dict[str, float] = {}
    for match_text in doc.texts:
        found = analyze(match_text.text).terms
        if not found:
            continue
        kind = weights[match_text.kind]
        length_norm = 1.0 - b + b * len(found) / kind.pivot
        for term, count in Counter(found).items():
            tfs[term] = tfs.get(term, 0.0) + kind.weight * count / length_norm
        texts.append(Text(match_text.kind, match_text.point_key, tuple(dict.fromkeys(found))))
    groups = tuple(
        tuple(tuple(terms(variant)) for variant in group.variants) for group in doc.name_groups
    )
    return Profile(tfs, tuple(texts), groups, facts_of(doc))


@dataclass(frozen=True, slots=True)
class Item:
    """One thing the message asks for: a term, or a whole name group.

    A document holds the item if it holds every term of at least one of `variants` (a
    plain term is a group with a single one-term variant).
    """

    weight: float
    idf: float
    variants: tuple[Variant, ...]
    group: Variant = ()
    """The group's id (`NameGroups.find_in`) for a group item."""

    @property
    def term(self) -> str | None:
        """The term, when the item is a plain term rather than a group."""
        if len(self.variants) == 1 and len(self.variants[0]) == 1:
            return self.variants[0][0]
        return None

    def held_by(self, doc_terms: AbstractSet[str]) -> bool:
        term = self.term
        if term is not None:
            return term in doc_terms
        return any(all(t in doc_terms for t in variant) for variant in self.variants)


@dataclass(frozen=True, slots=True)
class Query:
    cleaned: str
    items: tuple[Item, ...]
    terms: frozenset[str]
    """Every term the message can be said to contain: its own, the corrections of its
    typos, and all spellings of the names it mentions."""
    numbers: frozenset[str]
    analysis: Analysis
    message: MessageFacts
    """Where and when the message says it happened, and the names it uses."""
    alternatives: dict[str, tuple[str, ...]]
    """Per message term, the terms that may stand for it: corrections of a typo, the
    other spellings of a name."""
    background: float | None = None
    """With the semantic stage, the message's highest similarity to news about nothing
    recorded (`_semantic.BACKGROUND`): the floor an incident must rise above."""


class Statistics(Protocol):
    """The collection-wide numbers reading a message and stage 2 need."""

    def df(self, term: str) -> int:
        """Incidents holding `term` (0 for a term the index lacks)."""
        ...

    def near(self, term: str) -> list[str]:
        """Indexed terms one typo away from `term`."""
        ...

    def group_df(self, group: Variant, members: frozenset[Variant]) -> int:
        """Incidents holding every term of at least one variant of the group."""
        ...

    def idf(self, df: int) -> float: ...

    def term_idf(self, term: str) -> float: ...

    def masses(self, incident_key: str, texts: Sequence[Text]) -> tuple[float, ...]:
        """Per text, the IDF sum of its terms, 0 where the kind is not a sentence."""
        ...


def text_masses(stats: Statistics, texts: Sequence[Text]) -> tuple[float, ...]:
    return tuple(
        sum(map(stats.term_idf, text.unique)) if text.kind in _SENTENCE_KINDS else 0.0
        for text in texts
    )


def analysis_of(text: str) -> Analysis:
    return analyze(text[:_MAX_QUERY_CHARS])


def corrections_for(sequence: Sequence[str], stats: Statistics) -> dict[str, list[str]]:
    corrections: dict[str, list[str]] = {}
    for term in set(sequence):
        if not stats.df(term):
            neighbours = stats.near(term)
            if neighbours:
                # The most widespread neighbour is the likeliest intended word; a second
                # one stays in case the two are equally plausible.
                neighbours.sort(key=lambda t: (-stats.df(t), t))
                corrections[term] = neighbours[:2]
    return corrections


def groups_in(
    sequence: Sequence[str], corrections: Mapping[str, list[str]], groups: NameGroups
) -> Counter[Variant]:
    """The name groups the message mentions (after its typos are corrected), with counts."""
    spelled = [corrections[t][0] if t in corrections else t for t in sequence]
    return Counter(group for _, _, group in groups.find_in(spelled))


def build_query(
    analysis: Analysis,
    corrections: Mapping[str, list[str]],
    stats: Statistics,
    groups: NameGroups,
    sent_on: dt.date | None = None,
) -> Query:
    sequence = analysis.terms
    known: set[str] = set(sequence)
    alternatives: dict[str, tuple[str, ...]] = {t: tuple(c) for t, c in corrections.items()}
    spelled = [corrections[t][0] if t in corrections else t for t in sequence]
    for start, end, group in groups.find_in(spelled):
        spellings = tuple({t for variant in groups.members(group) for t in variant})
        for term in sequence[start:end]:
            alternatives[term] = (*alternatives.get(term, ()), *spellings)
    items: list[Item] = []
    for term, count in Counter(sequence).items():
        df = stats.df(term)
        if df:
            items.append(Item(_query_tf(count), stats.idf(df), ((term,),)))
        for near in corrections.get(term, ()):
            known.add(near)
            weight = _query_tf(count) * _CORRECTION_WEIGHT
            items.append(Item(weight, stats.idf(stats.df(near)), ((near,),)))
    # A name keeps its own spelling above (an exact match is the stronger evidence) and
    # adds its whole group as one more item; replacing the spelling by the group cost
    # short messages most of their evidence when the group is broad.
    for group, count in groups_in(sequence, corrections, groups).items():
        members = groups.members(group)
        known.update(t for variant in members for t in variant)
        idf = stats.idf(stats.group_df(group, members))
        items.append(Item(_query_tf(count), idf, tuple(members), group))
    numbers = frozenset(t for t in sequence if t[:1].isdigit())
    message = read_message(analysis, sent_on=sent_on)
    return Query(
        analysis.cleaned,
        tuple(items),
        frozenset(known),
        numbers,
        analysis,
        message,
        alternatives,
    )


def read_query(
    text: str, stats: Statistics, groups: NameGroups, sent_on: dt.date | None = None
) -> Query:
    analysis = analysis_of(text)
    corrections = corrections_for(analysis.terms, stats)
    return build_query(analysis, corrections, stats, groups, sent_on)


@dataclass(frozen=True, slots=True)
class Shortlisted:
    """An incident stage 1 put on the shortlist, with what stage 2 reads of it."""

    incident_key: str
    score: float
    terms: AbstractSet[str]
    texts: tuple[Text, ...]
    facts: Facts = NO_FACTS
    similarity: float | None = None
    """Cosine of the message's and the incident's vectors, when the semantic stage ran."""


class Ranker:
    """Stage 2 and the answer's status: the calibrated score of each shortlisted incident."""

    def __init__(self, thresholds: MatchThresholds) -> None:
        self.thresholds = thresholds
        self._lexical = (np.asarray(_MODEL_WEIGHTS, dtype=np.float64), _MODEL_BIAS)
        self._semantic = (np.asarray(_SEMANTIC_WEIGHTS, dtype=np.float64), _SEMANTIC_BIAS)

    def rank(
        self,
        query: Query,
        shortlist: Sequence[Shortlisted],
        stats: Statistics,
        limit: int,
    ) -> MatchResult:
        if not shortlist:
            return MatchResult(MatchStatus.NONE, (), query.cleaned)
        rows = np.array(self.feature_rows(query, shortlist, stats))
        coef, bias = self._semantic if rows.shape[1] == len(SEMANTIC_FEATURES) else self._lexical
        scores = 1.0 / (1.0 + np.exp(-(rows @ coef + bias)))
        ranked = sorted(zip(shortlist, scores.tolist(), strict=True), key=lambda pair: -pair[1])
        candidates = tuple(
            Candidate(entry.incident_key, score, *self._point(query, entry.texts, stats))
            for entry, score in ranked[:limit]
        )
        return MatchResult(self._status(candidates), candidates, query.cleaned)

    def _status(self, candidates: Sequence[Candidate]) -> MatchStatus:
        limits = self.thresholds
        best = candidates[0].score
        if best < limits.minimum:
            return MatchStatus.NONE
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        # Two incidents that would each be answered on their own are look-alikes the
        # message does not tell apart, however the scores of the two compare: ask.
        clear = best - runner_up >= limits.margin and runner_up < limits.confident
        if best >= limits.confident and clear:
            return MatchStatus.CONFIDENT
        return MatchStatus.AMBIGUOUS

    def feature_rows(
        self, query: Query, shortlist: Sequence[Shortlisted], stats: Statistics
    ) -> list[tuple[float, ...]]:
        if not shortlist:
            return []
        top = shortlist[0].score
        # IDF grows with the size of the index; measured against the largest IDF possible,
        # evidence reads as "this many rare terms in common" at any size.
        rare = stats.idf(0)
        message = with_places_of(query.message, query.analysis, (e.facts for e in shortlist))
        ukrainian = is_ukrainian(query.analysis.cleaned)
        latin = TRANSLITERATED if transliterated(query.analysis) else "latin"
        scripts = {
            term: latin if script == "latin" else writing(script, ukrainian)
            for term, word in zip(query.analysis.terms, query.analysis.words, strict=True)
            for script in (script_of(word),)
        }
        # The lead of a long forward carries its claim; the rest is framing and appeals.
        lead = dict(list(scripts.items())[:_LEAD_TERMS])
        weighed = [(term, script, stats.term_idf(term)) for term, script in lead.items()]

        def rarity(term: str) -> float:
            return min(stats.term_idf(term) / rare, 1.0) if rare else 1.0

        rows = [
            (
                *self.features(query, entry, entry.score / top if top else 0.0, rare, stats),
                *evidence(
                    message, entry.facts, entry.terms, query.alternatives, weighed, rarity
                ).row(),
            )
            for entry in shortlist
        ]
        similarities = [entry.similarity for entry in shortlist]
        if any(s is None for s in similarities):
            return rows
        known = [s for s in similarities if s is not None]
        best = max(known)
        floor = [query.background] if query.background is not None else []
        ordered = sorted([*known, *floor], reverse=True)
        foreign = len(FEATURES) - 1
        return [
            (*row, similarity, similarity - best, margin, margin * row[foreign])
            for row, similarity in zip(rows, similarities, strict=True)
            if similarity is not None
            for margin in (_margin(similarity, ordered),)
        ]

    def features(
        self, query: Query, entry: Shortlisted, relative: float, rare: float, stats: Statistics
    ) -> tuple[float, float, float]:
        """The word-overlap features of one shortlisted incident (`_evidence` adds what
        the message says of place, date and names).

        - stage-1 score relative to the best: orders the list, and is 1 for the leader;
        - the largest idf-weighted share of one stored sentence that the message repeats;
        - the idf mass the message and incident share, in rare terms' worth, capped.

        The last two do not depend on the other candidates, so the leader's score means
        the same in an index of ten incidents as in one of a hundred thousand.
        """
        shared = sum(item.weight * item.idf for item in query.items if item.held_by(entry.terms))
        cover = 0.0
        masses = stats.masses(entry.incident_key, entry.texts)
        for text, mass in zip(entry.texts, masses, strict=True):
            if mass:
                hits = query.terms.intersection(text.unique)
                if hits:
                    cover = max(cover, sum(map(stats.term_idf, hits)) / mass)
        return relative, cover, min(shared / rare, _MAX_EVIDENCE) / _MAX_EVIDENCE

    def _point(
        self, query: Query, texts: Sequence[Text], stats: Statistics
    ) -> tuple[str | None, float]:
        """The point of the incident whose wording the message covers best (idf-weighted,
        numbers quoted by the message weighing extra), if it covers enough of it."""
        best_key: str | None = None
        best = 0.0
        for text in texts:
            if text.point_key is None:
                continue
            total = hit = 0.0
            for term in text.unique:
                weight = stats.term_idf(term) * (_NUMBER_WEIGHT if term in query.numbers else 1.0)
                total += weight
                if term in query.terms:
                    hit += weight
            if total and hit / total > best:
                best, best_key = hit / total, text.point_key
        return (best_key if best >= _MIN_POINT_SCORE else None), best


def _margin(similarity: float, ordered: Sequence[float]) -> float:
    """How far this incident is ahead of the nearest other in meaning, or of unrelated
    news (0 when it is not ahead): raw cosines of a multilingual model are not comparable
    across languages, but the lead of one incident over the rest is."""
    if len(ordered) < 2 or similarity < ordered[0]:
        return 0.0
    return ordered[0] - ordered[1]


def _query_tf(count: int) -> float:
    # A word repeated in a message is emphasis, not twice the evidence.
    return 1.0 if count == 1 else 1.0 + 0.5 * math.log(count)
