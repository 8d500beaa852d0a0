"""Fit the matcher's stage-2 model, and see how it carries to messages it was not fitted on.

    python bench/fit.py                       # fit on everything, print the constants
    python bench/fit.py --folds 4             # and cross-validate on the look-alike set

Training rows come from two kinds of data, each message asked in several ways:

- the claim-retrieval train splits (ct2020_en, ct2021_2a_en; `bench/quality.py`): every
  query as published (its gold claims are the positives), with its gold claims removed
  (a message about something not held), and cut to a couple of words (a topic, not a
  claim);
- look-alike sets in the dataset format with queries (`bench/confusion.py`): every
  positive as asked, and again with its incident removed, which makes it a message
  about an unrecorded event sharing place, kind and figures with the look-alikes left
  (the hard negatives the first kind lacks); every negative as asked.

The look-alike rows are weighted to count as much in total as the claim-retrieval rows.
Features that say "this is another event" (another place, another date, names the
record lacks) are fitted with weights held non-positive, the others non-negative, so
that no feature's sense can flip on a quirk of the data.

--folds K splits the look-alike set's incidents (in file order, so that a fold is a
cluster of look-alikes) into K parts; each part's messages are scored by a model fitted
without them, and the outcome counts of `bench/confusion.py` are printed for those
held-out scores. The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.confusion import DEV_SET
from bench.quality import DATA, build_matcher, document, fragment, load_claims, load_queries
from bench.vectors import BenchVectors
from domain.dataset import SAMPLE_PATH, load_document
from domain.matching import BACKGROUND, ClaimMatcher, MatchThresholds
from domain.matching._scoring import FEATURES, SEMANTIC_FEATURES
from domain.matching._semantic import passage_of
from domain.model import IncidentDocument, document_for

# Features whose weight may take either sign: they say how to read the others.
FREE = frozenset({"foreign_script"})
# Features whose weight must not be positive: evidence of another event.
AGAINST = frozenset(
    {"place_elsewhere", "place_nearby", "date_misses", "names_missing", "words_missing"}
)


@dataclass
class Rows:
    features: list[tuple[float, ...]]
    labels: list[float]
    weights: list[float]
    group: list[int]
    """Which query (within a look-alike set) a row came from; -1 for other rows."""


def fit_logistic(
    rows: np.ndarray, labels: np.ndarray, weights: np.ndarray, signs: np.ndarray, l2: float = 1e-2
) -> np.ndarray:
    """Weighted logistic regression by Newton's method with each weight's sign held
    (`signs`: +1 non-negative, -1 non-positive); a weight that comes out with the wrong
    sign is fixed at zero and the rest refit. Returns [bias, *weights]."""
    free = signs == 0
    signs = np.where(free, 1.0, signs)
    oriented = rows * signs
    active = np.ones(rows.shape[1], dtype=bool)
    while True:
        x = np.hstack([np.ones((len(rows), 1)), oriented[:, active]])
        w = np.zeros(x.shape[1])
        for _ in range(200):
            p = 1.0 / (1.0 + np.exp(-(x @ w)))
            grad = x.T @ (weights * (p - labels)) + l2 * w
            hess = (x * (weights * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(w))
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-9:
                break
        fitted = np.zeros(rows.shape[1])
        fitted[active] = w[1:]
        if (fitted[~free] >= 0).all():
            return np.concatenate([[w[0]], fitted * signs])
        active &= (fitted > 0) | free


class Vectors:
    """The semantic stage's vectors for fitting the semantic model; absent for the lexical one."""

    def __init__(self, enabled: bool) -> None:
        self.bench = BenchVectors() if enabled else None

    def index(self, matcher: ClaimMatcher, docs: Sequence[IncidentDocument]) -> None:
        if self.bench is None:
            return
        matcher.set_background(np.array(self.bench.passages(list(BACKGROUND))))
        for doc, vector in zip(
            docs, self.bench.passages([passage_of(d) for d in docs]), strict=True
        ):
            matcher.set_vector(doc.incident_key, vector)

    def features(self, matcher: ClaimMatcher, text: str) -> list[tuple[str, tuple[float, ...]]]:
        vector = self.bench.query(text) if self.bench is not None else None
        return matcher.shortlist_features(text, vector=vector)


def _documents(path: Path) -> tuple[list[IncidentDocument], list[dict[str, object]]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    queries = document.pop("queries", [])
    document.pop("note", None)
    _, incidents = load_document(document)
    _, sample = load_document(json.loads(SAMPLE_PATH.read_text(encoding="utf-8")))
    return [document_for(incident) for incident in [*sample, *incidents]], queries


def confusion_rows(
    path: Path, vectors: Vectors
) -> tuple[Rows, list[tuple[int, str | None, list[str]]], list[str]]:
    """Rows of a look-alike set; per query (index, gold, incident keys of its rows); the
    set's incident keys in file order."""
    docs, queries = _documents(path)
    matcher = ClaimMatcher()
    for doc in docs:
        matcher.upsert(doc)
    vectors.index(matcher, docs)
    by_key = {doc.incident_key: doc for doc in docs}
    rows = Rows([], [], [], [])
    asked: list[tuple[int, str | None, list[str]]] = []
    for index, query in enumerate(queries):
        text, gold = str(query["text"]), query.get("gold")
        keys = []
        for key, features in vectors.features(matcher, text):
            rows.features.append(features)
            rows.labels.append(1.0 if key == gold else 0.0)
            rows.weights.append(1.0)
            rows.group.append(index)
            keys.append(key)
        asked.append((index, gold if isinstance(gold, str) else None, keys))
        if isinstance(gold, str) and gold in by_key:
            matcher.remove(gold)
            for _, features in vectors.features(matcher, text):
                rows.features.append(features)
                rows.labels.append(0.0)
                rows.weights.append(1.0)
                rows.group.append(index)
            matcher.upsert(by_key[gold])
            vectors.index(matcher, [by_key[gold]])
    return rows, asked, [doc.incident_key for doc in docs[1:]]


def benchmark_rows(benches: Sequence[str], vectors: Vectors) -> Rows:
    """Each query as published, cut to a fragment (a topic), and with its gold removed."""
    rows = Rows([], [], [], [])
    rng = random.Random(5)

    def add(found: list[tuple[str, tuple[float, ...]]], gold: frozenset[str]) -> None:
        for key, features in found:
            rows.features.append(features)
            rows.labels.append(1.0 if key in gold else 0.0)
            rows.weights.append(1.0)
            rows.group.append(-1)

    for bench in benches:
        claims = load_claims(DATA / bench / "claims.jsonl")
        matcher = build_matcher(claims)
        docs = {key: document(key, *claim) for key, claim in claims.items()}
        vectors.index(matcher, list(docs.values()))
        for query in load_queries(DATA / bench / "queries_train.jsonl"):
            add(vectors.features(matcher, query.text), query.gold)
            add(vectors.features(matcher, fragment(query.text, rng)), frozenset())
            held = [g for g in query.gold if g in docs]
            for gold in held:
                matcher.remove(gold)
            add(vectors.features(matcher, query.text), frozenset())
            for gold in held:
                matcher.upsert(docs[gold])
            vectors.index(matcher, [docs[g] for g in held])
    return rows


SCALE = [1.0]


def joined(parts: Sequence[Rows], balance: bool) -> Rows:
    """The rows of every part; with `balance`, each part weighs as much as the largest,
    and the look-alike parts (all but the first) `SCALE` times that."""
    out = Rows([], [], [], [])
    totals = [len(part.labels) for part in parts]
    for index, (part, total) in enumerate(zip(parts, totals, strict=True)):
        scale = max(totals) / total if balance and total else 1.0
        if index:
            scale *= SCALE[0]
        out.features += part.features
        out.labels += part.labels
        out.weights += [w * scale for w in part.weights]
        out.group += part.group
    return out


DROPPED: set[str] = set()


def fit(rows: Rows) -> np.ndarray:
    names = SEMANTIC_FEATURES if len(rows.features[0]) == len(SEMANTIC_FEATURES) else FEATURES
    signs = np.array([-1.0 if name in AGAINST else 0.0 if name in FREE else 1.0 for name in names])
    features = np.asarray(rows.features)
    for name in DROPPED:
        features[:, names.index(name)] = 0.0  # its weight comes out 0: the model without it
    return fit_logistic(features, np.asarray(rows.labels), np.asarray(rows.weights), signs)


def verdicts(
    model: np.ndarray,
    rows: Rows,
    asked: Sequence[tuple[int, str | None, list[str]]],
    only: set[int],
    thresholds: MatchThresholds,
) -> Counter[str]:
    """What a user would see for each asked query in `only`, with this model."""
    by_query: dict[int, list[tuple[float, ...]]] = {}
    for features, group in zip(rows.features, rows.group, strict=True):
        by_query.setdefault(group, []).append(features)
    counts: Counter[str] = Counter()
    for index, gold, keys in asked:
        if index not in only:
            continue
        shortlist = by_query.get(index, [])[: len(keys)]
        if not shortlist:
            counts["none" if gold else "neg none"] += 1
            continue
        x = np.asarray(shortlist)
        scores = 1.0 / (1.0 + np.exp(-(x @ model[1:] + model[0])))
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        runner = float(scores[order[1]]) if len(order) > 1 else 0.0
        shown = [keys[i] for i in order[:3]]
        if best < thresholds.minimum:
            status = "none"
        elif (
            best >= thresholds.confident
            and best - runner >= thresholds.margin
            and runner < thresholds.confident
        ):
            status = "confident"
        else:
            status = "ambiguous"
        if gold is None:
            counts[f"neg {status}"] += 1
        elif status == "confident":
            counts["right" if shown[0] == gold else "WRONG"] += 1
        elif status == "ambiguous" and gold in shown:
            counts["among"] += 1
        else:
            counts["none"] += 1
    return counts


def held_out_model(benchmark: Rows, rows: Rows, held: set[int], balance: bool) -> np.ndarray:
    """A model fitted without the rows of the `held` queries."""
    train = Rows([], [], [], [])
    for f, label, w, g in zip(rows.features, rows.labels, rows.weights, rows.group, strict=True):
        if g not in held:
            train.features.append(f)
            train.labels.append(label)
            train.weights.append(w)
            train.group.append(g)
    return fit(joined([benchmark, train], balance=balance))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="ct2020_en,ct2021_2a_en")
    parser.add_argument("--dataset", type=Path, action="append", help="look-alike set(s)")
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--semantic", action="store_true", help="fit the semantic model")
    parser.add_argument("--no-balance", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0, help="weight of look-alike rows")
    parser.add_argument(
        "--drop", action="append", default=[], help="fit without this feature (ablation)"
    )
    args = parser.parse_args(argv)
    datasets = args.dataset or [DEV_SET]
    vectors = Vectors(args.semantic)
    SCALE[0] = args.scale
    DROPPED.update(args.drop)

    benchmark = benchmark_rows([b for b in args.bench.split(",") if b], vectors)
    sets = [confusion_rows(path, vectors) for path in datasets]
    everything = joined([benchmark, *(rows for rows, _, _ in sets)], balance=not args.no_balance)
    model = fit(everything)
    names = SEMANTIC_FEATURES if args.semantic else FEATURES
    prefix = "_SEMANTIC" if args.semantic else "_MODEL"
    print(f"rows={len(everything.labels)} positives={int(sum(everything.labels))}")
    print(f"{prefix}_BIAS: Final = {float(model[0]):.3f}")
    print(f"{prefix}_WEIGHTS: Final = ({', '.join(f'{float(v):.3f}' for v in model[1:])})")
    for name, value in zip(names, model[1:], strict=True):
        print(f"  {name:<16} {value:+.3f}")

    thresholds = MatchThresholds()
    rows, asked, keys = sets[0]
    print("in-sample:", dict(verdicts(model, rows, asked, {i for i, _, _ in asked}, thresholds)))
    if args.folds:
        # Folds follow file order, so that a fold holds a run of look-alikes.
        size = -(-len(keys) // args.folds)
        negatives = [i for i, gold, _ in asked if gold is None]
        _, queries = _documents(datasets[0])
        crossing = {i for i, q in enumerate(queries) if q.get("gold") and q.get("lang") != "en"}
        total: Counter[str] = Counter()
        xl: Counter[str] = Counter()
        for fold in range(args.folds):
            held = set(keys[fold * size : (fold + 1) * size])
            about_held = {i for i, gold, _ in asked if gold in held}
            # Negatives go round the folds too, so that each is scored once, held out.
            round_robin = {i for n, i in enumerate(negatives) if n % args.folds == fold}
            held_queries = about_held | round_robin
            model_without = held_out_model(benchmark, rows, held_queries, not args.no_balance)
            total += verdicts(model_without, rows, asked, held_queries, thresholds)
            xl_model = held_out_model(benchmark, rows, about_held & crossing, not args.no_balance)
            xl += verdicts(xl_model, rows, asked, about_held & crossing, thresholds)
        print("held out:", dict(total))
        print("held out, not in English:", dict(xl))
        print(" ".join(f"{k.replace(' ', '_')}={v}" for k, v in sorted(total.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
