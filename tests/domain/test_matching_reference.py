"""The reference case: the disputed Idlib attack must be found however a user phrases it.

The matcher holds the bundled reference incident among a few hundred synthetic incidents
from the same and other wars (same vocabulary: attacks, soldiers, air strikes, numbers),
and, when the shared claim-retrieval data is present, a sample of real fact-checked claims.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.matching import ClaimMatcher, MatchStatus
from domain.model import IncidentDocument, MatchText, TextKind, document_for
from domain.sample import REFERENCE_INCIDENT_KEY, reference_incident
from tests.helpers.look_alikes import ENGLISH, RUSSIAN, distractors

CLAIMS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "bench"
    / "claim-retrieval"
    / "ct2022_2a_en"
    / "claims.jsonl"
)


def claim_documents(limit: int) -> list[IncidentDocument]:
    docs = []
    with CLAIMS.open(encoding="utf-8") as lines:
        for line in lines:
            claim = json.loads(line)
            docs.append(
                IncidentDocument(
                    f"claim-{claim['id']}",
                    (
                        MatchText(TextKind.TITLE, claim["title"]),
                        MatchText(TextKind.SUMMARY, claim["text"]),
                    ),
                )
            )
            if len(docs) == limit:
                break
    return docs


def make_matcher(extra: list[IncidentDocument]) -> ClaimMatcher:
    matcher = ClaimMatcher()
    for doc in [*distractors(300), *extra]:
        matcher.upsert(doc)
    matcher.upsert(document_for(reference_incident()))
    return matcher


@pytest.fixture(scope="module")
def matcher() -> ClaimMatcher:
    return make_matcher([])


@pytest.fixture(scope="module")
def matcher_with_claims() -> ClaimMatcher:
    if not CLAIMS.exists():
        pytest.skip(f"shared claim-retrieval data not found at {CLAIMS}")
    return make_matcher(claim_documents(3000))


def check(matcher: ClaimMatcher, message: str, point: str | None) -> None:
    result = matcher.match(message)
    assert result.status is MatchStatus.CONFIDENT, (message, result)
    assert result.best is not None
    assert result.best.incident_key == REFERENCE_INCIDENT_KEY, (message, result)
    if point is not None:
        assert result.best.point_key == point, (message, result.best)


@pytest.mark.parametrize(("message", "point"), ENGLISH)
def test_english_phrasings_find_the_reference_case(
    matcher: ClaimMatcher, message: str, point: str | None
) -> None:
    check(matcher, message, point)


@pytest.mark.parametrize(("message", "point"), RUSSIAN)
def test_russian_phrasings_find_the_reference_case(
    matcher: ClaimMatcher, message: str, point: str | None
) -> None:
    check(matcher, message, point)


@pytest.mark.dataset
@pytest.mark.parametrize(("message", "point"), ENGLISH + RUSSIAN)
def test_phrasings_among_real_fact_checked_claims(
    matcher_with_claims: ClaimMatcher, message: str, point: str | None
) -> None:
    check(matcher_with_claims, message, point)


def test_a_distractor_question_does_not_land_on_the_reference_case(matcher: ClaimMatcher) -> None:
    result = matcher.match("Did shelling of a market in Aleppo kill 12 civilians?")
    assert result.best is not None
    assert result.best.incident_key != REFERENCE_INCIDENT_KEY


def test_unrelated_messages_find_nothing(matcher: ClaimMatcher) -> None:
    for message in ("Good morning!", "Buy followers cheap, DM me", "🙂🙂🙂", "", "Как дела?"):
        assert matcher.match(message).status is MatchStatus.NONE, message
