"""The two kinds of match index behind one interface, `MatchIndex`.

- `MemoryIndex` holds every incident's document in this process (`ClaimMatcher`), loads
  them all at start, keeps a cache of recent matches, and runs the semantic stage where a
  model is given: vectors are kept in the database between starts and computed off the
  event loop for incidents that have none yet.
- `StoredIndex` keeps the index in PostgreSQL (`StoredMatcher`): nothing is loaded but the
  name groups, the index is rebuilt only when it is missing incidents, and every process
  sharing the database sees the same one. Words, places and dates count; meaning does not.

`ClaimChecker` talks to either through `MatchIndex` alone.
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
)
from domain.model import IncidentDocument, IncidentView, KnownMedia, document_for, short_key

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
Progress = Callable[[int, int], None]


class IncidentStore(Protocol):
    async def get_incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]: ...

    def iter_incidents(self, *, batch_size: int = 500) -> AsyncIterator[IncidentView]: ...

    async def incident_for_post(self, channel: str, message_id: int) -> str | None: ...

    def iter_media(self) -> AsyncIterator[tuple[str, tuple[KnownMedia, ...]]]:
        """Each live incident's recorded photos and videos."""
        ...

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


class MatchIndex(Protocol):
    """What the checker needs of an index: fill it, keep it current, ask it."""

    semantic_calls: int
    """Matches that asked the semantic stage (the cascade's cost, for /metrics)."""
    semantic_skipped: int
    """Matches answered by words alone because too many waited for the model."""

    async def load(self, store: IncidentStore) -> int:
        """Make every stored incident matchable; how many there are."""
        ...

    async def rebuild(self, store: IncidentStore) -> int:
        """Build the index again from every stored incident (streamed)."""
        ...

    async def put(self, incidents: Sequence[IncidentView]) -> None:
        """Add these incidents, or replace what the index had of them."""
        ...

    async def remove(self, keys: Sequence[str]) -> None: ...

    async def match(self, claim: str, *, limit: int, sent_on: dt.date | None) -> MatchResult: ...

    async def key_for_short(self, short: str) -> str | None:
        """The incident behind a short key carried by a button."""
        ...

    async def size(self) -> int: ...

    @property
    def semantic(self) -> SemanticState: ...

    @property
    def unembedded(self) -> int:
        """How many incidents still wait for their vector."""
        ...

    async def embed_missing(self, progress: Progress | None = None) -> int:
        """Compute and store the vectors still missing; how many were computed."""
        ...

    def embed_in_background(self) -> None: ...

    async def stop(self) -> None: ...


def lexically_sure(result: MatchResult) -> bool:
    """Whether the lexical answer is settled enough to skip the semantic stage."""
    if result.status is not MatchStatus.CONFIDENT or not result.candidates:
        return False
    best = result.candidates[0].score
    runner_up = result.candidates[1].score if len(result.candidates) > 1 else 0.0
    return best >= SURE_SCORE and best - runner_up >= SURE_MARGIN


class MemoryIndex:
    """Every incident's document in this process, with the optional semantic stage."""

    def __init__(
        self,
        thresholds: MatchThresholds,
        *,
        embedder: Embedder | None = None,
        vectors: VectorStore | None = None,
        match_cache_size: int = 4096,
    ) -> None:
        self.matcher = ClaimMatcher(thresholds)
        # The semantic stage needs somewhere to keep vectors.
        self.embedder = embedder if vectors is not None else None
        self._vectors = vectors
        self._short_keys: dict[str, str] = {}
        self._passages: dict[str, str] = {}
        self._unembedded: dict[str, str] = {}
        """Incidents whose vector is still to be computed: key -> passage."""
        self._embedding: asyncio.Task[None] | None = None
        self._semantic_waiting = 0
        self.semantic_calls = 0
        self.semantic_skipped = 0
        # Matching costs milliseconds, and the same wording (a viral claim, a forwarded
        # post) is asked again and again: results are kept until the index changes.
        self._matches: OrderedDict[tuple[str, dt.date | None, int], MatchResult] = OrderedDict()
        self._match_cache_size = match_cache_size

    async def load(self, store: IncidentStore) -> int:
        count = 0
        async for incident in store.iter_incidents():
            self._index(incident)
            count += 1
        await self._load_vectors()
        self._matches.clear()
        return count

    async def rebuild(self, store: IncidentStore) -> int:
        self.matcher = ClaimMatcher(self.matcher.thresholds)
        self._short_keys.clear()
        return await self.load(store)

    async def put(self, incidents: Sequence[IncidentView]) -> None:
        for incident in incidents:
            self._index(incident)
        await self._refresh_vectors([incident.key for incident in incidents])
        self._matches.clear()

    async def remove(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.matcher.remove(key)
            self._passages.pop(key, None)
            self._unembedded.pop(key, None)
        self._matches.clear()

    async def match(self, claim: str, *, limit: int, sent_on: dt.date | None) -> MatchResult:
        # The same wording asked again (a forwarded rumour spreads) is answered from memory
        # until the next change of the index.
        cache_key = (claim, sent_on, limit)
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

    async def key_for_short(self, short: str) -> str | None:
        return self._short_keys.get(short)

    async def size(self) -> int:
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

    # --- the semantic stage's vectors -----------------------------------------------------

    @property
    def semantic(self) -> SemanticState:
        if self.embedder is None:
            return SemanticState.OFF
        return SemanticState.WARMING if self._unembedded else SemanticState.ON

    @property
    def unembedded(self) -> int:
        return len(self._unembedded)

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

    async def embed_missing(self, progress: Progress | None = None) -> int:
        """Runs off the event loop, a batch at a time, so that checks go on meanwhile (they
        fall back to words alone for a shortlist with an incident still unembedded)."""
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
            self._matches.clear()
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

    async def stop(self) -> None:
        if self._embedding is not None and not self._embedding.done():
            self._embedding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._embedding


class StoredIndex:
    """The index in PostgreSQL, shared by every process on the database."""

    semantic = SemanticState.OFF
    unembedded = 0

    def __init__(self, stored: StoredMatcher) -> None:
        self.stored = stored
        self.semantic_calls = 0
        self.semantic_skipped = 0

    async def load(self, store: IncidentStore) -> int:
        count = await self.stored.load()
        wanted = await store.count_incidents()
        if count != wanted:
            log.info("match index holds %d of %d incidents: rebuilding it", count, wanted)
            count = await self.rebuild(store)
        return count

    async def rebuild(self, store: IncidentStore) -> int:
        async def documents() -> AsyncIterator[IncidentDocument]:
            async for incident in store.iter_incidents():
                yield document_for(incident)

        return await self.stored.rebuild(documents())

    async def put(self, incidents: Sequence[IncidentView]) -> None:
        for incident in incidents:
            await self.stored.upsert(document_for(incident))

    async def remove(self, keys: Sequence[str]) -> None:
        for key in keys:
            await self.stored.remove(key)

    async def match(self, claim: str, *, limit: int, sent_on: dt.date | None) -> MatchResult:
        return await self.stored.match(claim, limit=limit, sent_on=sent_on)

    async def key_for_short(self, short: str) -> str | None:
        return await self.stored.store.key_for_short(short)

    async def size(self) -> int:
        return await self.stored.store.count()

    async def embed_missing(self, progress: Progress | None = None) -> int:
        return 0

    def embed_in_background(self) -> None:
        return None

    async def stop(self) -> None:
        return None
