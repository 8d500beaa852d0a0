"""The ClaimReview JSON-LD an incident's page embeds, checked against schema.org's
vocabulary: every property used belongs to the type it is used on, and what Google's fact
check features require of a ClaimReview is there."""

from __future__ import annotations

import json
from typing import Any

from domain.claim_review import claim_reviews, json_ld
from domain.dataset import sample_dataset

# Properties schema.org defines on each type (inherited ones included), of those a review
# of ours could use. Facts from schema.org's type pages.
SCHEMA_ORG: dict[str, set[str]] = {
    "ClaimReview": {
        "claimReviewed", "itemReviewed", "reviewRating", "author", "datePublished", "url",
        "inLanguage", "identifier", "name", "reviewBody", "publisher", "about",
    },
    "Claim": {"appearance", "firstAppearance", "author", "about", "name", "datePublished"},
    "Rating": {
        "alternateName", "ratingExplanation", "ratingValue", "bestRating", "worstRating",
        "author", "name",
    },
    "Organization": {"name", "url", "alternateName"},
    "CreativeWork": {"author", "url", "datePublished", "name", "inLanguage"},
    "Event": {"name", "location", "startDate", "endDate", "about"},
}  # fmt: skip
GOOGLE_REQUIRES = {"claimReviewed", "reviewRating", "url", "author"}


def _check(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, list):
        for n, item in enumerate(node):
            _check(item, f"{path}[{n}]", problems)
        return
    if not isinstance(node, dict):
        return
    kind = str(node.get("@type"))
    allowed = SCHEMA_ORG.get(kind, set())
    if kind not in SCHEMA_ORG:
        problems.append(f"{path}: unexpected type {kind!r}")
    for name, value in node.items():
        if name.startswith("@"):
            continue
        if name not in allowed:
            problems.append(f"{path}.{name}: not a property of {kind}")
        _check(value, f"{path}.{name}", problems)


def test_every_review_uses_schema_org_properties_and_has_what_google_requires() -> None:
    publisher = "Example Desk"
    _, (incident,) = sample_dataset()
    url = "https://factcheck.example.org/i/idlib-disputed-attack"
    reviews = json.loads(json_ld(claim_reviews(incident, publisher, url=url)))
    problems: list[str] = []
    _check(reviews, "$", problems)
    assert problems == []
    assert len(reviews) == len(incident.points) * 4  # each point, in each language
    for review in reviews:
        assert review["@context"] == "https://schema.org"
        assert set(review) >= GOOGLE_REQUIRES
        assert review["reviewRating"]["alternateName"]  # the textual rating
        assert review["url"] == url


def test_json_ld_cannot_be_ended_by_a_stored_text() -> None:
    written = json_ld([{"claimReviewed": "</script><!-- & -->"}])
    assert "<" not in written and ">" not in written and "&" not in written
    assert json.loads(written) == [{"claimReviewed": "</script><!-- & -->"}]
