"""Look-alike incidents and unrecorded events: what a user would see, per kind of message.

    python bench/confusion.py --dataset ../shared/bench/confusion-dev/incidents.json
    python bench/confusion.py --dataset FILE --no-sample --failures

The dataset file is in the project's dataset format plus a top-level `queries` list of
`{"text", "lang", "gold", "kind"}` (gold: an incident id, or null for a message about
something not recorded). It is imported into a fresh SQLite database (with the bundled
sample, unless --no-sample) through the real importer, and every query is asked through
the real checker, exactly as `factcheck-bot check` asks it. Scoring counts what a user
sees:

- a positive (gold set) is *right confident*, *right among the candidates* offered,
  *wrong confident* (the worst failure) or *none* (no answer, or candidates without it);
- a negative (gold null) is *confident* (the failure), *ambiguous* or *none*.

The last line is machine-readable: conf_right= amb_right= wrong_conf= pos_none= neg_conf=
hard_neg_conf= xl_conf_right= xl_n= (counts; xl = positives not written in English).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.database import Database
from db.datasets import import_dataset
from db.repository import Actor
from domain.checker import ClaimChecker
from domain.matching import MatchStatus, load_embedder

DEV_SET = (
    Path(__file__).resolve().parents[2] / "shared" / "bench" / "confusion-dev" / "incidents.json"
)
NEGATIVE_KINDS = ("hard-negative", "negative")


@dataclass(frozen=True)
class Outcome:
    kind: str
    lang: str
    text: str
    gold: str | None
    status: MatchStatus
    shown: tuple[str, ...]
    score: float

    @property
    def verdict(self) -> str:
        if self.gold is None:
            return {"confident": "confident", "ambiguous": "ambiguous"}.get(self.status, "none")
        if self.status is MatchStatus.CONFIDENT:
            return "right" if self.shown[0] == self.gold else "WRONG"
        if self.status is MatchStatus.AMBIGUOUS and self.gold in self.shown:
            return "among"
        return "none"

    @property
    def cross_language(self) -> bool:
        return self.gold is not None and self.lang != "en"


def split_file(path: Path) -> tuple[bytes, list[dict[str, Any]]]:
    """The dataset part of the file (as the importer takes it) and the queries."""
    document = json.loads(path.read_text(encoding="utf-8"))
    queries = document.pop("queries", [])
    document.pop("note", None)
    return json.dumps(document, ensure_ascii=False).encode("utf-8"), queries


async def ask_all(
    path: Path, *, sample: bool, semantic: bool = True
) -> tuple[list[Outcome], float, ClaimChecker]:
    data, queries = split_file(path)
    with tempfile.TemporaryDirectory() as scratch:
        database = Database(f"sqlite:///{scratch}/confusion.db")
        try:
            await database.prepare(sample_data="yes" if sample else "no")
            await import_dataset(
                database.repository, lambda: io.BytesIO(data), Actor.system(), label=path.name
            )
            embedder = load_embedder() if semantic else None
            checker = ClaimChecker(database.repository, embedder=embedder, vectors=database.vectors)
            await checker.load()
            await checker.embed_missing()
            outcomes = []
            started = time.perf_counter()
            for query in queries:
                answer = await checker.check(str(query["text"]))
                if answer.incident is not None:
                    shown: tuple[str, ...] = (answer.incident.key,)
                else:
                    shown = tuple(c.incident_key for c in answer.candidates)
                outcomes.append(
                    Outcome(
                        kind=str(query["kind"]),
                        lang=str(query.get("lang") or ""),
                        text=str(query["text"]),
                        gold=query.get("gold"),
                        status=answer.status,
                        shown=shown,
                        score=answer.score or max((c.score for c in answer.candidates), default=0),
                    )
                )
            elapsed = time.perf_counter() - started
        finally:
            await database.close()
    return outcomes, elapsed, checker


def table(outcomes: list[Outcome]) -> str:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        by_kind[outcome.kind][outcome.verdict] += 1
    lines = [
        f"{'kind':<16} {'n':>3}  {'right':>5} {'among':>5} {'WRONG':>5} {'none':>5}"
        f"  {'conf':>5} {'ambig':>5}"
    ]
    for kind in sorted(by_kind, key=lambda k: (k in NEGATIVE_KINDS, k)):
        counts = by_kind[kind]
        total = sum(counts.values())
        if kind in NEGATIVE_KINDS:
            lines.append(
                f"{kind:<16} {total:>3}  {'':>5} {'':>5} {'':>5} {counts['none']:>5}"
                f"  {counts['confident']:>5} {counts['ambiguous']:>5}"
            )
        else:
            lines.append(
                f"{kind:<16} {total:>3}  {counts['right']:>5} {counts['among']:>5}"
                f" {counts['WRONG']:>5} {counts['none']:>5}"
            )
    return "\n".join(lines)


def summary(outcomes: list[Outcome]) -> dict[str, int]:
    positives = [o for o in outcomes if o.gold is not None]
    negatives = [o for o in outcomes if o.gold is None]
    cross = [o for o in positives if o.cross_language]
    return {
        "conf_right": sum(o.verdict == "right" for o in positives),
        "amb_right": sum(o.verdict == "among" for o in positives),
        "wrong_conf": sum(o.verdict == "WRONG" for o in positives),
        "pos_none": sum(o.verdict == "none" for o in positives),
        "neg_conf": sum(o.verdict == "confident" for o in negatives),
        "hard_neg_conf": sum(
            o.verdict == "confident" and o.kind == "hard-negative" for o in negatives
        ),
        "xl_conf_right": sum(o.verdict == "right" for o in cross),
        "xl_n": len(cross),
        "pos_n": len(positives),
        "neg_n": len(negatives),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEV_SET, help="dataset file with queries")
    parser.add_argument("--no-sample", action="store_true", help="without the bundled sample")
    parser.add_argument("--failures", action="store_true", help="list every query not right")
    parser.add_argument("--lexical", action="store_true", help="without the semantic stage")
    args = parser.parse_args(argv)

    outcomes, elapsed, checker = asyncio.run(
        ask_all(args.dataset, sample=not args.no_sample, semantic=not args.lexical)
    )
    print(table(outcomes))
    if args.failures:
        print()
        for o in outcomes:
            if o.verdict not in ("right", "none" if o.gold is None else "right"):
                shown = list(o.shown)
                print(f"[{o.kind} {o.lang}] {o.verdict} {o.score:.2f} gold={o.gold} {shown=}")
                print(f"    {o.text[:160]!r}")
    figures = summary(outcomes)
    positives, negatives = figures["pos_n"], figures["neg_n"]
    print()
    print(
        f"positives {positives}: {figures['conf_right']} right confident, "
        f"{figures['amb_right']} right among candidates, {figures['wrong_conf']} wrong confident, "
        f"{figures['pos_none']} none"
    )
    print(
        f"negatives {negatives}: {figures['neg_conf']} confident "
        f"({figures['hard_neg_conf']} of them hard negatives)"
    )
    each = 1000 * elapsed / max(len(outcomes), 1)
    print(f"{len(outcomes)} queries in {elapsed:.2f} s ({each:.1f} ms each)")
    print(
        f"semantic stage: {checker.semantic.value}; asked for {checker.semantic_calls} "
        f"of {len(outcomes)} queries"
    )
    keys = (
        "conf_right",
        "amb_right",
        "wrong_conf",
        "pos_none",
        "neg_conf",
        "hard_neg_conf",
        "xl_conf_right",
        "xl_n",
    )
    print(" ".join(f"{key}={figures[key]}" for key in keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
