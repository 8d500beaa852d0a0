"""Find the incident a claim is about.

    matcher = ClaimMatcher()
    matcher.upsert(document_for(incident))
    result = matcher.match("Did rebels kill 40 Syrian soldiers in Idlib?")
    if result.status is MatchStatus.CONFIDENT:
        result.best.incident_key, result.best.point_key

See docs/matching.md for how it works and how the defaults were measured.
"""

from domain.matching._matcher import ClaimMatcher
from domain.matching._scoring import (
    Candidate,
    KindWeight,
    MatchResult,
    MatchStatus,
    MatchThresholds,
)

__all__ = [
    "Candidate",
    "ClaimMatcher",
    "KindWeight",
    "MatchResult",
    "MatchStatus",
    "MatchThresholds",
]
