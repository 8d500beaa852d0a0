"""Writing a dataset back out, incrementally, and the bundled sample."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import IO, Any

from domain.dataset._report import FORMAT, SAMPLE_PATH, VERSION
from domain.dataset.convert import incident_to_json, load_document, source_to_json
from domain.model import (
    IncidentView,
    SourceView,
)


class DatasetWriter:
    """Writes a dataset incrementally, so exporting 100k incidents needs little memory.

    Sources come first, then incidents one at a time, then `close()`.
    """

    def __init__(self, out: IO[str], *, exported_at: dt.datetime | None = None) -> None:
        self._out = out
        self._incidents = 0
        out.write(f'{{\n  "format": "{FORMAT}",\n  "version": {VERSION},\n')
        if exported_at is not None:
            # To the microsecond, as change times are kept: an edit made in the second of
            # the export must not look older (or newer) than the file.
            out.write(f'  "exported_at": "{exported_at.isoformat(timespec="microseconds")}",\n')

    def write_extra(self, key: str, items: list[dict[str, Any]]) -> None:
        """A backup-only section; must come before the sources."""
        self._out.write(f'  "{key}": {json.dumps(items, ensure_ascii=False)},\n')

    def write_sources(self, sources: Iterable[SourceView]) -> None:
        self._out.write('  "sources": [')
        count = 0
        for source in sources:
            self._item(source_to_json(source), first=count == 0)
            count += 1
        self._out.write("\n  ],\n" if count else "],\n")
        self._out.write('  "incidents": [')

    def write_incident(self, incident: IncidentView) -> None:
        self._item(incident_to_json(incident), first=self._incidents == 0)
        self._incidents += 1

    def close(self) -> int:
        self._out.write("\n  ]\n}\n" if self._incidents else "]\n}\n")
        return self._incidents

    def _item(self, item: dict[str, Any], *, first: bool) -> None:
        self._out.write("\n    " if first else ",\n    ")
        self._out.write(json.dumps(item, ensure_ascii=False))


def write_dataset(
    out: IO[str],
    sources: Iterable[SourceView],
    incidents: Iterable[IncidentView],
    *,
    exported_at: dt.datetime | None = None,
) -> int:
    """Write a whole dataset; returns the number of incidents written."""
    writer = DatasetWriter(out, exported_at=exported_at)
    writer.write_sources(sources)
    for incident in incidents:
        writer.write_incident(incident)
    return writer.close()


def sample_dataset() -> tuple[list[SourceView], list[IncidentView]]:
    """The bundled reference case (see docs/reference-case.md)."""
    return load_document(json.loads(SAMPLE_PATH.read_text(encoding="utf-8")))
