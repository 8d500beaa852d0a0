"""Problems found in a dataset, and the report that lists them (bounded, however many)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

FORMAT = "factcheck-dataset"
VERSION = 1
DATA_DIR = Path(__file__).parent.parent / "data"
SCHEMA_PATH = DATA_DIR / "dataset.schema.json"
SAMPLE_PATH = DATA_DIR / "idlib-reference.json"
MAX_LISTED_ERRORS = 100
MAX_COUNTED_ERRORS = 1000
MAX_MESSAGE = 200

Opener = Callable[[], IO[bytes]]
"""Opens the dataset afresh; called once per pass over it."""


@dataclass(frozen=True)
class DatasetError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class ValidationReport:
    errors: list[DatasetError] = field(default_factory=list)
    error_count: int = 0
    source_count: int = 0
    incident_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, path: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(DatasetError(path, message))

    @property
    def given_up(self) -> bool:
        """Enough problems to refuse the file and show what to fix first; reading further
        would only cost time (a file of millions of broken records cost minutes)."""
        return self.error_count >= MAX_COUNTED_ERRORS

    def describe(self) -> str:
        if self.ok:
            return f"valid: {self.source_count} sources, {self.incident_count} incidents"
        lines = [f"{self.error_count} problem(s) found; nothing was imported."]
        lines.extend(str(error) for error in self.errors)
        if self.given_up:
            lines.append(f"… and more: reading stopped after {MAX_COUNTED_ERRORS} problems")
        elif self.error_count > len(self.errors):
            lines.append(f"… and {self.error_count - len(self.errors)} more")
        return "\n".join(lines)


class DatasetInvalid(Exception):
    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.describe())
        self.report = report


def short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
