"""A process killed outright (SIGKILL) in the middle of a write leaves nothing half-done."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from db.database import Database
from domain.dataset import SAMPLE_PATH

ROOT = Path(__file__).resolve().parent.parent


def _import(dataset: Path, environment: dict[str, str]) -> subprocess.Popen[str]:
    """`factcheck-bot import` as its own process, its progress readable on stderr."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "import", str(dataset)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _large_dataset(path: Path, count: int) -> None:
    sample = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    template = sample["incidents"][0]
    incidents = []
    for n in range(count):
        incident = dict(template)
        incident["id"] = f"crash-{n}"
        incident["title"] = f"Incident written before the crash, number {n}"
        incidents.append(incident)
    sample["incidents"] = incidents
    path.write_text(json.dumps(sample), encoding="utf-8")


async def test_sigkill_during_an_import_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    database = Database(url)
    await database.prepare(sample_data="yes")
    before = await database.repository.count_incidents()
    await database.close()
    dataset = tmp_path / "large.json"
    _large_dataset(dataset, 3000)
    environment = {**os.environ, "DATABASE_URL": url}
    process = _import(dataset, environment)
    assert process.stderr is not None
    # Kill it once it reports writing (progress goes to stderr as "N/3000 incidents").
    progress = ""
    while "/3000 incidents" not in progress:
        chunk = await asyncio.to_thread(process.stderr.read, 20)
        assert chunk, "the import ended before it started writing"
        progress += chunk
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(process.wait, 30)
    assert process.returncode == -signal.SIGKILL

    database = Database(url)
    try:
        await database.prepare(sample_data="no")
        assert await database.repository.count_incidents() == before  # nothing half-written
        # And the same import, run again, completes.
        rerun = _import(dataset, environment)
        _, errors = await asyncio.to_thread(rerun.communicate, None, 300)
        assert rerun.returncode == 0, errors
        assert await database.repository.count_incidents() == before + 3000
    finally:
        await database.close()
