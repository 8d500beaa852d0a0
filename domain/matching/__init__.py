"""Find the incident a claim is about.

    matcher = ClaimMatcher()
    matcher.upsert(document_for(incident))
    result = matcher.match("Did rebels kill 40 Syrian soldiers in Idlib?")
    if result.status is MatchStatus.CONFIDENT:
        result.best.incident_key, result.best.point_key

See docs/matching.md for how it works and how the defaults were measured.
"""

from domain.matching._evidence import Facts, facts_from_json, facts_to_json
from domain.matching._fuzzy import one_edit_patterns
from domain.matching._matcher import ClaimMatcher
from domain.matching._names import Variant
from domain.matching._places import warm_up
from domain.matching._scoring import (
    Candidate,
    KindWeight,
    MatchResult,
    MatchStatus,
    MatchThresholds,
    Profile,
    Text,
)
from domain.matching._semantic import (
    BACKGROUND,
    Embedder,
    Vector,
    load_embedder,
    passage_digest,
    passage_of,
    unavailable_reason,
)
from domain.matching._stored import MatchStore, StoredIncident, StoredMatcher

__all__ = [
    "BACKGROUND",
    "Candidate",
    "ClaimMatcher",
    "Embedder",
    "Facts",
    "KindWeight",
    "MatchResult",
    "MatchStatus",
    "MatchStore",
    "MatchThresholds",
    "Profile",
    "StoredIncident",
    "StoredMatcher",
    "Text",
    "Variant",
    "Vector",
    "facts_from_json",
    "facts_to_json",
    "load_embedder",
    "one_edit_patterns",
    "passage_digest",
    "passage_of",
    "unavailable_reason",
    "warm_up",
]
