"""schema.org ClaimReview for incidents: one review per point and language, naming which
sources assert, dispute or partly support it.

We publish no verdict of our own, so the rating is a textual tally of the sources'
stances rather than a true/false scale. `json_ld` writes it so that it can sit inside an
HTML page's script element as it is.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from domain.model import RECORD_LANGUAGE, IncidentView, Stance


def web_address(url: str | None) -> str | None:
    """`url` when it is an http(s) address; anything else (javascript:, data:) is no link
    to publish, whatever got it into the record."""
    if url and urlparse(url).scheme.lower() in ("http", "https"):
        return url
    return None


_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_ld(data: Any) -> str:
    """JSON that may be embedded in an HTML `<script type="application/ld+json">` as it is:
    `<`, `>` and `&` are written as JSON escapes, so no stored text ("</script>", "<!--")
    can end the script element or open markup; a JSON parser reads the same values."""
    return json.dumps(data, ensure_ascii=False, indent=2).translate(_SCRIPT_SAFE)


def claim_reviews(
    incident: IncidentView, publisher: str, *, url: str | None = None
) -> list[dict[str, Any]]:
    """The reviews of an incident; `url` is where they are published (its public page)."""
    reviews = []
    for point in incident.points:
        by_stance = {
            stance: [a.source.name for a in incident.accounts_with(point.key, stance)]
            for stance in (Stance.ASSERTS, Stance.DISPUTES, Stance.PARTLY)
        }
        tally = (
            f"Asserted by {len(by_stance[Stance.ASSERTS])} source(s), disputed by "
            f"{len(by_stance[Stance.DISPUTES])}, "
            f"partly supported by {len(by_stance[Stance.PARTLY])}"
        )
        appearances = [
            {
                "@type": "CreativeWork",
                "author": {"@type": "Organization", "name": a.source.name},
                **({"url": a.url} if web_address(a.url) else {}),
                **({"datePublished": a.published_on.isoformat()} if a.published_on else {}),
            }
            for a in incident.accounts
            if a.stance_on(point.key) is Stance.ASSERTS
        ]
        # One review in the record's language and one in each language the point is
        # translated into, each saying which language it is in.
        languages = {RECORD_LANGUAGE: point.text, **point.translations}
        for language, claim in sorted(languages.items()):
            title = (
                incident.translations[language].title
                if language in incident.translations
                else incident.title
            )
            suffix = "" if language == RECORD_LANGUAGE else f"@{language}"
            reviews.append(
                {
                    "@context": "https://schema.org",
                    "@type": "ClaimReview",
                    "identifier": f"{incident.key}#{point.key}{suffix}",
                    "inLanguage": language,
                    **({"url": url} if url else {}),
                    "claimReviewed": claim,
                    "author": {"@type": "Organization", "name": publisher},
                    "itemReviewed": {
                        "@type": "Claim",
                        "appearance": appearances,
                        "about": {"@type": "Event", "name": title, "location": incident.place},
                    },
                    "reviewRating": {
                        "@type": "Rating",
                        "alternateName": tally,
                        "ratingExplanation": "; ".join(
                            f"{stance.value}: {', '.join(names)}"
                            for stance, names in by_stance.items()
                            if names
                        ),
                    },
                }
            )
    return reviews
