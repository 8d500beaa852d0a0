"""Reading a dataset as a stream of items with ijson, in bounded memory and depth.

Files can be large (100k incidents), so reading streams item by item and the caller
re-opens the file for each pass: one pass validates everything, a second imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson

from domain.dataset._report import Opener, ValidationReport, short

# --- streaming scan ----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    section: str  # "top", "sources" or "incidents"
    key: str | int  # top-level key, or index within the section
    value: Any


# Deeper than this, a value is refused: a real incident nests five levels (incident ->
# accounts -> account -> figures -> figure), and every level kept costs memory per event.
MAX_DEPTH = 16
# Telegram hands a bot files of at most 20 MB; a dataset a moderator uploads is no bigger.
MAX_BYTES = 20 * 1024 * 1024


class DatasetTooLarge(ValueError):
    """The file is bigger, or nests deeper, than a dataset can."""


class _Bounded:
    """A byte stream that refuses to be read past `limit` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._left -= len(chunk)
        if self._left < 0:
            raise DatasetTooLarge(f"the file is larger than {self._limit // (1024 * 1024)} MB")
        return chunk


def _value(
    events: Iterator[tuple[str, Any]], event: str, value: Any, depth: int, *, build: bool = True
) -> Any:
    """One JSON value from ijson's basic events, starting at (`event`, `value`), which sits
    `depth` levels into the document; built, or only read past (`build=False`); refused
    once it nests past `MAX_DEPTH`."""
    builder = ijson.ObjectBuilder() if build else None
    level = 0
    while True:
        if builder is not None:
            builder.event(event, value)
        if event in ("start_map", "start_array"):
            level += 1
            if depth + level > MAX_DEPTH:
                raise DatasetTooLarge(f"values nest deeper than {MAX_DEPTH} levels")
        elif event in ("end_map", "end_array"):
            level -= 1
        if level == 0:
            return builder.value if builder is not None else None
        event, value = next(events)


def _scan(
    stream: IO[bytes], max_bytes: int | None = None, skip: frozenset[str] = frozenset()
) -> Iterator[Item]:
    """Yield top-level values, and each source and incident as a separate item.

    Reads ijson's basic events, which carry no path: a path per event grows with the
    nesting, and a file of nothing but brackets made it cost memory in the square of its
    size. Depth is bounded instead (`MAX_DEPTH`), and where asked, size (`max_bytes`).
    """
    bounded = _Bounded(stream, max_bytes) if max_bytes is not None else stream
    events = ijson.basic_parse(bounded, use_float=True)
    event, value = next(events)
    if event != "start_map":
        if event == "start_array":
            _value(events, event, value, 0, build=False)  # to its end: it must be JSON
            yield Item("top", "", [])
        else:
            yield Item("top", "", value)
        return
    key = ""
    for event, value in events:
        if event == "end_map":
            return
        if event == "map_key":
            key = value
            continue
        if key in ("sources", "incidents") and event == "start_array":
            index = -1
            for inner, inner_value in events:
                if inner == "end_array":
                    break
                index += 1
                if key in skip:
                    _value(events, inner, inner_value, 2, build=False)
                else:
                    yield Item(key, index, _value(events, inner, inner_value, 2))
            yield Item("top", key, [])  # marks that the section was present
            continue
        yield Item("top", key, _value(events, event, value, 1))


def items(
    opener: Opener,
    report: ValidationReport,
    max_bytes: int | None = None,
    skip: frozenset[str] = frozenset(),
) -> Iterator[Item]:
    """The file's items; those of the sections in `skip` are read past, not built."""
    with opener() as stream:
        try:
            yield from _scan(stream, max_bytes, skip)
        except DatasetTooLarge as refused:
            report.add("$", f"not a dataset: {refused}")
        except (ijson.JSONError, ijson.IncompleteJSONError, ValueError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            report.add("$", f"not valid JSON ({short(first_line)})")
        except StopIteration:
            report.add("$", "the file is empty")
