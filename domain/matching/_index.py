"""An in-memory inverted index with BM25 scoring that is updated document by document.

Term frequencies arrive already length-normalized and field-weighted (the caller knows
which text each occurrence came from), so adding or removing a document only touches
that document's own postings; nothing global has to be recomputed. Document frequencies,
and with them IDF, are always current because they are the posting-list sizes.

Each posting list is a pair of typed arrays (slots, frequencies): appending is O(1),
removal swaps the last entry into the hole, and a query reads them as numpy arrays with
a memory copy rather than a Python-level loop. Those numpy arrays (with the BM25
saturation already applied) are cached per term until the term's postings change.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from typing import TypeVar

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]

_EMPTY_IDS: IntArray = np.zeros(0, dtype=np.int32)
_EMPTY_TFS: FloatArray = np.zeros(0, dtype=np.float64)
# Below this length a linear scan in Python beats building a numpy view.
_SCAN_LIMIT = 64
# IDF is computed as if the index held at least this many documents, the others holding
# none of the terms. In a collection of one incident every term it has is in 100% of the
# documents and IDF would call it worthless; what IDF measures then is the size of the
# collection, not the words. A bot starts with a handful of incidents, so this matters.
MIN_DOCUMENTS = 1000


def bm25_idf(documents: int, df: int) -> float:
    """BM25 IDF in the non-negative form (Lucene's): rarer terms weigh more, none below 0."""
    n = max(documents, MIN_DOCUMENTS)
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


FloatLike = TypeVar("FloatLike", float, FloatArray)


def saturate(tf: FloatLike, k1: float) -> FloatLike:
    """BM25's term-frequency saturation, for one frequency or an array of them."""
    return tf * (k1 + 1.0) / (tf + k1)


class _Postings:
    __slots__ = ("slots", "tfs")

    def __init__(self) -> None:
        self.slots = array("i")
        self.tfs = array("d")

    def position(self, slot: int) -> int:
        if len(self.slots) <= _SCAN_LIMIT:
            return self.slots.index(slot)
        view = np.frombuffer(self.slots, dtype=np.int32)
        found = int(np.flatnonzero(view == slot)[0])
        del view  # the array cannot shrink while a view of it exists
        return found

    def discard(self, slot: int) -> None:
        i = self.position(slot)
        last_slot, last_tf = self.slots.pop(), self.tfs.pop()
        if i < len(self.slots):
            self.slots[i] = last_slot
            self.tfs[i] = last_tf


class InvertedIndex:
    """Documents are identified by string keys and stored in reusable integer slots."""

    def __init__(self, k1: float) -> None:
        self.k1 = k1
        self._slot_of: dict[str, int] = {}
        self._key_of: list[str | None] = []
        self._free: list[int] = []
        self._doc_terms: list[tuple[str, ...]] = []
        self._postings: dict[str, _Postings] = {}
        self._saturated: dict[str, tuple[IntArray, Float32Array]] = {}

    # --- documents ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, key: object) -> bool:
        return key in self._slot_of

    @property
    def capacity(self) -> int:
        """One past the highest slot ever used: the length a dense score array needs."""
        return len(self._key_of)

    def key(self, slot: int) -> str:
        key = self._key_of[slot]
        if key is None:
            raise KeyError(slot)
        return key

    def slot(self, key: str) -> int:
        return self._slot_of[key]

    def terms_of(self, slot: int) -> tuple[str, ...]:
        return self._doc_terms[slot]

    def put(self, key: str, tfs: Mapping[str, float]) -> list[str]:
        """Add a document that is not indexed; `tfs` maps each term to its normalized frequency.

        Returns the terms the index did not hold before.
        """
        if key in self._slot_of:
            raise KeyError(f"{key!r} is already indexed")
        if self._free:
            slot = self._free.pop()
            self._key_of[slot] = key
            self._doc_terms[slot] = tuple(tfs)
        else:
            slot = len(self._key_of)
            self._key_of.append(key)
            self._doc_terms.append(tuple(tfs))
        self._slot_of[key] = slot
        created: list[str] = []
        for term, tf in tfs.items():
            postings = self._postings.get(term)
            if postings is None:
                postings = self._postings[term] = _Postings()
                created.append(term)
            else:
                self._saturated.pop(term, None)
            postings.slots.append(slot)
            postings.tfs.append(tf)
        return created

    def remove(self, key: str) -> list[str]:
        """Drop a document if present; returns the terms no other document holds."""
        slot = self._slot_of.pop(key, None)
        if slot is None:
            return []
        gone: list[str] = []
        for term in self._doc_terms[slot]:
            postings = self._postings[term]
            postings.discard(slot)
            self._saturated.pop(term, None)
            if not postings.slots:
                del self._postings[term]
                gone.append(term)
        self._key_of[slot] = None
        self._doc_terms[slot] = ()
        self._free.append(slot)
        return gone

    # --- statistics ---------------------------------------------------------------------

    def df(self, term: str) -> int:
        postings = self._postings.get(term)
        return len(postings.slots) if postings is not None else 0

    def idf(self, df: int) -> float:
        return bm25_idf(len(self._slot_of), df)

    def raw(self, term: str) -> tuple[IntArray, FloatArray]:
        """Slots holding `term` and the term's normalized frequency in each (fresh copies)."""
        postings = self._postings.get(term)
        if postings is None:
            return _EMPTY_IDS, _EMPTY_TFS
        return (
            np.frombuffer(postings.slots, dtype=np.int32).copy(),
            np.frombuffer(postings.tfs, dtype=np.float64).copy(),
        )

    def saturate(self, tfs: FloatArray) -> Float32Array:
        """BM25's term-frequency saturation, tf * (k1 + 1) / (tf + k1), in single precision
        (scores need no more, and half the bytes is half the memory traffic per query)."""
        result: Float32Array = saturate(tfs, self.k1).astype(np.float32)
        return result

    def saturated(self, term: str) -> tuple[IntArray, Float32Array]:
        """Slots holding `term` and the saturated frequency there; cached until it changes."""
        cached = self._saturated.get(term)
        if cached is None:
            ids, tfs = self.raw(term)
            cached = (ids, self.saturate(tfs))
            if len(ids):
                self._saturated[term] = cached
        return cached
