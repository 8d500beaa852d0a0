"""Latency of ClaimMatcher on synthetic incidents, against plain rapidfuzz extraction.

    python bench/speed.py --incidents 100000 [--queries 500] [--baseline-queries 20]

Incidents are made from a seeded vocabulary of made-up words with Zipf-like frequencies
(so some words are everywhere and most are rare, as in real text), about five texts each.
Queries reuse part of one incident's wording, mixed with other words and the odd typo.
The baseline is what the matcher replaces: `rapidfuzz.process.extract` with
`token_set_ratio` over every stored text; at large N it is timed on a subset of the
queries. The last line is key=value pairs; `speedup` is the ratio of the baseline's p50
latency to ours.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from rapidfuzz import fuzz, process, utils

from domain.matching import ClaimMatcher
from domain.model import IncidentDocument, MatchText, NameGroup, TextKind

_CONSONANTS = "bcdfghjklmnprstvz"
_VOWELS = "aeiou"


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables)))
    return sorted(words)


class Corpus:
    """A Zipf-weighted word source; sampling is vectorised because N can be large."""

    def __init__(self, seed: int, size: int) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng, size)
        ranks = np.arange(1, size + 1, dtype=np.float64)
        weights = 1.0 / ranks**1.05
        self.rng.shuffle(self.words)
        self._p = weights / weights.sum()
        self._np = np.random.default_rng(seed)

    def phrase(self, n: int) -> str:
        picks = self._np.choice(len(self.words), size=n, p=self._p)
        return " ".join(self.words[i] for i in picks)

    def phrases(self, count: int, n: int) -> list[str]:
        picks = self._np.choice(len(self.words), size=(count, n), p=self._p)
        return [" ".join(self.words[i] for i in row) for row in picks]


def incidents(corpus: Corpus, count: int) -> list[IncidentDocument]:
    """About five texts each; places are names of their own, one in ten with a spelling
    variant declared as a name group, as a gazetteer would give."""
    titles = corpus.phrases(count, 7)
    summaries = corpus.phrases(count, 18)
    points = corpus.phrases(count, 10)
    keywords = corpus.phrases(count, 2)
    names = vocabulary(random.Random(corpus.rng.random()), max(100, count // 20))
    docs = []
    for i in range(count):
        key = f"incident-{i}"
        place = corpus.rng.choice(names).title()
        groups = (NameGroup(place, (place + "h",)),) if i % 10 == 0 else ()
        docs.append(
            IncidentDocument(
                key,
                (
                    MatchText(TextKind.TITLE, titles[i]),
                    MatchText(TextKind.SUMMARY, summaries[i]),
                    MatchText(TextKind.PLACE, place),
                    MatchText(TextKind.KEYWORD, keywords[i]),
                    MatchText(TextKind.POINT, points[i], f"{key}-p1"),
                ),
                groups,
            )
        )
    return docs


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    return word[:i] + word[i + 1 :] if len(word) > 4 else word


def queries(corpus: Corpus, docs: Sequence[IncidentDocument], count: int) -> list[tuple[str, str]]:
    rng = random.Random(1)
    out = []
    for doc in rng.sample(list(docs), count):
        words = f"{doc.texts[0].text} {doc.texts[1].text}".split()
        kept = rng.sample(words, k=max(3, len(words) // 2))
        if rng.random() < 0.3:
            j = rng.randrange(len(kept))
            kept[j] = typo(kept[j], rng)
        kept += corpus.phrase(rng.randint(2, 8)).split()
        rng.shuffle(kept)
        out.append((" ".join(kept), doc.incident_key))
    return out


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--baseline-queries", type=int, default=None)
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    corpus = Corpus(args.seed, args.vocabulary)
    docs = incidents(corpus, args.incidents)
    asked = queries(corpus, docs, min(args.queries, len(docs)))

    matcher = ClaimMatcher()
    start = time.perf_counter()
    for doc in docs:
        matcher.upsert(doc)
    build_s = time.perf_counter() - start

    for text, _ in asked[:20]:  # warm the per-term arrays, as a running bot would be
        matcher.match(text)
    millis: list[float] = []
    hits = 0
    for text, key in asked:
        start = time.perf_counter()
        result = matcher.match(text)
        millis.append((time.perf_counter() - start) * 1000.0)
        hits += bool(result.best and result.best.incident_key == key)

    # One edit, then the next query: the cost of the lazily rebuilt arrays.
    matcher.upsert(docs[0])
    start = time.perf_counter()
    matcher.match(asked[0][0])
    after_edit_ms = (time.perf_counter() - start) * 1000.0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    texts = [t.text for doc in docs for t in doc.texts]
    owners = [doc.incident_key for doc in docs for _ in doc.texts]
    processed = [utils.default_process(t) for t in texts]
    n_base = args.baseline_queries or (len(asked) if len(texts) <= 60_000 else 20)
    base_millis: list[float] = []
    base_hits = 0
    for text, key in asked[:n_base]:
        start = time.perf_counter()
        found = process.extract(
            utils.default_process(text),
            processed,
            scorer=fuzz.token_set_ratio,
            limit=5,
            processor=None,
        )
        base_millis.append((time.perf_counter() - start) * 1000.0)
        base_hits += bool(found and owners[found[0][2]] == key)

    p50, p95 = statistics.median(millis), percentile(millis, 95)
    b50, b95 = statistics.median(base_millis), percentile(base_millis, 95)
    print(f"{args.incidents} incidents, {len(texts)} texts; index built in {build_s:.1f} s")
    print(
        f"ours:      p50 {p50:.2f} ms  p95 {p95:.2f} ms  top-1 {hits / len(asked):.3f}"
        f"  ({len(asked)} queries; first query after an edit {after_edit_ms:.1f} ms)"
    )
    print(
        f"rapidfuzz: p50 {b50:.1f} ms  p95 {b95:.1f} ms  top-1 {base_hits / n_base:.3f}"
        f"  ({n_base} queries)"
    )
    print(f"peak RSS {rss_mb:.0f} MB")
    print(
        f"incidents={args.incidents} build_s={build_s:.2f} p50_ms={p50:.3f} p95_ms={p95:.3f} "
        f"top1={hits / len(asked):.3f} after_edit_ms={after_edit_ms:.2f} "
        f"baseline_p50_ms={b50:.2f} baseline_p95_ms={b95:.2f} "
        f"baseline_top1={base_hits / n_base:.3f} "
        f"speedup={b50 / p50:.1f} speedup_basis=p50 peak_rss_mb={rss_mb:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
