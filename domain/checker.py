"""Checking a claim: match it against the index, then fetch what the sources said.

The checker keeps its `MatchIndex` (in memory, or in PostgreSQL: `domain.indexes`) in
step with storage: `load` fills it at start, and `refresh` re-reads only the incidents
the change log names after a write, whoever made it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from domain.answer import Answer, CandidateSummary, when
from domain.indexes import (
    SEMANTIC_QUEUE,
    IncidentStore,
    MatchIndex,
    MemoryIndex,
    Progress,
    SemanticState,
    StoredIndex,
    VectorStore,
    lexically_sure,
)
from domain.matching import (
    Embedder,
    MatchResult,
    MatchStatus,
    MatchThresholds,
    StoredMatcher,
    warm_up,
)
from domain.media.index import PictureIndex, PictureMatch
from domain.media.pictures import Picture, PictureError, open_picture
from domain.model import IncidentView, MediaRoute, SentMedia

log = logging.getLogger(__name__)

__all__ = [
    "SEMANTIC_QUEUE",
    "ClaimChecker",
    "IncidentStore",
    "SemanticState",
    "VectorStore",
    "lexically_sure",
]


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
        self.index: MatchIndex = (
            StoredIndex(stored)
            if stored is not None
            else MemoryIndex(
                thresholds or MatchThresholds(),
                embedder=embedder,
                vectors=vectors,
                match_cache_size=match_cache_size,
            )
        )
        self.pictures = PictureIndex()
        """Photos and videos recorded with incidents, by file and by fingerprint."""
        self._max_candidates = max_candidates
        # Recently answered incidents, so a popular one is not re-read for every check.
        # Invalidated by `refresh`, which every change reaches through the change log.
        self._views: OrderedDict[str, IncidentView] = OrderedDict()
        self._cache_size = cache_size
        self.generation = 0
        """Counts changes of the index: what a cache of answers is valid for."""

    async def load(self) -> int:
        """Make every stored incident matchable; returns how many there are."""
        warm_up()
        count = await self.index.load(self._store)
        await self._load_pictures()
        self._views.clear()
        self.generation += 1
        return count

    async def reindex(self) -> int:
        """Rebuild the index from every stored incident (streamed, not held in memory)."""
        count = await self.index.rebuild(self._store)
        await self._load_pictures()
        self._views.clear()
        self.generation += 1
        return count

    async def refresh(self, keys: Iterable[str]) -> None:
        """Make changes to these incidents visible to the next check."""
        wanted = list(keys)
        for key in wanted:
            self._views.pop(key, None)
        found = await self._store.get_incidents(wanted)
        await self.index.put([found[key] for key in wanted if key in found])
        await self.index.remove([key for key in wanted if key not in found])
        for key in wanted:
            self.pictures.put(key, found[key].media if key in found else ())
        self.generation += 1

    async def _load_pictures(self) -> None:
        self.pictures.clear()
        async for key, media in self._store.iter_media():
            self.pictures.put(key, media)

    async def size(self) -> int:
        """How many incidents the index holds."""
        return await self.index.size()

    async def incident_key(self, short: str) -> str | None:
        """The incident behind a short key carried by a button."""
        return await self.index.key_for_short(short)

    # --- the semantic stage ---------------------------------------------------------------

    @property
    def semantic(self) -> SemanticState:
        return self.index.semantic

    @property
    def semantic_on(self) -> bool:
        """Whether this checker has a semantic stage at all (on or warming up)."""
        return self.index.semantic is not SemanticState.OFF

    @property
    def unembedded(self) -> int:
        return self.index.unembedded

    @property
    def semantic_calls(self) -> int:
        return self.index.semantic_calls

    @property
    def semantic_skipped(self) -> int:
        return self.index.semantic_skipped

    async def embed_missing(self, progress: Progress | None = None) -> int:
        return await self.index.embed_missing(progress)

    def embed_in_background(self) -> None:
        self.index.embed_in_background()

    async def stop(self) -> None:
        await self.index.stop()

    # --- answers ----------------------------------------------------------------------------

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
        return await self.index.match(claim, limit=max(self._max_candidates, 5), sent_on=sent_on)

    async def check(self, claim: str, *, sent_on: dt.date | None = None) -> Answer:
        return await self.answer(claim, await self.match(claim, sent_on=sent_on))

    async def known_post(
        self, channel: str | None, message_id: int | None, *, claim: str = ""
    ) -> Answer | None:
        """The answer about the incident a moderator recorded this channel post with."""
        if not channel or not message_id:
            return None
        key = await self._store.incident_for_post(channel, message_id)
        return await self.answer_for(key, claim=claim) if key is not None else None

    async def check_media(
        self,
        sent: SentMedia,
        *,
        read_text: Callable[[bytes], str] | None = None,
        budget: float = 10.0,
        sent_on: dt.date | None = None,
    ) -> Answer:
        """A photo, video or screenshot: the very file, else a near copy of a recorded
        picture, else the text in it (`read_text`, e.g. OCR) with its caption.

        Decoding, fingerprints and reading run in a worker thread, each within `budget`
        seconds; a picture that cannot be read or takes too long falls back to what is
        left (the caption at the end)."""
        files = self.pictures.by_file(sent.file_ids)
        if files:
            return await self._answer_media(files, sent.caption)
        decoded = await _in_time(_decode_all, sent.pictures, budget=budget, what="decoding")
        if decoded:
            # Taken here, on the event loop: the index may change while the thread works.
            search = self.pictures.snapshot()
            near = await _in_time(search.find, decoded, budget=budget, what="looking for a copy")
            if near is not None:
                return await self._answer_media([near], sent.caption)
        text = ""
        if read_text is not None and sent.pictures:
            read = await _in_time(read_text, sent.pictures[0], budget=budget, what="reading")
            text = read or ""
        claim = " ".join(part for part in (sent.caption, text) if part)
        answer = await self.check(claim, sent_on=sent_on)
        if text and answer.status is not MatchStatus.NONE:
            return dataclasses.replace(answer, route=MediaRoute.TEXT)
        return answer

    async def _answer_media(self, found: list[PictureMatch], caption: str) -> Answer:
        if len(found) > 1:
            incidents = await self.incidents(m.incident_key for m in found)
            candidates = tuple(
                CandidateSummary(
                    m.incident_key,
                    incident.title,
                    incident.place,
                    1.0,
                    when(incident),
                    incident.translations,
                )
                for m in found[: self._max_candidates]
                if (incident := incidents.get(m.incident_key)) is not None
            )
            return Answer(MatchStatus.AMBIGUOUS, caption, candidates=candidates)
        match = found[0]
        answer = await self.answer_for(match.incident_key, claim=caption)
        if answer is None:
            return Answer(MatchStatus.NONE, caption)
        return dataclasses.replace(answer, route=match.route, media=match.media)

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
                    c.incident_key,
                    incident.title,
                    incident.place,
                    c.score,
                    when(incident),
                    incident.translations,
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


Given = TypeVar("Given")
Result = TypeVar("Result")


async def _in_time(
    work: Callable[[Given], Result], given: Given, *, budget: float, what: str
) -> Result | None:
    """`work(given)` in a worker thread; None when it fails or takes longer than `budget`
    seconds (the thread is left to finish; its result is dropped)."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(work, given), budget)
    except TimeoutError:
        log.info("%s took longer than %.0f s: left out", what, budget)
    except (PictureError, ValueError, OSError, MemoryError):
        log.info("%s failed: left out", what, exc_info=True)
    return None


def _decode_all(pictures: Sequence[bytes]) -> list[Picture]:
    decoded = []
    for data in pictures:
        try:
            decoded.append(open_picture(data))
        except PictureError:
            continue
    return decoded
