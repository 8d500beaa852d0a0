"""Fingerprints of pictures that survive what forwarding does to them.

A fingerprint is a 256-bit pHash (the sign of each low-frequency DCT coefficient against
their median, as the `imagehash` package defines it with `hash_size=16`) of the picture's
*central window*: the middle 70 % of its width and height. Why the window: recompression
and resizing barely move a pHash, but a crop of a few per cent shifts every coefficient
(a 10 % crop moved a whole-frame hash 14 of 64 bits in our measurements, as far as some
unrelated pictures are). The central window of the original, though, lies inside any copy
cropped by up to 15 % on each axis. A copy is therefore searched for it: `window_prints`
hashes the window wherever a crop could have put it (a grid of crop sizes and offsets),
and `refine` walks the best guesses closer (`domain.media.index`).

Before that, a caption bar added above or below the picture (a flat band with a line of
text) is cut off: see `strip_bars`.

Decoding is bounded: the header's size is checked before any pixel is read (a small file
can claim a huge picture), JPEGs are decoded at a reduced scale, and all work happens on a
grey copy at most `WORK_SIDE` pixels across.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

HASH_SIDE: Final = 16
"""Low frequencies kept per axis: a 16 × 16 block, 256 bits."""
HASH_BITS: Final = HASH_SIDE * HASH_SIDE
SAMPLE_SIDE: Final = HASH_SIDE * 4
"""The window is sampled at 64 × 64 before the transform (pHash's usual factor of 4)."""
WINDOW: Final = (0.15, 0.85)
"""The central window, as fractions of the width and height."""
MAX_CROP: Final = 0.15
"""Largest crop (per axis, both sides together) that keeps the window inside the copy."""
WORK_SIDE: Final = 256
MAX_PIXELS: Final = 50_000_000
"""Larger than any photo Telegram sends; a header claiming more is refused unread."""
MIN_CONTRAST: Final = 1.0
"""A window flatter than this (standard deviation of grey levels) has no fingerprint:
its hash would be noise, and noise matches noise."""

Span = tuple[float, float]
Floats = npt.NDArray[np.float32]
Grey = npt.NDArray[np.float32]


class PictureError(ValueError):
    """The bytes are not a picture this module will read."""


@dataclass(frozen=True)
class Picture:
    """A decoded picture, grey and at most `WORK_SIDE` across, with its original size."""

    grey: Image.Image
    width: int
    height: int


def decode_grey(
    data: bytes, side: int, *, max_pixels: int = MAX_PIXELS
) -> tuple[Image.Image, tuple[int, int]]:
    """The picture in grey, decoded at no less than `side` pixels across where the format
    can decode smaller (JPEG: 1/2, 1/4 or 1/8 scale, for a fraction of the work), upright
    by its EXIF orientation; and its size as stored. PictureError if the bytes are no
    picture, or claim more pixels than any real one has (checked on the header, before
    any pixel is read)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise PictureError(f"a picture of {width} × {height} is not read")
            image.draft("L", (side, side))
            return (ImageOps.exif_transpose(image) or image).convert("L"), (width, height)
    except PictureError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise PictureError("not a picture that can be read") from error
    except Image.DecompressionBombWarning as error:
        raise PictureError("a picture this large is not read") from error


def open_picture(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Picture:
    """Decode a photo, screenshot or video thumbnail for its fingerprint; PictureError if
    it is none (`decode_grey`)."""
    grey, (width, height) = decode_grey(data, WORK_SIDE * 2, max_pixels=max_pixels)
    if max(grey.size) > WORK_SIDE:
        scale = WORK_SIDE / max(grey.size)
        size = (max(8, round(grey.width * scale)), max(8, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return Picture(grey, width, height)


@cache
def _dct_rows() -> npt.NDArray[np.float64]:
    """The first HASH_SIDE rows of the DCT-II over SAMPLE_SIDE points (scale left out: the
    median comparison does not see it)."""
    k = np.arange(HASH_SIDE)[:, None]
    n = np.arange(SAMPLE_SIDE)[None, :]
    return np.cos(np.pi * k * (2 * n + 1) / (2 * SAMPLE_SIDE))


def _axis_transform(span: Span, pixels: int) -> npt.NDArray[np.float64]:
    """(HASH_SIDE, pixels): sample `span` of an axis into SAMPLE_SIDE cells by area (each
    cell the mean of the pixels it covers, fractions of a pixel counted), then take the
    low DCT frequencies of the samples — both in one matrix."""
    start, stop = span
    edges = start + (stop - start) * np.arange(SAMPLE_SIDE + 1) / SAMPLE_SIDE
    first = np.arange(pixels)[None, :]
    cover = np.minimum(edges[1:, None], first + 1) - np.maximum(edges[:-1, None], first)
    weights = np.clip(cover, 0, None) / (edges[1:] - edges[:-1])[:, None]
    result: npt.NDArray[np.float64] = _dct_rows() @ weights
    return result


def low_frequencies(grey: Floats, x_spans: Sequence[Span], y_spans: Sequence[Span]) -> Floats:
    """The 16 × 16 low DCT frequencies of every window `x_span × y_span` of a grey picture:
    shape (len(y_spans), len(x_spans), 16, 16).

    Sampling and transform are linear and act on each axis apart, so a window's block is
    Y · grey · Xᵀ with one small matrix per span: a thousand windows cost milliseconds,
    where resampling each window as a picture of its own costs a fifth of a second.
    """
    height, width = grey.shape
    across = _axis_transforms(tuple(x_spans), width)  # (x · 16, width)
    down = _axis_transforms(tuple(y_spans), height)  # (y · 16, height)
    # Two matrix products (not a thousand small ones): (y·16, x·16), then regrouped.
    blocks = (down @ grey) @ across.T
    ys, xs = len(y_spans), len(x_spans)
    grouped = blocks.reshape(ys, HASH_SIDE, xs, HASH_SIDE).transpose(0, 2, 1, 3)
    return np.asarray(grouped, dtype=np.float32)  # float32 already: no copy


@lru_cache(maxsize=64)
def _axis_transforms(spans: tuple[Span, ...], pixels: int) -> Floats:
    """Every span's transform stacked: the same guesses on a picture of the same size (a
    photo size Telegram makes) are built once. Single precision: a grey level has 8 bits."""
    return np.concatenate([_axis_transform(span, pixels) for span in spans]).astype(np.float32)


def mirror_blocks(blocks: Floats) -> Floats:
    """The blocks of the same windows mirrored left to right: odd horizontal frequencies
    change sign, nothing else moves."""
    signs = np.where(np.arange(HASH_SIDE) % 2 == 0, 1.0, -1.0).astype(np.float32)
    flipped: Floats = blocks * signs
    return flipped


def to_bits(blocks: Floats) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Fingerprint bits of low-frequency blocks (…, 16, 16), one row of 256 per window, and
    whether each window has contrast enough to count."""
    flat = blocks.reshape(-1, HASH_BITS)
    # Above the median = among the upper half: one partial sort finds the half's floor.
    half = HASH_BITS // 2
    bits = flat >= np.partition(flat, half, axis=1)[:, half : half + 1]
    # The first coefficient is the window's mean (times the sample count); the others are
    # how far it varies around it.
    contrast = np.sqrt((flat[:, 1:] ** 2).sum(axis=1)) / (SAMPLE_SIDE * SAMPLE_SIDE)
    return bits, contrast >= MIN_CONTRAST


def grey_pixels(grey: Image.Image) -> Floats:
    return np.asarray(grey, dtype=np.float32)


def axis_spans(length: int, guesses: Sequence[tuple[float, float]]) -> list[Span]:
    """Where the original's window lies along an axis of a copy `length` pixels long, for
    each guess (cut, offset): `cut` of the original's length removed in all, `offset` of
    it before the start. Clamped: a guess on the edge lands a rounding error outside."""
    low, high = WINDOW
    return [
        (
            max(0.0, (low - offset) / (1 - cut) * length),
            min(float(length), (high - offset) / (1 - cut) * length),
        )
        for cut, offset in guesses
    ]


@cache
def axis_guesses(step: float) -> tuple[tuple[float, float], ...]:
    """Every (cut, offset) of one axis on a grid of `step`, cuts up to MAX_CROP."""
    count = round(MAX_CROP / step)
    return tuple(
        (cut * step, offset * step) for cut in range(count + 1) for offset in range(cut + 1)
    )


def fingerprint(picture: Picture) -> int | None:
    """The fingerprint recorded for a picture, as one 256-bit number; None when its centre
    is too flat to tell it from another picture."""
    grey = grey_pixels(picture.grey)
    height, width = grey.shape
    blocks = low_frequencies(grey, axis_spans(width, [(0, 0)]), axis_spans(height, [(0, 0)]))
    bits, sharp = to_bits(blocks)
    if not sharp[0]:
        return None
    return bits_to_int(bits[0])


def bits_to_int(bits: npt.NDArray[np.bool_]) -> int:
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def int_to_bits(value: int) -> npt.NDArray[np.bool_]:
    raw = np.frombuffer(value.to_bytes(HASH_BITS // 8, "big"), dtype=np.uint8)
    return np.unpackbits(raw).astype(bool)


def to_hex(value: int) -> str:
    return f"{value:064x}"


def from_hex(text: str) -> int:
    if len(text) != HASH_BITS // 4 or not all(c in "0123456789abcdef" for c in text):
        raise ValueError(f"a fingerprint is {HASH_BITS // 4} lower-case hexadecimal digits")
    return int(text, 16)


# --- caption bars -------------------------------------------------------------------------


EDGE_FLAT: Final = 0.95
"""A bar starts at an edge row this uniform: most of it within `TOLERANCE` of one grey."""
BAR_TEXT: Final = 0.2
"""A row of the bar keeps at least this share of the bar's grey, even where a line of
text crosses it; a row of the picture beyond it seldom does."""
TOLERANCE: Final = 10
MIN_TEXT_ROWS: Final = 3
MIN_BAR: Final = 0.04
MAX_BAR: Final = 0.35


def strip_bars(grey: Image.Image) -> Image.Image | None:
    """The picture without a band of one colour along its top or bottom edge (a caption
    bar, its line of text included), or None when it has none. A band taller than MAX_BAR
    of the picture is taken for part of the picture itself."""
    pixels = np.asarray(grey, dtype=np.int16)
    height = pixels.shape[0]
    top = _bar_rows(pixels, MAX_BAR * height)
    bottom = _bar_rows(pixels[::-1], MAX_BAR * height)
    cut_top = top if top >= MIN_BAR * height else 0
    cut_bottom = bottom if bottom >= MIN_BAR * height else 0
    if not cut_top and not cut_bottom:
        return None
    return grey.crop((0, cut_top, grey.width, height - cut_bottom))


def _bar_rows(pixels: npt.NDArray[np.int16], most: float) -> int:
    """How many rows from the first form a caption bar: flat rows of one colour with a line
    of text between them (the text covers part of its rows, never nearly all), up to the
    last flat row before a row with little of the bar's colour. Flat rows with no text
    among them are a sky or a wall, not a caption, and are left alone."""
    edge = int(np.median(pixels[0]))
    share = (np.abs(pixels[: int(most) + 1] - edge) <= TOLERANCE).mean(axis=1)
    if share[0] < EDGE_FLAT:
        return 0
    broken = np.flatnonzero(share < BAR_TEXT)
    reach = int(broken[0]) if broken.size else len(share)
    flat = np.flatnonzero(share[:reach] >= EDGE_FLAT)
    end = int(flat[-1]) + 1
    text_rows = int((share[:end] < EDGE_FLAT).sum())
    return end if text_rows >= MIN_TEXT_ROWS else 0


def fingerprints_of(pictures: Sequence[bytes]) -> tuple[int, ...]:
    """The fingerprints of those of `pictures` that can be read and are not flat, each
    once (a video's thumbnail and cover may be the same picture)."""
    found: list[int] = []
    for data in pictures:
        try:
            value = fingerprint(open_picture(data))
        except PictureError:
            continue
        if value is not None and value not in found:
            found.append(value)
    return tuple(found)
