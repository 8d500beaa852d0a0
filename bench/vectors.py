"""Embeddings for benchmarks, cached on disk by text: the claim-retrieval sets hold tens
of thousands of texts, and the model takes tens of milliseconds for each.

    vectors = BenchVectors()            # None-like when the model cannot run here
    vectors.passages(["..."]); vectors.query("...")
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from domain.matching._semantic import Embedder, Vector, load_embedder


class BenchVectors:
    def __init__(self, embedder: Embedder | None = None) -> None:
        found = embedder or load_embedder()
        if found is None:
            raise RuntimeError("the semantic model cannot run here")
        self.embedder = found
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        path = base / "factcheck-bot" / "bench-vectors.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vec BLOB)")

    def _key(self, kind: str, text: str) -> str:
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
        return f"{self.embedder.model_id}:{kind}:{digest}"

    def _get(self, key: str) -> Vector | None:
        row = self._db.execute("SELECT vec FROM v WHERE key = ?", (key,)).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()

    def query(self, text: str) -> Vector:
        key = self._key("q", text)
        found = self._get(key)
        if found is None:
            found = self.embedder.query(text)
            self._db.execute("INSERT OR REPLACE INTO v VALUES (?, ?)", (key, found.tobytes()))
            self._db.commit()
        return found

    def passages(self, texts: Sequence[str], batch: int = 32) -> list[Vector]:
        keys = [self._key("p", text) for text in texts]
        found: list[Vector | None] = [self._get(key) for key in keys]
        missing = [i for i, vector in enumerate(found) if vector is None]
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            computed = self.embedder.passages([texts[i] for i in chunk])
            for i, vector in zip(chunk, computed, strict=True):
                found[i] = vector
                self._db.execute(
                    "INSERT OR REPLACE INTO v VALUES (?, ?)", (keys[i], vector.tobytes())
                )
            self._db.commit()
        return [vector for vector in found if vector is not None]
