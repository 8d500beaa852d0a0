"""The worst a single message can cost: pathological inputs against a normal one.

    python bench/hostile.py [--length 4096] [--repeat 5]

Every input is cut to `--length` characters (Telegram's limit for a message's text is
4096), read and matched by the real matcher (the bundled sample plus 2,000 synthetic
incidents indexed), best of `--repeat` runs each. The baseline is a normal message of the
same length: a long channel post about the reference case, repeated to fill it. A
pattern that backtracks shows as a ratio far above 1; linear work stays near it.
Last line: worst_ms= normal_ms= ratio= worst= (the name of the worst input).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.matching import ClaimMatcher
from domain.model import IncidentDocument, MatchText, TextKind, document_for
from domain.sample import reference_incident

NORMAL = (
    "Forwarded from War Chronicle\n"
    "Militants of Hayat Tahrir al-Sham attacked Syrian army positions in Idlib on Wednesday; "
    "the defence ministry says up to 40 soldiers were killed and two settlements lost. "
    "The rebels deny any assault, and the Observatory counted 400 air strikes since then. "
)

# Each makes text of any length; cut to the limit before use.
HOSTILE: dict[str, Callable[[int], str]] = {
    "dash then spaces": lambda n: "— " + " " * n,
    "dashes and spaces": lambda n: "— " * n,
    "tabs before (@": lambda n: "\t" * n + "(@",
    "a. runs": lambda n: "a." * n,
    "a. runs ending .com/": lambda n: "a." * n + "com/x",
    "repeated punctuation": lambda n: "?!.,;:" * n,
    "long url": lambda n: "https://" + "a" * n,
    "url-like words": lambda n: "x.com/ " * n,
    "handles": lambda n: "@a " * n,
    "handles then a word": lambda n: "@a @b " * n + "word",
    "hashtags": lambda n: "#aB" * n,
    "bidi and zero-width": lambda n: "\u202e\u200b\u2066a" * n,
    "mixed scripts": lambda n: "аa" * n,
    "emoji": lambda n: "😀" * n,
    "emoji and newlines": lambda n: "😀\n" * n,
    "digit groups": lambda n: "1,000 " * n,
    "month names": lambda n: "December 7 2021 " * n,
    "capitals after in": lambda n: "in Xq " * n,
    "one long word": lambda n: "x" * n,
    "arabic letters": lambda n: "بحمص " * n,
    "signature shapes": lambda n: "— Name (@h) January 1, 2020 " * n,
}


def synthetic(count: int) -> list[IncidentDocument]:
    places = ["Aleppo", "Homs", "Kherson", "Goma", "Maiduguri", "Tyre", "Latakia", "Sumy"]
    return [
        IncidentDocument(
            f"s{n}",
            (
                MatchText(TextKind.TITLE, f"Strike on a market in {places[n % 8]} number {n}"),
                MatchText(TextKind.SUMMARY, f"Sources disagree about case {n} in {places[n % 8]}"),
                MatchText(TextKind.PLACE, places[n % 8]),
            ),
            places=(places[n % 8],),
        )
        for n in range(count)
    ]


def best_ms(matcher: ClaimMatcher, text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        matcher.match(text)
        times.append(1000 * (time.perf_counter() - started))
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    matcher = ClaimMatcher()
    matcher.upsert(document_for(reference_incident()))
    for doc in synthetic(2000):
        matcher.upsert(doc)
    matcher.match("warm up: Idlib, Homs and the gazetteer")

    normal_text = (NORMAL * (args.length // len(NORMAL) + 1))[: args.length]
    normal = best_ms(matcher, normal_text, args.repeat)
    print(f"{'normal message':<24} {normal:8.1f} ms")
    worst_name, worst = "", 0.0
    for name, make in HOSTILE.items():
        text = make(args.length)[: args.length]
        took = best_ms(matcher, text, args.repeat)
        print(f"{name:<24} {took:8.1f} ms  x{took / normal:.2f}")
        if took > worst:
            worst_name, worst = name, took
    print(
        f"worst_ms={worst:.1f} normal_ms={normal:.1f} ratio={worst / normal:.2f} "
        f"worst={worst_name.replace(' ', '_')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
