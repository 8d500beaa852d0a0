"""Finding a recorded picture again after forwarding changed it.

    python bench/media.py [--stored 10000] [--queries 200] [--unrelated 1000] [--compare 200]

A collection of `--stored` distinct pictures (drawn by `tests/helpers/pictures.py`) is
fingerprinted into a `PictureIndex`. `--queries` of them are then sent back changed — by
every change in `VARIANTS`: JPEG quality 30/60/90, resized to ½ and ¼, 5/10/15 % cropped,
a caption bar, a watermark, crop + caption + recompression, mirrored — and `--unrelated`
pictures that are not in the collection are sent too.

Printed per change: recall (the right picture found within `MATCH_DISTANCE`), and the
right picture's distance (median, 95th percentile, largest); for unrelated pictures, how
close the nearest stored one came (the margin the threshold keeps) and the false match
rate (an unrelated picture taken for a stored one). Lookup time is the search of one
decoded picture against the whole collection (windows, hashing, both stages).

Baseline, in the same run, on `--compare` of the pictures: a whole-frame pHash (the
`imagehash` package, 64 bits, a match at ≤ 10 bits) and Meta's PDQ (the `pdqhash`
package, 256 bits, a match at ≤ 31 bits, its authors' threshold), each by brute force over
the same collection: what one hash of the whole frame recalls after each change.

The last line: `recall=` (lowest over the changes with a target, i.e. all but mirrored)
`false_match_rate=` `p95_ms=`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt
from PIL import Image

from domain.media.index import MATCH_DISTANCE, PictureIndex
from domain.media.pictures import Picture, fingerprint, open_picture
from domain.model import KnownMedia, MediaKind
from tests.helpers.pictures import VARIANTS, jpeg_bytes, picture

UNTARGETED = {"mirrored"}
UNRELATED_SEEDS = 10_000_000


def _percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share)) if values else float("nan")


def _collect(stored: int, queried: list[int]) -> PictureIndex:
    """Fingerprints of the whole collection: the queried pictures drawn at full size, the
    others small (the fingerprint is taken at 256 pixels either way)."""
    index = PictureIndex()
    full = set(queried)
    for seed in range(stored):
        image = picture(seed) if seed in full else picture(seed, 0.3)
        value = fingerprint(open_picture(jpeg_bytes(image)))
        if value is not None:
            index.put(f"P{seed}", [KnownMedia(MediaKind.PHOTO, fingerprints=(value,))])
    return index


def _timed(index: PictureIndex, sent: Picture) -> tuple[str | None, int, float]:
    start = time.perf_counter()
    found = index.nearest([sent])
    millis = (time.perf_counter() - start) * 1000
    if found is None:
        return None, 999, millis
    return found.incident_key, found.distance, millis


Hash = Callable[[Image.Image], npt.NDArray[np.bool_]]


def _whole_frame_baselines(
    seeds: list[int], stored: int, rng: random.Random
) -> dict[str, dict[str, float]]:
    """Recall of one whole-frame hash, brute force, per change: pHash 64 and PDQ 256."""
    try:
        import imagehash
        import pdqhash
    except ImportError:
        print("(baselines skipped: `pip install -e '.[dev]'` brings imagehash and pdqhash)")
        return {}

    def phash(image: Image.Image) -> npt.NDArray[np.bool_]:
        return np.asarray(imagehash.phash(image).hash, dtype=bool).reshape(-1)

    def pdq(image: Image.Image) -> npt.NDArray[np.bool_]:
        vector, _quality = pdqhash.compute(np.asarray(image.convert("RGB")))
        return np.asarray(vector, dtype=bool)

    hashes: dict[str, tuple[Hash, int]] = {"phash64": (phash, 10), "pdq256": (pdq, 31)}
    queried = set(seeds)
    results: dict[str, dict[str, float]] = {}
    for name, (hash_of, threshold) in hashes.items():
        collection = np.stack(
            [
                hash_of(picture(seed) if seed in queried else picture(seed, 0.3))
                for seed in range(stored)
            ]
        )
        results[name] = {}
        for change, variant in VARIANTS.items():
            hits = 0
            for seed in seeds:
                sent = Image.open(
                    __import__("io").BytesIO(jpeg_bytes(variant(picture(seed), rng)))
                ).convert("RGB")
                distances = (collection != hash_of(sent)).sum(axis=1)
                best = int(distances.argmin())
                hits += best == seed and distances[best] <= threshold
            results[name][change] = hits / len(seeds)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--unrelated", type=int, default=1000)
    parser.add_argument("--compare", type=int, default=200, help="0 skips the baselines")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    seeds = sorted(rng.sample(range(args.stored), min(args.queries, args.stored)))
    started = time.perf_counter()
    index = _collect(args.stored, seeds)
    print(
        f"collection: {len(index)} fingerprints of {args.stored} pictures "
        f"in {time.perf_counter() - started:.0f} s; match at ≤ {MATCH_DISTANCE} of 256 bits"
    )

    millis: list[float] = []
    recall: dict[str, float] = {}
    print(f"{'change':<18} {'recall':>7} {'p50':>5} {'p95':>5} {'max':>5}   (bits apart)")
    for change, variant in VARIANTS.items():
        distances: list[float] = []
        hits = 0
        for seed in seeds:
            sent = open_picture(jpeg_bytes(variant(picture(seed), rng)))
            key, distance, took = _timed(index, sent)
            millis.append(took)
            right = key == f"P{seed}"
            hits += right and distance <= MATCH_DISTANCE
            distances.append(distance if right else 999)
        recall[change] = hits / len(seeds)
        print(
            f"{change:<18} {recall[change]:>7.3f} {_percentile(distances, 50):>5.0f} "
            f"{_percentile(distances, 95):>5.0f} {max(distances):>5.0f}"
            + ("   (no target)" if change in UNTARGETED else "")
        )

    nearest: list[float] = []
    false_matches = 0
    for offset in range(args.unrelated):
        sent = open_picture(jpeg_bytes(picture(UNRELATED_SEEDS + offset)))
        _key, distance, took = _timed(index, sent)
        millis.append(took)
        nearest.append(distance)
        false_matches += distance <= MATCH_DISTANCE
    false_match_rate = false_matches / max(1, args.unrelated)
    print(
        f"unrelated: {args.unrelated} pictures; nearest stored one min {min(nearest):.0f}, "
        f"1st percentile {_percentile(nearest, 1):.0f}, median {statistics.median(nearest):.0f} "
        f"bits apart; false matches {false_matches}"
    )
    p50, p95 = _percentile(millis, 50), _percentile(millis, 95)
    print(f"lookup of one picture against {len(index)}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")

    if args.compare:
        compare = seeds[: args.compare]
        baselines = _whole_frame_baselines(compare, args.stored, random.Random(args.seed))
        if baselines:
            names = list(baselines)
            print(f"{'whole-frame baseline':<18} " + " ".join(f"{n:>8}" for n in names))
            for change in VARIANTS:
                print(f"{change:<18} " + " ".join(f"{baselines[n][change]:>8.3f}" for n in names))

    worst = min(value for change, value in recall.items() if change not in UNTARGETED)
    print(f"recall={worst:.3f} false_match_rate={false_match_rate:.4f} p95_ms={p95:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
