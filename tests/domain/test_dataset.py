"""The dataset format: what is accepted, and how precisely bad files are refused."""

from __future__ import annotations

import copy
import io
import json
import random
from typing import Any

import pytest

from domain import dataset
from domain.dataset import SAMPLE_PATH, validate


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    return data


def check(data: Any) -> dataset.ValidationReport:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return validate(lambda: io.BytesIO(raw))


def messages(report: dataset.ValidationReport) -> set[str]:
    return {str(error) for error in report.errors}


def test_bundled_sample_is_valid_and_holds_the_reference_case() -> None:
    report = check(sample())
    assert report.ok, report.describe()
    assert (report.source_count, report.incident_count) == (4, 1)
    sources, incidents = dataset.sample_dataset()
    incident = incidents[0]
    assert {s.key for s in sources} == {"ru-mod", "sy-state-media", "nlf", "sohr"}
    assert len(incident.accounts) == 4
    assert [p.key for p in incident.points] == [
        "attack-launched",
        "soldiers-killed",
        "settlements-seized",
        "militant-casualties",
        "air-strikes",
    ]


def test_bundled_sample_is_written_in_the_canonical_form() -> None:
    # Export writes every field; the bundled file must already look like an export so that
    # import -> export reproduces it exactly.
    sources, incidents = dataset.sample_dataset()
    out = io.StringIO()
    dataset.write_dataset(out, sources, incidents)
    assert json.loads(out.getvalue()) == sample()


def test_figures_are_kept_as_each_source_gave_them() -> None:
    _, (incident,) = dataset.sample_dataset()
    mod = next(a for a in incident.accounts if a.source.key == "ru-mod")
    killed = next(f for f in mod.figures if f.point_key == "soldiers-killed")
    assert (killed.raw, killed.min, killed.max) == ("up to 40", None, 40)


def test_missing_required_fields_are_named_by_path() -> None:
    data = sample()
    del data["incidents"][0]["title"]
    del data["sources"][1]["kind"]
    del data["incidents"][0]["accounts"][2]["summary"]
    report = check(data)
    assert messages(report) == {
        "incidents[0].title: missing required field",
        "sources[1].kind: missing required field",
        "incidents[0].accounts[2].summary: missing required field",
    }


def test_unknown_source_is_refused() -> None:
    data = sample()
    data["incidents"][0]["accounts"][1]["source"] = "tass"
    assert messages(check(data)) == {"incidents[0].accounts[1].source: unknown source 'tass'"}


def test_sources_already_stored_may_be_referred_to() -> None:
    data = sample()
    data["incidents"][0]["accounts"][1]["source"] = "tass"
    raw = json.dumps(data).encode()
    assert validate(lambda: io.BytesIO(raw), existing_sources={"tass"}).ok


def test_stance_on_a_point_of_another_incident_is_refused() -> None:
    data = sample()
    other = copy.deepcopy(data["incidents"][0])
    other["id"] = "other-incident"
    other["points"] = [{"id": "bridge-destroyed", "text": "A bridge was destroyed"}]
    for account in other["accounts"]:
        account["stances"] = []
        account["figures"] = []
    data["incidents"].append(other)
    data["incidents"][0]["accounts"][0]["stances"][0]["point"] = "bridge-destroyed"
    assert messages(check(data)) == {
        "incidents[0].accounts[0].stances[0].point: "
        "'bridge-destroyed' is not a point of incident 'idlib-disputed-attack'"
    }


def test_wrong_types_are_refused() -> None:
    data = sample()
    data["incidents"][0]["accounts"][0]["figures"][0]["max"] = "forty"
    data["incidents"][0]["keywords"] = "offensive"
    data["sources"][0]["aliases"] = [1, 2]
    report = check(data)
    assert "incidents[0].accounts[0].figures[0].max: must be integer or null, not str" in messages(
        report
    )
    assert "incidents[0].keywords: must be array, not str" in messages(report)
    assert "sources[0].aliases[0]: must be string, not int" in messages(report)


def test_bad_enumerations_ids_and_dates_are_refused() -> None:
    data = sample()
    data["incidents"][0]["accounts"][0]["stances"][0]["stance"] = "lies"
    data["incidents"][0]["id"] = "Idlib Attack!"
    data["incidents"][0]["accounts"][0]["published"] = "2020-02-30"
    report = messages(check(data))
    assert any(
        m.startswith("incidents[0].accounts[0].stances[0].stance: 'lies' is not one of")
        for m in report
    )
    assert any(m.startswith("incidents[0].id: 'Idlib Attack!' is not a valid id") for m in report)
    assert "incidents[0].accounts[0].published: '2020-02-30' is not a valid date" in report


def test_inconsistent_figures_duplicates_and_dates_are_refused() -> None:
    data = sample()
    incident = data["incidents"][0]
    incident["accounts"][0]["figures"][0].update({"min": 50, "max": 40})
    incident["accounts"][1]["id"] = incident["accounts"][0]["id"]
    incident["date"].update({"start": "2020-02-01", "end": "2020-01-01"})
    incident["accounts"][2]["stances"].append({"point": "air-strikes", "stance": "asserts"})
    data["sources"].append(dict(data["sources"][0]))
    assert messages(check(data)) == {
        "incidents[0].accounts[0].figures[0].max: smaller than min (40 < 50)",
        "incidents[0].accounts[1].id: duplicate account id 'mod-statement'",
        "incidents[0].date.end: ends before it starts",
        "incidents[0].accounts[2].stances[5].point: second stance on point 'air-strikes'",
        "sources[4].id: duplicate source id 'ru-mod'",
    }


def test_unknown_fields_are_refused_rather_than_silently_dropped() -> None:
    data = sample()
    data["incidents"][0]["verdict"] = "false"
    data["extra"] = 1
    assert messages(check(data)) == {
        "incidents[0]: unknown field(s): 'verdict'",
        "extra: unknown field",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "$: not valid JSON"),
        (b"[1, 2, 3]", "$: a dataset must be a JSON object"),
        (b'{"format": "factcheck-dataset", "version": 1, "sources": [', "$: not valid JSON"),
        (b'"just a string"', "$: a dataset must be a JSON object"),
    ],
)
def test_files_that_are_not_datasets_are_refused(raw: bytes, expected: str) -> None:
    report = check(raw)
    assert not report.ok
    assert str(report.errors[0]).startswith(expected)


def test_ten_megabytes_of_junk_is_refused_quickly_with_one_message() -> None:
    rng = random.Random(5)
    junk = bytes(rng.randrange(256) for _ in range(10 * 1024 * 1024))
    report = check(junk)
    assert report.error_count == 1
    assert str(report.errors[0]).startswith("$: not valid JSON")


def test_junk_shaped_like_json_is_reported_with_a_bounded_list() -> None:
    data = {
        "format": "factcheck-dataset",
        "version": 1,
        "sources": [{"id": f"s{i}", "name": "", "kind": "?"} for i in range(5000)],
        "incidents": [],
    }
    report = check(data)
    assert dataset.MAX_COUNTED_ERRORS <= report.error_count < 10000
    assert len(report.errors) == dataset.MAX_LISTED_ERRORS
    # A file this broken is refused after enough problems to show what to fix first.
    assert report.describe().endswith(
        f"… and more: reading stopped after {dataset.MAX_COUNTED_ERRORS} problems"
    )


def test_wrong_format_and_version_are_refused() -> None:
    data = sample()
    data["format"] = "something-else"
    data["version"] = 2
    assert messages(check(data)) == {
        "format: must be 'factcheck-dataset'",
        "version: unsupported version 2; this bot reads 1",
    }


def test_sources_may_follow_incidents_in_the_file() -> None:
    data = sample()
    reordered = {
        "incidents": data["incidents"],
        "format": data["format"],
        "version": 1,
        "sources": data["sources"],
    }
    assert check(reordered).ok


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda n: b'{"format": ' + b"[" * n + b"]" * n + b"}", id="nested arrays"),
        pytest.param(
            lambda n: b'{"incidents": [{"summary": ' + b'{"a":' * n + b"1" + b"}" * n,
            id="nested objects",
        ),
        pytest.param(lambda n: b"[" * n, id="unclosed brackets"),
    ],
)
def test_deeply_nested_json_is_refused_with_one_message(shape: Any) -> None:
    # 400 KB of nesting: the reader kept a path per event and ran out of memory on it.
    report = check(shape(200_000))
    assert not report.ok
    assert len(report.errors) == 1
    assert report.errors[0].path == "$"
    assert "deeper than" in report.errors[0].message or "not valid JSON" in report.errors[0].message


def test_an_upload_past_the_size_limit_is_refused_with_one_message() -> None:
    data = json.dumps(sample()).encode()
    big = data[:-1] + b', "padding": "' + b"x" * (1024 * 1024) + b'"}'
    report = validate(lambda: io.BytesIO(big), max_bytes=1024 * 1024)
    assert [e.message for e in report.errors] == ["not a dataset: the file is larger than 1 MB"]
    assert validate(lambda: io.BytesIO(data), max_bytes=1024 * 1024).ok
