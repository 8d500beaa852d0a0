"""Checking a claim: match it against the index, then fetch what the sources said.

The checker keeps the matcher's index in step with storage. With the in-memory index it
loads every incident once; with an index kept in the database (`StoredMatcher`) nothing
is loaded but the name groups, the index is rebuilt only when it is missing incidents,
and every process sharing the database sees the same one. Either way, after an edit
`refresh` re-reads only the incidents that changed.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Protocol

from domain.answer import Answer, CandidateSummary
from domain.matching import (
    ClaimMatcher,
    MatchResult,
    MatchStatus,
    MatchThresholds,
    StoredMatcher,
)
from domain.model import IncidentDocument, IncidentView, document_for, short_key

log = logging.getLogger(__name__)


class IncidentStore(Protocol):
    async def get_incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]: ...

    def iter_incidents(self, *, batch_size: int = 500) -> AsyncIterator[IncidentView]: ...

    async def incident_for_post(self, channel: str, message_id: int) -> str | None: ...

    async def count_incidents(self) -> int: ...


class ClaimChecker:
    def __init__(
        self,
        store: IncidentStore,
        thresholds: MatchThresholds | None = None,
        *,
        max_candidates: int = 3,
        cache_size: int = 2000,
        match_cache_size: int = 4096,
        stored: StoredMatcher | None = None,
    ) -> None:
        self._store = store
        self.matcher = ClaimMatcher(thresholds or MatchThresholds())
        self.stored = stored
        self._max_candidates = max_candidates
        self._short_keys: dict[str, str] = {}
        # Recently answered incidents, so a popular one is not re-read for every check.
        # Invalidated by `refresh`, which every write path (and the change log) goes through.
        self._views: OrderedDict[str, IncidentView] = OrderedDict()
        self._cache_size = cache_size
        # Matching costs milliseconds, and the same wording (a viral claim, a forwarded
        # post) is asked again and again: results are kept until the index changes.
        self._matches: OrderedDict[str, MatchResult] = OrderedDict()
        self._matches_generation = 0
        self._match_cache_size = match_cache_size
        self.generation = 0

    async def load(self) -> int:
        """Make every stored incident matchable; returns how many there are."""
        if self.stored is not None:
            count = await self.stored.load()
            stored = await self._store.count_incidents()
            if count != stored:
                log.info("match index holds %d of %d incidents: rebuilding it", count, stored)
                count = await self.reindex()
            self.generation += 1
            return count
        count = 0
        async for incident in self._store.iter_incidents():
            self._index(incident)
            count += 1
        self.generation += 1
        return count

    async def reindex(self) -> int:
        """Rebuild the index from every stored incident (streamed, not held in memory)."""
        if self.stored is None:
            self.matcher = ClaimMatcher(self.matcher.thresholds)
            self._short_keys.clear()
            return await self.load()

        async def documents() -> AsyncIterator[IncidentDocument]:
            async for incident in self._store.iter_incidents():
                yield document_for(incident)

        count = await self.stored.rebuild(documents())
        self._views.clear()
        self.generation += 1
        return count

    async def size(self) -> int:
        """How many incidents the index holds."""
        if self.stored is not None:
            return await self.stored.store.count()
        return len(self.matcher)

    def _index(self, incident: IncidentView) -> None:
        self.matcher.upsert(document_for(incident))
        self._short_keys[short_key(incident.key)] = incident.key

    async def incident_key(self, short: str) -> str | None:
        """The incident behind a short key carried by a button."""
        if self.stored is not None:
            return await self.stored.store.key_for_short(short)
        return self._short_keys.get(short)

    async def refresh(self, keys: Iterable[str]) -> None:
        """Make edits to these incidents visible to the next check."""
        wanted = list(keys)
        for key in wanted:
            self._views.pop(key, None)
        found = await self._store.get_incidents(wanted)
        for key in wanted:
            if key in found:
                if self.stored is not None:
                    await self.stored.upsert(document_for(found[key]))
                else:
                    self._index(found[key])
            elif self.stored is not None:
                await self.stored.remove(key)
            else:
                self.matcher.remove(key)
        self.generation += 1

    async def incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]:
        wanted = list(dict.fromkeys(keys))
        found = {key: self._views[key] for key in wanted if key in self._views}
        missing = [key for key in wanted if key not in found]
        if missing:
            fetched = await self._store.get_incidents(missing)
            found.update(fetched)
            self._views.update(fetched)
        for key in found:
            self._views.move_to_end(key)
        while len(self._views) > self._cache_size:
            self._views.popitem(last=False)
        return found

    async def match(self, claim: str) -> MatchResult:
        limit = max(self._max_candidates, 5)
        if self.stored is not None:
            return await self.stored.match(claim, limit=limit)
        # The same wording asked again (a forwarded rumour spreads) is answered from memory
        # until the next edit changes the index.
        if self._matches_generation != self.generation:
            self._matches.clear()
            self._matches_generation = self.generation
        found = self._matches.get(claim)
        if found is not None:
            self._matches.move_to_end(claim)
            return found
        found = self.matcher.match(claim, limit=limit)
        self._matches[claim] = found
        while len(self._matches) > self._match_cache_size:
            self._matches.popitem(last=False)
        return found

    async def check(self, claim: str) -> Answer:
        return await self.answer(claim, await self.match(claim))

    async def check_forwarded(
        self, claim: str, channel: str | None, message_id: int | None
    ) -> Answer:
        """A forwarded channel post recorded by a moderator matches exactly, whatever it says."""
        if channel and message_id:
            key = await self._store.incident_for_post(channel, message_id)
            if key is not None:
                answer = await self.answer_for(key, claim=claim)
                if answer is not None:
                    return answer
        return await self.check(claim)

    async def answer(self, claim: str, result: MatchResult) -> Answer:
        if result.status is MatchStatus.NONE or not result.candidates:
            return Answer(MatchStatus.NONE, claim, normalized=result.query)
        if result.status is MatchStatus.CONFIDENT:
            best = result.candidates[0]
            # The match already says which point (if any): no need to match again for it.
            answer = await self._answer_about(best.incident_key, best.point_key, claim, best.score)
            if answer is not None:
                return answer
            return Answer(MatchStatus.NONE, claim, normalized=result.query)
        shown = result.candidates[: self._max_candidates]
        incidents = await self.incidents(c.incident_key for c in shown)
        return Answer(
            MatchStatus.AMBIGUOUS,
            claim,
            candidates=tuple(
                CandidateSummary(c.incident_key, incident.title, incident.place, c.score)
                for c in shown
                if (incident := incidents.get(c.incident_key)) is not None
            ),
        )

    async def answer_for(
        self,
        incident_key: str,
        point_key: str | None = None,
        *,
        claim: str = "",
        score: float = 1.0,
    ) -> Answer | None:
        """The full answer about one incident, e.g. once the user picked it from a list;
        without a point, the point the claim matches best in that incident."""
        if point_key is None and claim:
            point_key = await self._point_for(claim, incident_key)
        return await self._answer_about(incident_key, point_key, claim, score)

    async def _answer_about(
        self, incident_key: str, point_key: str | None, claim: str, score: float
    ) -> Answer | None:
        incident = (await self.incidents([incident_key])).get(incident_key)
        if incident is None:
            return None
        point = incident.point(point_key) if point_key else None
        return Answer(MatchStatus.CONFIDENT, claim, incident, score, point)

    async def _point_for(self, claim: str, incident_key: str) -> str | None:
        for candidate in (await self.match(claim)).candidates:
            if candidate.incident_key == incident_key:
                return candidate.point_key
        return None
