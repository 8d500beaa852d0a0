"""Finding a recorded picture again: by Telegram's file id, else by its fingerprint.

`PictureIndex` holds, in memory, every fingerprint and file id recorded with an incident
(ten thousand pictures take about ten megabytes, as ±1 vectors ready for a matrix
product). A picture is searched in three steps:

1. *exact*: a file Telegram already knows (`file_unique_id`: the same file, forwarded
   anywhere) is the recorded one, whatever it shows;
2. *coarse*: the copy's windows on a coarse grid of crops (`COARSE_STEP`), as sent, with
   a caption bar cut off, and mirrored, against every fingerprint, in one matrix product;
   the closest `CANDIDATES` pictures go on;
3. *fine*: every window on the fine grid (`FINE_STEP`, which holds the coarse one)
   against those few: a crop that fell between two coarse guesses is found here.

A copy matches when its best distance is at most `MATCH_DISTANCE` of 256 bits. That bound
comes from the distributions `bench/media.py` measures — how far the right picture stays
after each kind of change, and how close the nearest of 10,000 unrelated pictures comes —
with room on both sides; never from single pictures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from domain.media.pictures import (
    HASH_BITS,
    HASH_SIDE,
    Picture,
    axis_guesses,
    axis_spans,
    grey_pixels,
    int_to_bits,
    low_frequencies,
    mirror_blocks,
    strip_bars,
    to_bits,
)
from domain.model import KnownMedia, MediaRoute

MATCH_DISTANCE: Final = 44
"""At most this many of 256 bits apart is the same picture (similarity ≥ 0.83)."""
FINE_STEP: Final = 0.025
COARSE_STEP: Final = 0.075
CANDIDATES: Final = 48

Signs = npt.NDArray[np.float32]
Bits = npt.NDArray[np.bool_]
Words = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class PictureMatch:
    incident_key: str
    media: KnownMedia
    route: MediaRoute
    distance: int
    """Bits apart (0 for the very file)."""


@dataclass(frozen=True)
class _Entry:
    incident_key: str
    media: KnownMedia


def _signs(bits: npt.NDArray[np.bool_]) -> Signs:
    """Bits as ±1, so that bits apart = (256 − a · b) / 2 for a whole matrix at once."""
    return np.where(bits, np.float32(1), np.float32(-1))


class PictureIndex:
    """Changed on the event loop (`put`, `remove`); searched, in a worker thread, through
    the immutable `Fingerprints` that `snapshot` hands out: a search never sees an index
    half changed."""

    def __init__(self) -> None:
        self._by_incident: dict[str, tuple[KnownMedia, ...]] = {}
        self._by_file: dict[str, list[_Entry]] = {}
        self._snapshot: Fingerprints | None = None

    def __len__(self) -> int:
        """How many fingerprints are held."""
        return len(self.snapshot())

    def put(self, incident_key: str, media: Sequence[KnownMedia]) -> None:
        """Hold an incident's media, in place of what was held for it."""
        self.remove([incident_key])
        if not media:
            return
        self._by_incident[incident_key] = tuple(media)
        for item in media:
            for file_id in item.file_ids:
                self._by_file.setdefault(file_id, []).append(_Entry(incident_key, item))
        self._snapshot = None

    def remove(self, incident_keys: Iterable[str]) -> None:
        for key in incident_keys:
            gone = self._by_incident.pop(key, None)
            if gone is None:
                continue
            for item in gone:
                for file_id in item.file_ids:
                    kept = [e for e in self._by_file.get(file_id, ()) if e.incident_key != key]
                    if kept:
                        self._by_file[file_id] = kept
                    else:
                        self._by_file.pop(file_id, None)
            self._snapshot = None

    def clear(self) -> None:
        self._by_incident.clear()
        self._by_file.clear()
        self._snapshot = None

    def snapshot(self) -> Fingerprints:
        """Every fingerprint as it stands, built again only after a change."""
        if self._snapshot is None:
            owners: list[_Entry] = []
            rows: list[npt.NDArray[np.bool_]] = []
            for key, media in self._by_incident.items():
                for item in media:
                    for value in item.fingerprints:
                        owners.append(_Entry(key, item))
                        rows.append(int_to_bits(value))
            bits = np.stack(rows) if rows else np.zeros((0, HASH_BITS), dtype=bool)
            self._snapshot = Fingerprints(_signs(bits), _words(bits).T.copy(), tuple(owners))
        return self._snapshot

    def by_file(self, file_ids: Iterable[str]) -> list[PictureMatch]:
        """The recorded media that are one of these very files: one per incident (a file
        recorded with two incidents answers "which one?")."""
        found: dict[str, PictureMatch] = {}
        for file_id in file_ids:
            for entry in self._by_file.get(file_id, ()):
                found.setdefault(
                    entry.incident_key,
                    PictureMatch(entry.incident_key, entry.media, MediaRoute.FILE, 0),
                )
        return list(found.values())

    def find(self, pictures: Sequence[Picture]) -> PictureMatch | None:
        return self.snapshot().find(pictures)

    def nearest(self, pictures: Sequence[Picture]) -> PictureMatch | None:
        return self.snapshot().nearest(pictures)


@dataclass(frozen=True)
class Fingerprints:
    """Every recorded fingerprint at one moment, and whose each one is: as ±1 rows (for
    the fine stage's matrix product) and as four 64-bit words a column (for the coarse
    stage's bit counts)."""

    stored: Signs
    words: Words
    owners: tuple[_Entry, ...]

    def __len__(self) -> int:
        return len(self.owners)

    def find(self, pictures: Sequence[Picture]) -> PictureMatch | None:
        """The recorded picture one of `pictures` (a photo; a video's thumbnail and cover)
        is a copy of, when one is close enough."""
        best = self.nearest(pictures)
        if best is None or best.distance > MATCH_DISTANCE:
            return None
        return best

    def nearest(self, pictures: Sequence[Picture]) -> PictureMatch | None:
        """The closest recorded picture, however far (what `find` decides on, and what the
        benchmark measures)."""
        if not self.owners:
            return None
        fine, coarse = _query_windows(pictures)
        if not len(fine):
            return None
        # Coarse: a few dozen windows against everything, counting differing bits.
        near = _bits_apart(_words(coarse), self.words).min(axis=0)
        wanted = min(CANDIDATES, len(near))
        candidates = np.argpartition(near, wanted - 1)[:wanted]
        # Fine: every window against the few (the coarse ones too: mirrored windows are
        # only among those).
        chosen = self.stored[candidates].T
        agreement = np.maximum(
            (_signs(fine) @ chosen).max(axis=0), (_signs(coarse) @ chosen).max(axis=0)
        )
        best = int(agreement.argmax())
        distance = round((HASH_BITS - float(agreement[best])) / 2)
        entry = self.owners[int(candidates[best])]
        return PictureMatch(entry.incident_key, entry.media, MediaRoute.NEAR_COPY, distance)


def _query_windows(pictures: Sequence[Picture]) -> tuple[Bits, Bits]:
    """The ±1 fingerprints of every guessed window of each picture — as sent and without a
    caption bar — on the fine grid; and those on the coarse grid, mirrored ones too (a
    mirrored copy is looked for uncropped only)."""
    guesses = axis_guesses(FINE_STEP)
    on_coarse = np.array([_on_grid(guess, COARSE_STEP) for guess in guesses])
    coarse_cells = (on_coarse[:, None] & on_coarse[None, :]).reshape(-1)
    fine_rows: list[Bits] = []
    coarse_rows: list[Bits] = []
    for picture in pictures:
        views = [picture.grey]
        stripped = strip_bars(picture.grey)
        if stripped is not None:
            views.append(stripped)
        for view in views:
            grey = grey_pixels(view)
            height, width = grey.shape
            blocks = low_frequencies(grey, axis_spans(width, guesses), axis_spans(height, guesses))
            bits, sharp = to_bits(blocks)
            fine_rows.append(bits[sharp])
            coarse_rows.append(bits[sharp & coarse_cells])
            if view is picture.grey:
                coarse = blocks.reshape(-1, HASH_SIDE, HASH_SIDE)[coarse_cells]
                mirrored, mirrored_sharp = to_bits(mirror_blocks(coarse))
                coarse_rows.append(mirrored[mirrored_sharp])
    if not fine_rows:
        empty = np.zeros((0, HASH_BITS), dtype=bool)
        return empty, empty
    return np.concatenate(fine_rows), np.concatenate(coarse_rows)


def _words(bits: Bits) -> Words:
    """Rows of 256 bits as four 64-bit words each."""
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64).reshape(-1, 4)


def _bits_apart(queries: Words, stored_columns: Words) -> npt.NDArray[np.uint16]:
    """Differing bits of every query row against every stored column: (queries, stored)."""
    out = np.zeros((len(queries), stored_columns.shape[1]), dtype=np.uint16)
    for word in range(4):
        out += np.bitwise_count(queries[:, word, None] ^ stored_columns[word][None, :])
    return out


def _on_grid(guess: tuple[float, float], step: float) -> bool:
    return all(abs(value / step - round(value / step)) < 1e-6 for value in guess)
