"""How long a large dataset import takes, and how much memory it needs.

    python bench/import_large.py --incidents 100000 [--database sqlite|postgres]

Writes a synthetic dataset (every incident shaped like the reference case: five points,
four accounts with stances and figures) to a temporary file, imports it through the real
importer into a fresh database, and prints the figures. The baseline in the same run is
validation alone (one streaming pass, no writes), so the ratio shows what writing costs.
Last line: key=value pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.database import Database
from db.datasets import import_dataset
from db.engine import create_engine
from db.repository import Actor
from domain.dataset import validate
from tests.helpers.datasets import write_sample_copies

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def write_dataset(path: Path, count: int) -> None:
    write_sample_copies(
        path, count, prefix="synthetic", title="Synthetic incident {n} near town {n}"
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(count: int, backend: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.json"
        started = time.perf_counter()
        write_dataset(path, count)
        size_mb = path.stat().st_size / 1e6
        print(
            f"dataset: {count} incidents, {size_mb:.1f} MB, "
            f"written in {time.perf_counter() - started:.1f}s"
        )

        started = time.perf_counter()
        report = validate(lambda: path.open("rb"))
        validate_s = time.perf_counter() - started
        assert report.ok, report.describe()
        print(f"validation alone: {validate_s:.1f}s, peak RSS {peak_rss_mb():.0f} MB")

        schema = None
        if backend == "postgres":
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(POSTGRES_URL)
            async with admin.begin() as connection:
                await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            await admin.dispose()
            engine = create_engine(
                POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}}
            )
            database = Database(POSTGRES_URL, engine=engine)
        else:
            database = Database(f"sqlite:///{folder}/bench.db")
        await database.prepare(sample_data="no")
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 5:
                last[0] = time.perf_counter()
                print(f"  {done}/{total} incidents, RSS {peak_rss_mb():.0f} MB", flush=True)

        started = time.perf_counter()
        result = await import_dataset(
            database.repository,
            lambda: path.open("rb"),
            Actor.cli(),
            progress=progress,
            label="bench",
        )
        import_s = time.perf_counter() - started
        stored = await database.repository.count_incidents()
        await database.close()
        if schema:
            admin = create_engine(POSTGRES_URL)
            async with admin.begin() as connection:
                await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            await admin.dispose()
        assert stored == count == len(result.incidents.created)
        rate = count / import_s
        print(
            f"import ({backend}): {import_s:.1f}s, {rate:.0f} incidents/s, "
            f"peak RSS {peak_rss_mb():.0f} MB"
        )
        print(
            f"incidents={count} backend={backend} import_s={import_s:.1f} "
            f"validate_s={validate_s:.1f} "
            f"import_to_validate_ratio={import_s / validate_s:.1f} incidents_per_s={rate:.0f} "
            f"peak_rss_mb={peak_rss_mb():.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(run(args.incidents, args.database))


if __name__ == "__main__":
    main()
