"""The worst a single message can cost: pathological inputs against a normal one.

    python bench/hostile.py [--length 4096] [--repeat 5]
    python bench/hostile.py --datasets      # hostile 20 MB dataset uploads instead

Every input is cut to `--length` characters (Telegram's limit for a message's text is
4096), read and matched by the real matcher (the bundled sample plus 2,000 synthetic
incidents indexed), best of `--repeat` runs each. The baseline is a normal message of the
same length: a long channel post about the reference case, repeated to fill it. A
pattern that backtracks shows as a ratio far above 1; linear work stays near it.
Last line: worst_ms= normal_ms= ratio= worst= (the name of the worst input).

With --datasets: files of 20 MB (the most Telegram lets a bot download) shaped to hurt the
validator, each validated in a fresh process as an upload is; prints each one's verdict,
time and peak resident memory against the same for the bundled sample, last line
worst_rss_mb= sample_rss_mb= worst_s= worst=.
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


MB = 1024 * 1024
HOSTILE_FILES: dict[str, Callable[[int], bytes]] = {
    "nested arrays": lambda n: b'{"format": ' + b"[" * (n // 2) + b"]" * (n // 2) + b"}",
    "unclosed brackets": lambda n: b"[" * n,
    "nested objects": lambda n: b'{"incidents": [' + b'{"a":' * (n // 6),
    "one long string": lambda n: b'{"format": "' + b"x" * (n - 20) + b'"}',
    "many tiny incidents": lambda n: b'{"incidents": [' + b"{}," * (n // 3 - 10) + b"{}]}",
    "many keys": lambda n: b'{"incidents": [{' + b'"k":1,' * (n // 6 - 10) + b'"k":1}]}',
    "past the limit": lambda n: b'{"format": "' + b"x" * (n + 100) + b'"}',
}


def _validate_in_child(path: str) -> None:
    """Validate one file in this (fresh) process; print verdict, seconds, peak RSS in MB."""
    import resource

    from domain.dataset import MAX_BYTES, validate

    started = time.perf_counter()
    with open(path, "rb") as handle:
        data = handle.read()
    report = validate(lambda: __import__("io").BytesIO(data), max_bytes=MAX_BYTES)
    took = time.perf_counter() - started
    verdict = "valid" if report.ok else str(report.errors[0])[:70]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{took:.2f}\t{peak:.0f}\t{verdict}")


def datasets() -> int:
    import subprocess
    import tempfile

    from domain.dataset import MAX_BYTES, SAMPLE_PATH

    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        files = {"the bundled sample": SAMPLE_PATH.read_bytes()}
        files.update({name: make(MAX_BYTES) for name, make in HOSTILE_FILES.items()})
        for name, data in files.items():
            path = Path(scratch) / "upload.json"
            path.write_bytes(data)
            child = subprocess.run(
                [sys.executable, __file__, "--validate-file", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                rows.append((name, 0.0, 0.0, f"CRASHED: {child.stderr.strip()[-80:]}"))
                continue
            took, peak, verdict = child.stdout.strip().split("\t", 2)
            rows.append((name, float(took), float(peak), verdict))
            print(f"{name:<22} {len(data) / MB:6.1f} MB {float(took):6.2f} s "
                  f"{float(peak):6.0f} MB  {verdict}")  # fmt: skip
    sample_rss = rows[0][2]
    worst = max(rows[1:], key=lambda row: row[2])
    slowest = max(row[1] for row in rows[1:])
    print(
        f"worst_rss_mb={worst[2]:.0f} sample_rss_mb={sample_rss:.0f} worst_s={slowest:.2f} "
        f"worst={worst[0].replace(' ', '_')}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--datasets", action="store_true", help="hostile dataset uploads")
    parser.add_argument("--validate-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.validate_file:
        _validate_in_child(args.validate_file)
        return 0
    if args.datasets:
        return datasets()
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
