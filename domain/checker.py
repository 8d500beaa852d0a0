"""Checking a claim: match it against the index, then fetch what the sources said.

The checker keeps the matcher's index in step with storage. With the in-memory index it
loads every incident once; with an index kept in the database (`StoredMatcher`) nothing
is loaded but the name groups, the index is rebuilt only when it is missing incidents,
and every process sharing the database sees the same one. Either way, after an edit
`refresh` re-reads only the incidents that changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from enum import StrEnum
from typing import Final, Protocol

import numpy as np

from domain.answer import Answer, CandidateSummary, when
from domain.matching import (
    BACKGROUND,
    ClaimMatcher,
    Embedder,
    MatchResult,
    MatchStatus,
    MatchThresholds,
    StoredMatcher,
    passage_digest,
    passage_of,
    warm_up,
)
from domain.model import IncidentDocument, IncidentView, document_for, short_key

log = logging.getLogger(__name__)

# A lexical answer this sure, this far ahead, is not asked of the semantic stage: it would
# cost tens of milliseconds to confirm what words already settled.
SURE_SCORE: Final = 0.9
SURE_MARGIN: Final = 0.5
# The model embeds one message at a time (tens of milliseconds each): past this many
# waiting, a message is answered by words alone instead of queueing behind them.
SEMANTIC_QUEUE: Final = 4
# Vectors are computed this many incidents at a time (one model call, one write).
EMBED_BATCH: Final = 16


class IncidentStore(Protocol):
    async def get_incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]: ...

    def iter_incidents(self, *, batch_size: int = 500) -> AsyncIterator[IncidentView]: ...

    async def incident_for_post(self, channel: str, message_id: int) -> str | None: ...

    async def count_incidents(self) -> int: ...


class VectorStore(Protocol):
    """Where incidents' embeddings are kept between starts (`db.vectors`)."""

    async def vectors(self, model: str) -> dict[str, tuple[str, bytes]]: ...

    async def vectors_of(self, model: str, keys: Iterable[str]) -> dict[str, tuple[str, bytes]]: ...

    async def save_vectors(self, model: str, rows: Sequence[tuple[str, str, bytes]]) -> None: ...


class SemanticState(StrEnum):
    """Whether the semantic stage takes part in matching, for `check --json` and /metrics."""

    ON = "on"
    WARMING = "warming"
    """On, but some incidents' vectors are still being computed."""
    OFF = "off"


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
        embedder: Embedder | None = None,
        vectors: VectorStore | None = None,
    ) -> None:
        self._store = store
        self.matcher = ClaimMatcher(thresholds or MatchThresholds())
        self.stored = stored
        # The semantic stage needs somewhere to keep vectors, and the in-memory index.
        self.embedder = embedder if vectors is not None and stored is None else None
        self._vectors = vectors
        self._unembedded: dict[str, str] = {}
        """Incidents whose vector is still to be computed: key -> passage."""
        self._embedding: asyncio.Task[None] | None = None
        self.semantic_calls = 0
        """Matches that asked the semantic stage (the cascade's cost, for /metrics)."""
        self.semantic_skipped = 0
        """Matches answered by words alone because too many waited for the model."""
        self._semantic_waiting = 0
        self._passages: dict[str, str] = {}
        self._max_candidates = max_candidates
        self._short_keys: dict[str, str] = {}
        # Recently answered incidents, so a popular one is not re-read for every check.
        # Invalidated by `refresh`, which every write path (and the change log) goes through.
        self._views: OrderedDict[str, IncidentView] = OrderedDict()
        self._cache_size = cache_size
        # Matching costs milliseconds, and the same wording (a viral claim, a forwarded
        # post) is asked again and again: results are kept until the index changes.
        self._matches: OrderedDict[tuple[str, dt.date | None], MatchResult] = OrderedDict()
        self._matches_generation = 0
        self._match_cache_size = match_cache_size
        self.generation = 0

    async def load(self) -> int:
        """Make every stored incident matchable; returns how many there are."""
        warm_up()
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
        await self._load_vectors()
        self.generation += 1
        return count

    # --- the semantic stage's vectors -----------------------------------------------------

    @property
    def semantic(self) -> SemanticState:
        if self.embedder is None:
            return SemanticState.OFF
        return SemanticState.WARMING if self._unembedded else SemanticState.ON

    async def _load_vectors(self) -> None:
        """Take every stored vector that still fits its incident; note the others."""
        if self.embedder is None or self._vectors is None:
            return
        background = await asyncio.to_thread(self.embedder.passages, BACKGROUND)
        self.matcher.set_background(background)
        stored = await self._vectors.vectors(self.embedder.model_id)
        for key, passage in self._passages.items():
            found = stored.get(key)
            if found is not None and found[0] == passage_digest(passage):
                self.matcher.set_vector(key, np.frombuffer(found[1], dtype=np.float32))
                self._unembedded.pop(key, None)
            else:
                self._unembedded[key] = passage

    @property
    def unembedded(self) -> int:
        """How many incidents still wait for their vector."""
        return len(self._unembedded)

    async def embed_missing(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Compute and store the vectors still missing; returns how many were computed.

        Runs off the event loop, a batch at a time, so that checks go on meanwhile (they
        fall back to words alone for a shortlist with an incident still unembedded).
        """
        if self.embedder is None or self._vectors is None:
            return 0
        done = 0
        total = len(self._unembedded)
        while self._unembedded:
            batch = list(self._unembedded.items())[:EMBED_BATCH]
            passages = [passage for _, passage in batch]
            found = await asyncio.to_thread(self.embedder.passages, passages)
            rows = []
            for (key, passage), vector in zip(batch, found, strict=True):
                if self._unembedded.get(key) != passage:
                    continue  # edited meanwhile: the new passage waits its turn
                del self._unembedded[key]
                if key in self.matcher:
                    self.matcher.set_vector(key, vector)
                    rows.append((key, passage_digest(passage), vector.astype(np.float32).tobytes()))
            await self._vectors.save_vectors(self.embedder.model_id, rows)
            done += len(rows)
            if progress is not None:
                progress(done, total)
        return done

    def embed_in_background(self) -> None:
        """Start computing the missing vectors, unless that is under way."""
        if self._unembedded and (self._embedding is None or self._embedding.done()):
            self._embedding = asyncio.create_task(self._embed_logged())

    async def _embed_logged(self) -> None:
        pending = len(self._unembedded)
        try:
            done = await self.embed_missing()
            log.info("semantic stage: computed %d of %d incident vectors", done, pending)
        except Exception:
            log.warning("semantic stage: could not compute incident vectors", exc_info=True)

    async def stop(self) -> None:
        if self._embedding is not None and not self._embedding.done():
            self._embedding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._embedding

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
        doc = document_for(incident)
        self.matcher.upsert(doc)
        self._short_keys[short_key(incident.key)] = incident.key
        if self.embedder is not None:
            passage = passage_of(doc)
            if self._passages.get(incident.key) != passage or not self.matcher.has_vector(
                incident.key
            ):
                self._unembedded[incident.key] = passage
            self._passages[incident.key] = passage

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
                self._passages.pop(key, None)
                self._unembedded.pop(key, None)
        await self._refresh_vectors(wanted)
        self.generation += 1

    async def _refresh_vectors(self, keys: Sequence[str]) -> None:
        """Vectors for edited incidents: another replica may have stored them already;
        a few are computed at once (an edit is checked right after it is made), many (an
        import) in the background."""
        if self.embedder is None or self._vectors is None:
            return
        waiting = [key for key in keys if key in self._unembedded]
        if not waiting:
            return
        stored = await self._vectors.vectors_of(self.embedder.model_id, waiting)
        for key, (digest, vector) in stored.items():
            if digest == passage_digest(self._unembedded[key]):
                self.matcher.set_vector(key, np.frombuffer(vector, dtype=np.float32))
                del self._unembedded[key]
        if len(self._unembedded) <= 2 * EMBED_BATCH:
            await self.embed_missing()
        else:
            self.embed_in_background()

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

    async def match(self, claim: str, *, sent_on: dt.date | None = None) -> MatchResult:
        """The incidents a claim may be about; `sent_on` is the day the message was sent,
        which "yesterday" or "last Thursday" in it are relative to."""
        limit = max(self._max_candidates, 5)
        if self.stored is not None:
            return await self.stored.match(claim, limit=limit, sent_on=sent_on)
        # The same wording asked again (a forwarded rumour spreads) is answered from memory
        # until the next edit changes the index.
        if self._matches_generation != self.generation:
            self._matches.clear()
            self._matches_generation = self.generation
        cache_key = (claim, sent_on)
        found = self._matches.get(cache_key)
        if found is not None:
            self._matches.move_to_end(cache_key)
            return found
        found = self.matcher.match(claim, limit=limit, sent_on=sent_on)
        if self.embedder is not None and found.query and not lexically_sure(found):
            # The cascade: words did not settle it, so meaning is asked too, unless so
            # many messages already wait for the model that this one would wait long.
            if self._semantic_waiting >= SEMANTIC_QUEUE:
                self.semantic_skipped += 1
                return found  # not cached: asked again when the model is free
            self.semantic_calls += 1
            self._semantic_waiting += 1
            try:
                vector = await asyncio.to_thread(self.embedder.query, found.query)
            finally:
                self._semantic_waiting -= 1
            found = self.matcher.match(claim, limit=limit, sent_on=sent_on, vector=vector)
        self._matches[cache_key] = found
        while len(self._matches) > self._match_cache_size:
            self._matches.popitem(last=False)
        return found

    async def check(self, claim: str, *, sent_on: dt.date | None = None) -> Answer:
        return await self.answer(claim, await self.match(claim, sent_on=sent_on))

    async def check_forwarded(
        self,
        claim: str,
        channel: str | None,
        message_id: int | None,
        *,
        sent_on: dt.date | None = None,
    ) -> Answer:
        """A forwarded channel post recorded by a moderator matches exactly, whatever it says."""
        if channel and message_id:
            key = await self._store.incident_for_post(channel, message_id)
            if key is not None:
                answer = await self.answer_for(key, claim=claim)
                if answer is not None:
                    return answer
        return await self.check(claim, sent_on=sent_on)

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
                CandidateSummary(
                    c.incident_key, incident.title, incident.place, c.score, when(incident)
                )
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


def lexically_sure(result: MatchResult) -> bool:
    """Whether the lexical answer is settled enough to skip the semantic stage."""
    if result.status is not MatchStatus.CONFIDENT or not result.candidates:
        return False
    best = result.candidates[0].score
    runner_up = result.candidates[1].score if len(result.candidates) > 1 else 0.0
    return best >= SURE_SCORE and best - runner_up >= SURE_MARGIN
