"""The dataset file: its validation, its reading into domain types, and its writing back.

A dataset is one JSON document (see `data/dataset.schema.json` and docs/dataset.md) with
`sources` and `incidents`; incidents carry their points, accounts, figures and stances.
One module a step: `_stream` reads items in bounded memory, `validation` finds every
problem, `convert` turns records into domain types and back, `writer` writes a file.
"""

from domain.dataset._report import (
    DATA_DIR,
    FORMAT,
    MAX_COUNTED_ERRORS,
    MAX_LISTED_ERRORS,
    SAMPLE_PATH,
    SCHEMA_PATH,
    VERSION,
    DatasetError,
    DatasetInvalid,
    Opener,
    ValidationReport,
)
from domain.dataset._stream import MAX_BYTES, MAX_DEPTH, DatasetTooLarge
from domain.dataset.convert import (
    incident_to_json,
    load_document,
    parse_incident,
    parse_source,
    read_incidents,
    read_sources,
    source_to_json,
)
from domain.dataset.validation import (
    check_incident,
    check_incident_json,
    check_source,
    read_exported_at,
    read_extras,
    validate,
)
from domain.dataset.writer import DatasetWriter, sample_dataset, write_dataset

__all__ = [
    "DATA_DIR",
    "FORMAT",
    "MAX_BYTES",
    "MAX_COUNTED_ERRORS",
    "MAX_DEPTH",
    "MAX_LISTED_ERRORS",
    "SAMPLE_PATH",
    "SCHEMA_PATH",
    "VERSION",
    "DatasetError",
    "DatasetInvalid",
    "DatasetTooLarge",
    "DatasetWriter",
    "Opener",
    "ValidationReport",
    "check_incident",
    "check_incident_json",
    "check_source",
    "incident_to_json",
    "load_document",
    "parse_incident",
    "parse_source",
    "read_exported_at",
    "read_extras",
    "read_incidents",
    "read_sources",
    "sample_dataset",
    "source_to_json",
    "validate",
    "write_dataset",
]
