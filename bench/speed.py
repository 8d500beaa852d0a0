"""Latency of ClaimMatcher on synthetic incidents, against plain rapidfuzz extraction.

    python bench/speed.py --incidents 100000 [--queries 500] [--baseline-queries 20]
    python bench/speed.py --backend postgres --texts 1000000 [--database-url URL]

Incidents are made from a seeded vocabulary of made-up words with Zipf-like frequencies
(so some words are everywhere and most are rare, as in real text), about five texts each.
Queries reuse part of one incident's wording, mixed with other words and the odd typo.
The baseline is what the matcher replaces: `rapidfuzz.process.extract` with
`token_set_ratio` over every stored text; at large N it is timed on a subset of the
queries. The last line is key=value pairs; `speedup` is the ratio of the baseline's p50
latency to ours.

`--backend postgres` times the index kept in PostgreSQL (MATCH_INDEX=postgres) instead:
the incidents are bulk-loaded (COPY) into a scratch schema that is dropped afterwards,
and the same queries are timed through it. In the same run it compares against the
in-memory matcher on the same incidents (top-1 agreement, latency ratio) unless
`--no-memory`, and against a naive SQL baseline, `ORDER BY similarity(text, query)` of
pg_trgm over every stored text, on `--baseline-queries` queries (default 5). Each
incident has five texts, so `--texts 1000000` is 200,000 incidents.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from rapidfuzz import fuzz, process, utils

from domain.matching import ClaimMatcher, MatchResult, Profile, StoredMatcher
from domain.model import IncidentDocument, MatchText, NameGroup, TextKind, short_key

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
    parser.add_argument(
        "--texts", type=int, default=None, help="size in texts instead (five per incident)"
    )
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--baseline-queries", type=int, default=None)
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", choices=["memory", "postgres"], default="memory")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL for --backend postgres (a scratch schema is made and dropped)",
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="postgres: skip the in-memory comparison"
    )
    parser.add_argument("--pool", type=int, default=100, help="postgres: first-cut pool size")
    parser.add_argument(
        "--posting-budget",
        default="5000",
        help="postgres: postings the first cut reads per query; a comma-separated list "
        "times each in turn (the last one goes on the key=value line)",
    )
    args = parser.parse_args(argv)
    if args.texts is not None:
        args.incidents = args.texts // 5
    if args.backend == "postgres":
        return asyncio.run(postgres_main(args))

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


def same_answer(ours: MatchResult, theirs: MatchResult) -> bool:
    """Same top-1, or an exact tie between the two tops (either is the same answer)."""
    if ours.best is None or theirs.best is None:
        return ours.best is theirs.best
    if ours.best.incident_key == theirs.best.incident_key:
        return True
    return abs(ours.best.score - theirs.best.score) < 1e-6


async def postgres_main(args: argparse.Namespace) -> int:
    from db.database import Database
    from db.engine import create_engine
    from db.match_index import PostgresMatchStore

    corpus = Corpus(args.seed, args.vocabulary)
    docs = incidents(corpus, args.incidents)
    asked = queries(corpus, docs, min(args.queries, len(docs)))
    n_texts = sum(len(doc.texts) for doc in docs)

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.database_url)
    async with admin.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(
        args.database_url, connect_args={"server_settings": {"search_path": schema}}
    )
    database = Database(args.database_url, engine=engine)
    try:
        await database.prepare(sample_data="no")
        store = PostgresMatchStore(engine)
        budgets = [int(b) for b in str(args.posting_budget).split(",")]
        matcher = StoredMatcher(store, pool=args.pool, posting_budget=budgets[-1])
        memory = None if args.no_memory else ClaimMatcher()

        start = time.perf_counter()
        profiles: list[Profile] = []
        for doc in docs:
            profiles.append(matcher.profile(doc))
        analyze_s = time.perf_counter() - start

        async def rows() -> AsyncIterator[tuple[str, str, Profile]]:
            for doc, found in zip(docs, profiles, strict=True):
                yield doc.incident_key, short_key(doc.incident_key), found

        start = time.perf_counter()
        await store.rebuild(rows(), batch_size=5000)
        await matcher.load()
        load_s = time.perf_counter() - start
        if memory is not None:
            for doc, found in zip(docs, profiles, strict=True):
                memory.put(doc.incident_key, found)
        profiles.clear()

        for text, _ in asked[:20]:  # warm the server's caches, as a running bot's would be
            await matcher.match(text)
        expected = [memory.match(text) if memory is not None else None for text, _ in asked]
        for budget in budgets:
            trial = StoredMatcher(store, pool=args.pool, posting_budget=budget)
            await trial.load()
            millis: list[float] = []
            hits = agree = 0
            for (text, key), theirs in zip(asked, expected, strict=True):
                start = time.perf_counter()
                result = await trial.match(text)
                millis.append((time.perf_counter() - start) * 1000.0)
                hits += bool(result.best and result.best.incident_key == key)
                agree += theirs is not None and same_answer(result, theirs)
            print(
                f"posting budget {budget}: p50 {statistics.median(millis):.2f} ms"
                f"  p95 {percentile(millis, 95):.2f} ms  top-1 {hits / len(asked):.3f}"
                f"  same answer as in memory {agree / len(asked):.3f}"
            )
        mem_millis: list[float] = []
        if memory is not None:
            for text, _ in asked:
                start = time.perf_counter()
                memory.match(text)
                mem_millis.append((time.perf_counter() - start) * 1000.0)

        # One edit, then the next query: the write's cost, and that it is seen at once.
        edited = IncidentDocument(docs[0].incident_key, docs[0].texts[1:], docs[0].name_groups)
        start = time.perf_counter()
        await matcher.upsert(edited)
        edit_ms = (time.perf_counter() - start) * 1000.0
        start = time.perf_counter()
        await matcher.match(asked[0][0])
        after_edit_ms = (time.perf_counter() - start) * 1000.0

        n_base = args.baseline_queries or (5 if n_texts <= 200_000 else 3)
        base_millis, base_hits = await _trgm_baseline(engine, docs, asked[:n_base])
        sizes = await _relation_sizes(engine)
    finally:
        await database.close()
        async with admin.begin() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.dispose()

    p50, p95 = statistics.median(millis), percentile(millis, 95)
    b50 = statistics.median(base_millis)
    print(
        f"{args.incidents} incidents, {n_texts} texts; analyzed in {analyze_s:.1f} s, "
        f"loaded into PostgreSQL in {load_s:.1f} s; index tables {sizes:.0f} MB"
    )
    print(
        f"postgres:  p50 {p50:.2f} ms  p95 {p95:.2f} ms  top-1 {hits / len(asked):.3f}"
        f"  ({len(asked)} queries; an edit {edit_ms:.1f} ms, the next query {after_edit_ms:.1f} ms)"
    )
    fields = (
        f"backend=postgres texts={n_texts} incidents={args.incidents} "
        f"analyze_s={analyze_s:.1f} load_s={load_s:.1f} index_mb={sizes:.0f} "
        f"posting_budget={budgets[-1]} pool={args.pool} "
        f"p50_ms={p50:.3f} p95_ms={p95:.3f} top1={hits / len(asked):.3f} "
        f"edit_ms={edit_ms:.2f} after_edit_ms={after_edit_ms:.2f} "
    )
    if mem_millis:
        m50, m95 = statistics.median(mem_millis), percentile(mem_millis, 95)
        print(
            f"in memory: p50 {m50:.2f} ms  p95 {m95:.2f} ms;"
            f" same answer as postgres {agree / len(asked):.3f}"
        )
        fields += (
            f"memory_p50_ms={m50:.3f} memory_p95_ms={m95:.3f} "
            f"agreement={agree / len(asked):.3f} p95_ratio_vs_memory={p95 / m95:.2f} "
        )
    print(
        f"pg_trgm similarity scan: p50 {b50:.0f} ms  top-1 {base_hits / len(base_millis):.3f}"
        f"  ({len(base_millis)} queries)"
    )
    fields += (
        f"trgm_p50_ms={b50:.1f} trgm_top1={base_hits / len(base_millis):.3f} "
        f"speedup_vs_trgm={b50 / p50:.1f} speedup_basis=p50"
    )
    print(fields)
    return 0


async def _trgm_baseline(
    engine: object, docs: Sequence[IncidentDocument], asked: Sequence[tuple[str, str]]
) -> tuple[list[float], int]:
    """Every text in one table, ranked by pg_trgm's similarity to the whole query."""
    from db.match_index import PostgresMatchStore

    store = PostgresMatchStore(engine)  # type: ignore[arg-type]
    async with store.raw() as pg:
        await pg.execute("CREATE TABLE bench_text (incident text NOT NULL, body text NOT NULL)")
        await pg.copy_records_to_table(
            "bench_text",
            records=((doc.incident_key, t.text) for doc in docs for t in doc.texts),
            columns=("incident", "body"),
        )
        home = await pg.fetchval(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
            " ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
        millis: list[float] = []
        hits = 0
        for text, key in asked:
            start = time.perf_counter()
            found = await pg.fetch(
                f'SELECT incident FROM bench_text ORDER BY "{home}".similarity(body, $1) DESC'
                " LIMIT 5",
                text,
            )
            millis.append((time.perf_counter() - start) * 1000.0)
            hits += bool(found and found[0][0] == key)
    return millis, hits


async def _relation_sizes(engine: object) -> float:
    from db.match_index import PostgresMatchStore

    store = PostgresMatchStore(engine)  # type: ignore[arg-type]
    async with store.raw() as pg:
        total = await pg.fetchval(
            "SELECT sum(pg_total_relation_size(c)) FROM unnest(ARRAY["
            "'match_doc', 'match_posting', 'match_term']::regclass[]) AS c"
        )
    return float(total or 0) / 1e6


if __name__ == "__main__":
    raise SystemExit(main())
