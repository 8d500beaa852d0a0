"""Retrieval quality of ClaimMatcher against a bm25s baseline on a claim-retrieval benchmark.

    python bench/quality.py --bench ct2022_2a_en --split dev [--typos]
    python bench/quality.py --claims CLAIMS.jsonl --queries QUERIES.jsonl
    python bench/quality.py --bench ct2021_2a_en --split dev --curves    # threshold curves

Every claim becomes one incident (title -> TITLE text, text -> SUMMARY text) indexed
through the real matcher. The data is read from ../shared/bench/claim-retrieval and never
copied. The last line is machine-readable key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from rapidfuzz import fuzz, process

from bench.vectors import BenchVectors
from domain.checker import lexically_sure
from domain.matching import BACKGROUND, ClaimMatcher, MatchStatus, passage_of
from domain.model import IncidentDocument, MatchText, TextKind
from domain.normalize import analyze, clean

DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "claim-retrieval"
DEPTH = 30


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    gold: frozenset[str]


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_claims(path: Path) -> dict[str, tuple[str, str]]:
    return {
        str(c["id"]): (str(c.get("title") or ""), str(c.get("text") or ""))
        for c in read_jsonl(path)
    }


def load_queries(path: Path) -> list[Query]:
    return [
        Query(str(q["id"]), str(q["text"]), frozenset(str(g) for g in q["gold"]))  # type: ignore[attr-defined]
        for q in read_jsonl(path)
    ]


def with_typos(path: Path, workdir: Path) -> Path:
    """The queries file perturbed by the benchmark's own typo script (run, not copied)."""
    out = workdir / f"typos-{path.name}"
    subprocess.run([sys.executable, str(DATA / "typo.py"), str(path), str(out)], check=True)
    return out


def document(claim_id: str, title: str, text: str) -> IncidentDocument:
    return IncidentDocument(
        claim_id,
        tuple(
            MatchText(kind, body)
            for kind, body in ((TextKind.TITLE, title), (TextKind.SUMMARY, text))
            if body.strip()
        ),
    )


def build_matcher(claims: dict[str, tuple[str, str]], **options: object) -> ClaimMatcher:
    matcher = ClaimMatcher(**options)  # type: ignore[arg-type]
    for claim_id, (title, text) in claims.items():
        matcher.upsert(document(claim_id, title, text))
    return matcher


# --- metrics ---------------------------------------------------------------------------


def average_precision(ranked: Sequence[str], gold: frozenset[str], k: int) -> float:
    """As the CheckThat! scorer computes it: precision at each hit, over all gold claims."""
    hits = 0
    total = 0.0
    for rank, claim_id in enumerate(ranked[:k], start=1):
        if claim_id in gold:
            hits += 1
            total += hits / rank
    return total / len(gold) if gold else 0.0


def metrics(rankings: Sequence[Sequence[str]], queries: Sequence[Query]) -> dict[str, float]:
    n = len(queries)
    mrr = 0.0
    for ranked, query in zip(rankings, queries, strict=True):
        rank = next((i for i, c in enumerate(ranked, start=1) if c in query.gold), None)
        mrr += 1.0 / rank if rank else 0.0
    return {
        "map1": sum(average_precision(r, q.gold, 1) for r, q in zip(rankings, queries, strict=True))
        / n,
        "map5": sum(average_precision(r, q.gold, 5) for r, q in zip(rankings, queries, strict=True))
        / n,
        "mrr": mrr / n,
        "recall5": sum(
            len(set(r[:5]) & q.gold) / len(q.gold) for r, q in zip(rankings, queries, strict=True)
        )
        / n,
    }


def timed(
    rank: Callable[[str], list[str]], queries: Sequence[Query]
) -> tuple[list[list[str]], list[float]]:
    rankings: list[list[str]] = []
    millis: list[float] = []
    for query in queries:
        start = time.perf_counter()
        rankings.append(rank(query.text))
        millis.append((time.perf_counter() - start) * 1000.0)
    return rankings, millis


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# --- the rankers -----------------------------------------------------------------------


def ours(matcher: ClaimMatcher, vectors: BenchVectors | None = None) -> Callable[[str], list[str]]:
    """Our ranking; with `vectors`, through the semantic stage as the bot's cascade runs it
    (asked when the lexical answer is not already sure)."""

    def rank(text: str) -> list[str]:
        found = matcher.match(text, limit=DEPTH)
        if vectors is not None and not lexically_sure(found):
            SEMANTIC_CALLS[0] += 1
            found = matcher.match(text, limit=DEPTH, vector=vectors.query(found.query))
        return [c.incident_key for c in found.candidates]

    return rank


SEMANTIC_CALLS = [0]
"""How many queries the cascade sent to the semantic stage."""


def with_vectors(matcher: ClaimMatcher, claims: dict[str, tuple[str, str]]) -> BenchVectors:
    vectors = BenchVectors()
    matcher.set_background(np.array(vectors.passages(list(BACKGROUND))))
    docs = [document(claim_id, title, text) for claim_id, (title, text) in claims.items()]
    for doc, vector in zip(docs, vectors.passages([passage_of(d) for d in docs]), strict=True):
        matcher.set_vector(doc.incident_key, vector)
    return vectors


def bm25_baseline(claims: dict[str, tuple[str, str]]) -> Callable[[str], list[str]]:
    """bm25s as in the reference table: title + text, English stopwords, no stemming."""
    import bm25s

    ids = list(claims)
    corpus = [f"{title} {text}" for title, text in claims.values()]
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False
    )
    k = min(DEPTH, len(ids))

    def rank(text: str) -> list[str]:
        tokens = bm25s.tokenize([text], stopwords="en", return_ids=False, show_progress=False)
        docs, scores = retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [ids[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    return rank


# --- calibration tooling ---------------------------------------------------------------


def fragment(text: str, rng: random.Random) -> str:
    """One or two consecutive content words of `text`: a topic, not a claim."""
    words = [w for w in analyze(text).words if len(w) > 2]
    if not words:
        return ""
    size = rng.randint(1, min(2, len(words)))
    start = rng.randrange(len(words) - size + 1)
    return " ".join(words[start : start + size])


class Twins:
    """Finds, for a gold claim, every claim that is the same claim published twice (same
    title, or text differing only in quoting and punctuation): an open-set trial must
    remove all of them, or a duplicate left behind counts as a wrong answer."""

    def __init__(self, claims: dict[str, tuple[str, str]]) -> None:
        self.claims = claims
        self.ids = list(claims)
        self.titles = [clean(title) for title, _ in claims.values()]
        self.texts = [clean(text) for _, text in claims.values()]

    def of(self, gold: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for g in gold:
            if g not in self.claims:
                continue
            i = self.ids.index(g)
            out.add(g)
            out.update(k for k, t in zip(self.ids, self.titles, strict=True) if t == self.titles[i])
            for _, _, index in process.extract(
                self.texts[i], self.texts, scorer=fuzz.ratio, score_cutoff=95, limit=None
            ):
                out.add(self.ids[index])
        return out


def trial(matcher: ClaimMatcher, text: str) -> tuple[float, float, str | None]:
    """Best score, its margin over the runner-up, and the best incident."""
    result = matcher.match(text, limit=2)
    scores = [c.score for c in result.candidates] + [0.0, 0.0]
    best = result.best.incident_key if result.best else None
    return scores[0], scores[0] - scores[1], best


def curves(
    matcher: ClaimMatcher, claims: dict[str, tuple[str, str]], queries: Sequence[Query]
) -> None:
    """The trade-offs the thresholds are chosen from, over three kinds of message:

    closed  -- the query as published; its gold claim is indexed;
    open    -- the same query after its gold claim (and any duplicate of it) is removed,
               so whatever comes back is wrong: a message about something not in the data;
    topic   -- one or two words of the query: a topic rather than a claim.
    """
    rng = random.Random(11)
    twins = Twins(claims)
    closed: list[tuple[float, float, bool]] = []
    opened: list[tuple[float, float]] = []
    topics: list[tuple[float, float]] = []
    for query in queries:
        score, margin, best = trial(matcher, query.text)
        closed.append((score, margin, best in query.gold))
        score, margin, _ = trial(matcher, fragment(query.text, rng))
        topics.append((score, margin))
        removed = twins.of(query.gold)
        for key in removed:
            matcher.remove(key)
        score, margin, _ = trial(matcher, query.text)
        opened.append((score, margin))
        for key in removed:
            matcher.upsert(document(key, *claims[key]))

    def share(rows: Sequence[tuple[float, float]], low: float, margin: float = -1.0) -> float:
        """The share of `rows` (score, margin) at or above `low` with at least `margin`."""
        return sum(1 for s, d in rows if s >= low and d >= margin) / len(rows) if rows else 0.0

    print("CONFIDENT when score >= c and score - runner-up >= m")
    print(f"{'c':>5} {'m':>5} {'answered':>9} {'precision':>9} {'open conf':>9} {'topic conf':>10}")
    for c in (0.3, 0.4, 0.5, 0.6, 0.7):
        for m in (0.0, 0.1, 0.2):
            answered = [right for s, d, right in closed if s >= c and d >= m]
            precision = sum(answered) / len(answered) if answered else 1.0
            print(
                f"{c:5.2f} {m:5.2f} {len(answered) / len(closed):9.3f} {precision:9.3f} "
                f"{share(opened, c, m):9.3f} {share(topics, c, m):10.3f}"
            )
    print("NONE when score < minimum")
    print(f"{'min':>5} {'closed':>7} {'right top-1 lost':>16} {'open':>6} {'topic':>6}")
    scored = [(s, d) for s, d, _ in closed]
    for low in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
        lost = sum(1 for s, _, right in closed if s < low and right) / len(closed)
        print(
            f"{low:5.2f} {1 - share(scored, low):7.3f} {lost:16.3f} "
            f"{1 - share(opened, low):6.3f} {1 - share(topics, low):6.3f}"
        )


# --- main ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bench", default="ct2022_2a_en")
    parser.add_argument("--split", default="dev", choices=("train", "dev"))
    parser.add_argument("--claims", type=Path)
    parser.add_argument("--queries", type=Path)
    parser.add_argument("--typos", action="store_true", help="perturb the queries with typo.py")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--curves", action="store_true", help="print threshold curves")
    parser.add_argument("--semantic", action="store_true", help="with the semantic stage")
    args = parser.parse_args(argv)

    claims_path = args.claims or DATA / args.bench / "claims.jsonl"
    queries_path = args.queries or DATA / args.bench / f"queries_{args.split}.jsonl"
    for path in (claims_path, queries_path):
        if not path.exists():
            print(f"missing {path}: the shared benchmark data is not available", file=sys.stderr)
            return 2

    with tempfile.TemporaryDirectory() as workdir:
        if args.typos:
            queries_path = with_typos(queries_path, Path(workdir))
        claims = load_claims(claims_path)
        queries = load_queries(queries_path)

    start = time.perf_counter()
    matcher = build_matcher(claims)
    build_s = time.perf_counter() - start
    print(f"{len(claims)} claims indexed in {build_s:.2f} s; {len(queries)} queries")
    if args.curves:
        curves(matcher, claims, queries)
        return 0

    vectors = with_vectors(matcher, claims) if args.semantic else None
    rankings, millis = timed(ours(matcher, vectors), queries)
    result = metrics(rankings, queries)
    result["semantic_calls"] = SEMANTIC_CALLS[0]
    result["median_ms"] = statistics.median(millis)
    result["p95_ms"] = percentile(millis, 95)
    confident = [matcher.match(q.text, limit=2) for q in queries]
    conf = [
        (r.best is not None and r.best.incident_key in q.gold)
        for r, q in zip(confident, queries, strict=True)
        if r.status is MatchStatus.CONFIDENT
    ]
    result["confident_share"] = len(conf) / len(queries)
    result["confident_precision"] = sum(conf) / len(conf) if conf else 1.0
    table = [("ours", result)]
    if not args.no_baseline:
        baseline_rankings, baseline_millis = timed(bm25_baseline(claims), queries)
        baseline = metrics(baseline_rankings, queries)
        baseline["median_ms"] = statistics.median(baseline_millis)
        baseline["p95_ms"] = percentile(baseline_millis, 95)
        table.append(("bm25s", baseline))

    print(
        f"{'ranker':8} {'MAP@1':>6} {'MAP@5':>6} {'MRR':>6} {'R@5':>6} {'med ms':>7} {'p95 ms':>7}"
    )
    for name, row in table:
        print(
            f"{name:8} {row['map1']:6.3f} {row['map5']:6.3f} {row['mrr']:6.3f} "
            f"{row['recall5']:6.3f} {row['median_ms']:7.2f} {row['p95_ms']:7.2f}"
        )
    pairs = dict(result)
    for _, row in table[1:]:
        pairs.update({f"bm25_{k}": v for k, v in row.items()})
    label = (
        f"bench={claims_path.parent.name} queries={queries_path.stem}"
        if args.claims or args.queries
        else f"bench={args.bench} split={args.split}"
    )
    print(label, f"typos={int(args.typos)}", " ".join(f"{k}={v:.4f}" for k, v in pairs.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
