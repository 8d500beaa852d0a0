"""Shortcuts into the stores for arranging a test's starting state."""

from __future__ import annotations

from db.repository import CommunityRepository, UnmatchedClaim


async def queue_claim(
    community: CommunityRepository,
    normalized: str,
    claim: str,
    *,
    user_id: int,
    chat_id: int,
    language: str | None,
) -> int:
    """Queue one claim nobody could match, as one user asked it; its query id."""
    (query_id,) = await community.record_unmatched_many(
        [UnmatchedClaim(normalized, claim, user_id, chat_id, language)]
    )
    return query_id
