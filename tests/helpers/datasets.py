"""Synthetic dataset files: the bundled reference incident copied under new ids, as many
times as a test or a benchmark needs, written as a stream (a million copies fit)."""

from __future__ import annotations

import json
from pathlib import Path

from domain.dataset import FORMAT, SAMPLE_PATH, VERSION


def write_sample_copies(path: Path, count: int, *, prefix: str, title: str) -> None:
    """`count` copies of the sample's incident, ids `{prefix}-0000000`…, titles
    `title.format(n=…)`, with the sample's sources."""
    sample = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    template = sample["incidents"][0]
    with path.open("w", encoding="utf-8") as out:
        out.write(f'{{"format": "{FORMAT}", "version": {VERSION}, "sources": ')
        out.write(json.dumps(sample["sources"], ensure_ascii=False))
        out.write(', "incidents": [\n')
        for n in range(count):
            incident = {**template, "id": f"{prefix}-{n:07d}", "title": title.format(n=n)}
            out.write(("," if n else "") + json.dumps(incident, ensure_ascii=False) + "\n")
        out.write("]}\n")
