"""What a message says of where and when, and whether that fits an incident.

Shared words say a message may be about an incident; what it says that the incident does
not is evidence that it is about another event. Three kinds of such evidence are read:

- **places**: a town, district, province or country the message names (the gazetteer,
  `_places`, and the places of the incidents on the shortlist) that the incident does
  not hold anywhere in its texts. A place in another country weighs more than one in
  the same country (it may be a district the record does not name). A country or a
  capital named without a preposition of place is taken for its government ("Moscow
  says", "blames Rwanda") and never counts against.
- **dates**: an absolute date in the message (`_dates`) that misses the incident's date.
- **names**: capitalized words inside a sentence (Latin or Cyrillic script) that are not
  common words, not places, and that the incident never mentions ("Bakara market",
  "Tochka-U"): who or what the message is about, and not in this record.

Each has its positive side too (the incident's own place named, its date given), so
that a message that says where and when is answered with more confidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Final

from domain.matching._dates import Span, dates_in, incident_span
from domain.matching._names import Variant
from domain.matching._places import (
    Gazetteer,
    Level,
    Mention,
    Place,
    after_locative,
    is_common_word,
    world,
    zipf_of,
)
from domain.model import IncidentDocument, TextKind
from domain.normalize import Analysis, is_ukrainian, name_terms, script_of, writing

_SENTENCES: Final = frozenset(
    {TextKind.TITLE, TextKind.SUMMARY, TextKind.POINT, TextKind.ACCOUNT, TextKind.PHRASE}
)
# Past this many unexplained names, more of them say little more.
_MAX_NAMES: Final = 2


@dataclass(frozen=True, slots=True)
class Facts:
    """Where and when an incident happened, as the matcher compares them."""

    places: tuple[Variant, ...] = ()
    """Its place, the place's aliases, region and country, as terms."""
    countries: frozenset[str] = frozenset()
    """ISO codes of the country it happened in, where the gazetteer knows the name."""
    span: Span | None = None
    scripts: frozenset[str] = frozenset()
    """The scripts its texts are written in: a message's words in another script are
    not expected to be found in it."""


NO_FACTS: Final = Facts()


def facts_to_json(facts: Facts) -> dict[str, Any]:
    """Facts as JSON, for an index kept in a database."""
    span = facts.span
    return {
        "places": [list(variant) for variant in facts.places],
        "countries": sorted(facts.countries),
        "span": [span.start.isoformat(), span.end.isoformat()] if span is not None else None,
        "scripts": sorted(facts.scripts),
    }


def facts_from_json(data: Mapping[str, Any] | None) -> Facts:
    if not data:
        return NO_FACTS
    span = data.get("span")
    return Facts(
        places=tuple(tuple(variant) for variant in data.get("places", ())),
        countries=frozenset(data.get("countries", ())),
        span=Span(dt.date.fromisoformat(span[0]), dt.date.fromisoformat(span[1])) if span else None,
        scripts=frozenset(data.get("scripts", ())),
    )


def facts_of(doc: IncidentDocument, gazetteer: Gazetteer | None = None) -> Facts:
    places = tuple(dict.fromkeys(v for name in doc.places if (v := tuple(name_terms(name)))))
    return Facts(
        places=places,
        countries=_countries(doc, gazetteer or world()),
        span=incident_span(doc.date_start, doc.date_end, doc.date_note),
        # Names come in every script (aliases, source names); what a record is written in
        # is the script of its sentences.
        scripts=frozenset(
            writing(script_of(text.text), is_ukrainian(text.text))
            for text in doc.texts
            if text.kind in _SENTENCES
        )
        - {"other"},
    )


def _countries(doc: IncidentDocument, gazetteer: Gazetteer) -> frozenset[str]:
    """The incident's country: its country field if the gazetteer knows it, else the one
    country its place names agree on."""
    for name in doc.countries:
        place = gazetteer.get(tuple(name_terms(name)))
        if place is not None and place.level is Level.COUNTRY:
            return place.countries
    candidates: frozenset[str] | None = None
    for name in doc.places:
        place = gazetteer.get(tuple(name_terms(name)))
        if place is None:
            continue
        candidates = place.countries if candidates is None else candidates & place.countries
    return candidates if candidates and len(candidates) == 1 else frozenset()


@dataclass(frozen=True, slots=True)
class MessageFacts:
    places: tuple[Mention, ...] = ()
    dates: tuple[Span, ...] = ()
    names: tuple[str, ...] = ()
    """Terms of the names (capitalized, uncommon, not places) the message uses."""


def read_message(
    analysis: Analysis, *, sent_on: dt.date | None = None, gazetteer: Gazetteer | None = None
) -> MessageFacts:
    found = (gazetteer or world()).mentions(analysis)
    found += _unlisted_places(analysis, found)
    found.sort(key=lambda mention: mention.start)
    dates = tuple(dates_in(analysis.cleaned, sent_on=sent_on))
    covered = {i for mention in found for i in range(mention.start, mention.end)}
    return MessageFacts(tuple(found), dates, tuple(_names(analysis, covered)))


_UNLISTED: Final = Place(frozenset(), Level.SETTLEMENT)


def _unlisted_places(analysis: Analysis, listed: Sequence[Mention]) -> list[Mention]:
    """Places no gazetteer lists, known by how they are written: after a preposition of
    place, a run of capitalized words starting with an uncommon one ("in Kafr Nabuda",
    "at Bakara market"). A village or a district is exactly what tells a look-alike."""

    if not analysis.cased:
        return []
    taken = {i for mention in listed for i in range(mention.start, mention.end)}
    found: list[Mention] = []
    for i in range(len(analysis.terms)):
        if i in taken or not after_locative(analysis, i):
            continue
        first = analysis.cased[i]
        if (
            not first[:1].isupper()
            or script_of(first) == "arabic"
            or is_common_word(analysis.words[i])
        ):
            continue
        end = i + 1
        while (
            end < len(analysis.terms)
            and end not in taken
            and not analysis.opening[end]
            and analysis.cased[end][:1].isupper()
        ):
            end += 1
        variant = tuple(analysis.terms[i:end])
        found.append(Mention(i, end, variant, _UNLISTED, True))
        taken.update(range(i, end))
    return found


def with_places_of(
    message: MessageFacts, analysis: Analysis, shortlisted: Iterable[Facts]
) -> MessageFacts:
    """The message's places, with the names of the shortlisted incidents' places added
    (a district no gazetteer lists, "Haret Hreik", is still a place if a record says so)."""
    local = Gazetteer(local=True)
    for facts in shortlisted:
        for variant in facts.places:
            local.add(variant, Place(facts.countries, Level.SETTLEMENT))
    if not len(local):
        return message
    extra = [
        mention
        for mention in local.mentions(analysis)
        if not any(m.start < mention.end and mention.start < m.end for m in message.places)
    ]
    if not extra:
        return message
    places = tuple(sorted((*message.places, *extra), key=lambda m: m.start))
    covered = {i for mention in places for i in range(mention.start, mention.end)}
    names = tuple(_names(analysis, covered))
    return MessageFacts(places, message.dates, names)


# A message whose Latin words are mostly not English is Russian or Arabic in Latin
# letters ("obstrelyali", "ghara 3ala"): its words are not the record's words, and like
# a message in another script it is matched by names and meaning. Typos leave most words
# English; a message needs this share of unknown words, and enough words to tell.
_TRANSLITERATED_SHARE: Final = 0.6
TRANSLITERATED: Final = "latin-transliterated"
_UNKNOWN_ZIPF: Final = 2.0


def transliterated(analysis: Analysis) -> bool:

    lower = [
        word
        for word, written in zip(analysis.words, analysis.cased or analysis.words, strict=True)
        if script_of(word) == "latin" and not written[:1].isupper() and len(word) >= 3
    ]
    if len(lower) < 3:
        return False
    unknown = sum(1 for word in lower if zipf_of(word) < _UNKNOWN_ZIPF)
    return unknown >= _TRANSLITERATED_SHARE * len(lower)


def _names(analysis: Analysis, covered: AbstractSet[int]) -> list[str]:

    names = []
    for i, written in enumerate(analysis.cased):
        if i in covered or analysis.opening[i] or not written[:1].isupper():
            continue
        if not written[:1].isalpha() or is_common_word(analysis.words[i]):
            continue
        names.append(analysis.terms[i])
    return list(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Evidence:
    """Evidence features of one incident for one message (each in 0..1)."""

    place_named: float
    place_elsewhere: float
    place_nearby: float
    date_fits: float
    date_misses: float
    names_missing: float
    words_missing: float
    foreign_script: float
    """The share of the message (by IDF) in scripts the record is not written in, where
    shared words cannot be expected and meaning has to carry the match."""

    def row(self) -> tuple[float, ...]:
        return (
            self.place_named,
            self.place_elsewhere,
            self.place_nearby,
            self.date_fits,
            self.date_misses,
            self.names_missing,
            self.words_missing,
            self.foreign_script,
        )


NO_EVIDENCE: Final = Evidence(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def evidence(
    message: MessageFacts,
    facts: Facts,
    incident_terms: AbstractSet[str],
    alternatives: Mapping[str, Sequence[str]],
    weighed: Sequence[tuple[str, str, float]],
    rarity: Callable[[str], float] = lambda term: 1.0,
) -> Evidence:
    """How the message's places, dates, names and words fit one incident.

    `alternatives` maps a message term to the other terms that may stand for it (its typo
    corrections, the spellings of its name group): a name is held if any of them is.
    `weighed` is (term, script of its word, IDF) for each distinct term of the message;
    `rarity` is a term's IDF over the largest possible one (0..1): naming a place that
    hundreds of incidents share says less than naming one only a few have.
    """
    if not facts.places:
        # A record without a place (a bare claim) is too thin for what a message says
        # beyond it to count against it.
        return NO_EVIDENCE
    own = {t for variant in facts.places for t in variant}

    def held(variant: Variant, within: AbstractSet[str]) -> bool:
        return all(
            t in within or any(a in within for a in alternatives.get(t, ())) for t in variant
        )

    named = elsewhere = nearby = 0.0
    for mention in message.places:
        if held(mention.variant, own):
            named = max(named, max(rarity(t) for t in mention.variant))
            continue
        if held(mention.variant, incident_terms) or not mention.sure:
            continue  # named in the record, if not as its place; or perhaps not a place
        government = mention.place.level is Level.COUNTRY or mention.place.capital
        if government and not mention.locative:
            continue  # "Moscow says", "blames Rwanda": a government speaking, not a place
        if (
            facts.countries
            and mention.place.countries
            and not (facts.countries & mention.place.countries)
        ):
            elsewhere = 1.0
        else:
            nearby = 1.0
    fits = misses = 0.0
    if facts.span is not None and message.dates:
        absolute = [span for span in message.dates if not span.relative]
        if any(span.fits(facts.span) for span in message.dates):
            fits = 1.0
        elif absolute:
            misses = 1.0
    missing = sum(1 for term in message.names if not held((term,), incident_terms))
    # The share of the message (by IDF) the record does not explain, among words in a
    # script the record is written in: "a bakery in al-Rastan" is not the market strike
    # there, whatever else the two share.
    expected = unexplained = foreign = 0.0
    for term, script, idf in weighed:
        if script in facts.scripts:
            expected += idf
            if not held((term,), incident_terms):
                unexplained += idf
        elif script != TRANSLITERATED:
            # Transliterated words are neither: not the record's words, and not a script a
            # multilingual model reads well (it learnt Russian and Arabic in their letters).
            foreign += idf
    return Evidence(
        named,
        elsewhere,
        nearby,
        fits,
        misses,
        min(missing, _MAX_NAMES) / _MAX_NAMES,
        unexplained / expected if expected else 0.0,
        foreign / (expected + foreign) if foreign else 0.0,
    )
