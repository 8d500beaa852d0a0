"""What the semantic stage costs: loading the model, a message, an incident's passage.

    python bench/semantic.py [--dataset FILE]

Embeds every query of a look-alike set (the messages people send: short claims, long
forwards, other scripts) and every incident's passage, on one thread as the bot runs it,
and reports the model's memory. The last line is machine-readable:
load_ms= query_p50_ms= query_p95_ms= passage_ms= rss_mb= (rss_mb: what loading the
model and embedding added to the process's peak resident memory).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.confusion import DEV_SET
from domain.dataset import load_document
from domain.matching import load_embedder, passage_of
from domain.model import document_for


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    args = parser.parse_args(argv)
    document = json.loads(args.dataset.read_text(encoding="utf-8"))
    queries = [str(q["text"]) for q in document.pop("queries", [])]
    document.pop("note", None)
    _, incidents = load_document(document)
    passages = [passage_of(document_for(incident)) for incident in incidents]

    before = peak_mb()
    started = time.perf_counter()
    embedder = load_embedder()
    if embedder is None:
        print("the semantic model cannot run here", file=sys.stderr)
        return 2
    load_ms = 1000 * (time.perf_counter() - started)
    embedder.query("warm up")

    millis = []
    for text in queries:
        started = time.perf_counter()
        embedder.query(text + " ")  # a space: never the cache
        millis.append(1000 * (time.perf_counter() - started))
    started = time.perf_counter()
    for passage in passages:
        embedder.passages([passage])
    passage_ms = 1000 * (time.perf_counter() - started) / max(len(passages), 1)
    rss = peak_mb() - before

    millis.sort()
    p50 = statistics.median(millis)
    p95 = millis[int(0.95 * (len(millis) - 1))]
    print(
        f"model {embedder.model_id}, {embedder.dimensions} dimensions, loaded in {load_ms:.0f} ms"
    )
    print(f"{len(queries)} messages: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {millis[-1]:.1f} ms")
    print(f"{len(passages)} incident passages: {passage_ms:.1f} ms each")
    print(f"peak resident memory added: {rss:.0f} MB")
    print(
        f"load_ms={load_ms:.0f} query_p50_ms={p50:.1f} query_p95_ms={p95:.1f} "
        f"passage_ms={passage_ms:.1f} rss_mb={rss:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
