"""The `factcheck-bot` command: run the bot, and manage its data from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from bot import messages as msg
from bot.app import run_bot
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import LANGUAGES, t
from bot.keyboards import candidate_labels
from bot.markup import PLAIN
from bot.render import answer_blocks
from bot.services import make_checker
from db import migrate
from db.database import Database, SampleData
from db.datasets import (
    backup,
    export_claim_review,
    export_dataset,
    import_dataset,
    plan_import,
    restore,
)
from db.engine import DatabaseUrlError, database_problem
from db.repository import Actor
from domain.dataset import DatasetInvalid, validate
from domain.matching import unavailable_reason
from domain.media import ocr
from domain.model import SentMedia

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="factcheck-bot",
        description="Answer claims with every recorded source account of the incident.",
    )
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="settings file (default: .env)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (polling, or webhook when WEBHOOK_URL is set)")
    commands.add_parser("migrate", help="upgrade the database schema to the latest version")

    check = commands.add_parser("check", help="check a claim and print the answer")
    check.add_argument("claim", nargs="*", help="the claim to check (a picture's caption)")
    check.add_argument(
        "--picture",
        type=Path,
        help="a photo or screenshot to check: a copy of a recorded picture, else its text",
    )
    check.add_argument("--json", action="store_true", help="print the answer as JSON")
    check.add_argument(
        "--view",
        choices=["summary", "accounts", "disputes", "sources"],
        default="summary",
        help="which part of the answer to print",
    )
    check.add_argument("--lang", choices=LANGUAGES, default="en", help="answer language")

    load = commands.add_parser("import", help="validate a dataset file, then import it")
    load.add_argument("file", type=Path, help="dataset JSON file")
    load.add_argument(
        "--dry-run", action="store_true", help="validate and say what would change; write nothing"
    )
    load.add_argument(
        "--restore-deleted",
        action="store_true",
        help="bring back incidents deleted here that the file holds (left deleted otherwise)",
    )
    load.add_argument(
        "--overwrite-newer",
        action="store_true",
        help="overwrite incidents edited here since the file was exported (kept otherwise)",
    )

    dump = commands.add_parser("export", help="write every incident as a dataset file")
    dump.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    dump.add_argument(
        "--format",
        choices=["dataset", "claimreview"],
        default="dataset",
        help="our dataset format, or schema.org ClaimReview JSON-LD",
    )
    save = commands.add_parser(
        "backup", help="write the whole database (incidents, sources, moderators, queue) to a file"
    )
    save.add_argument("file", type=Path, help="backup file to write")
    back = commands.add_parser("restore", help="load a backup file (validated first)")
    back.add_argument("file", type=Path, help="backup file to read")
    commands.add_parser(
        "reindex", help="rebuild the PostgreSQL match index (MATCH_INDEX=postgres) from storage"
    )
    commands.add_parser(
        "embed", help="compute and store the semantic stage's vectors of incidents lacking one"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = load_settings(env_file=args.env_file, require_token=args.command == "run")
    except ConfigError as problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    if args.command in ("import", "restore") and not args.file.is_file():
        print(f"No such file: {args.file}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "run":
        return run_bot(settings)
    handlers: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "migrate": _migrate,
        "check": _check,
        "import": _import,
        "export": _export,
        "backup": _backup,
        "restore": _restore,
        "reindex": _reindex,
        "embed": _embed,
    }
    try:
        return asyncio.run(handlers[args.command](settings, args))
    except DatabaseUrlError as problem:
        print(f"DATABASE_URL: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, SQLAlchemyError) as problem:
        print(database_problem(problem), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED


async def _with_database(
    settings: Settings, work: Callable[[Database], Awaitable[int]], *, sample: bool = True
) -> int:
    database = Database(settings.database_url)
    try:
        sample_data: SampleData = settings.sample_data if sample else "no"  # type: ignore[assignment]
        await database.prepare(sample_data=sample_data)
        return await work(database)
    finally:
        await database.close()


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    database = Database(settings.database_url)
    try:
        before = await migrate.current_revision(database.engine)
        await migrate.upgrade(database.engine)
        after = await migrate.current_revision(database.engine)
    finally:
        await database.close()
    print(f"schema: {before or 'empty'} -> {after}")
    return EXIT_OK


async def _check(settings: Settings, args: argparse.Namespace) -> int:
    claim = " ".join(args.claim)
    picture: bytes | None = None
    if args.picture is not None:
        if args.picture.stat().st_size > settings.media_max_bytes:
            print(
                f"{args.picture}: larger than MEDIA_MAX_MB ({settings.media_max_mb})",
                file=sys.stderr,
            )
            return EXIT_USAGE
        picture = args.picture.read_bytes()
    elif not claim:
        print("check: give a claim, or --picture FILE", file=sys.stderr)
        return EXIT_USAGE

    async def work(database: Database) -> int:
        checker = make_checker(settings, database)
        await checker.load()
        # A one-off check waits for vectors no bot has stored yet (the sample, right
        # after its first load); `import` stores them for what it brings.
        await checker.embed_missing()
        if picture is not None:
            reader = ocr.read_text if settings.ocr != "off" and ocr.available() else None
            sent = SentMedia((), (picture,), claim)
            answer = await checker.check_media(
                sent, read_text=reader, budget=settings.media_seconds
            )
        else:
            answer = await checker.check(claim)
        if args.json:
            data = answer.to_json()
            data["matching"] = {"semantic": checker.semantic.value}
            print(json.dumps(data, ensure_ascii=False, indent=2))
        elif answer.candidates:
            print(t(args.lang, msg.AMBIGUOUS), f"({claim})")
            labels = candidate_labels(answer.candidates, args.lang)
            for candidate, label in zip(answer.candidates, labels, strict=True):
                print(f"  {candidate.incident_key}  {label} ({candidate.score:.2f})")
        else:
            print("\n\n".join(answer_blocks(answer, args.lang, args.view, PLAIN)))
        return EXIT_OK if answer.found else EXIT_FAILED

    return await _with_database(settings, work)


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file

    def opener() -> IO[bytes]:
        return path.open("rb")

    async def work(database: Database) -> int:
        started = time.monotonic()
        report = validate(
            opener,
            await database.repository.source_keys(),
            existing_posts=await database.repository.post_owners(),
        )
        if not report.ok:
            print(report.describe(), file=sys.stderr)
            return EXIT_FAILED
        plan = await plan_import(database.repository, opener)
        if args.dry_run:
            print(report.describe())
            print(plan.describe())
            return EXIT_OK
        leave: list[str] = []
        try:
            if plan.restored and not args.restore_deleted:
                leave += plan.restored
                print(
                    f"{len(plan.restored)} incident(s) deleted here stay deleted "
                    f"(--restore-deleted brings them back): {', '.join(plan.restored[:10])}"
                )
            if plan.newer_here and not args.overwrite_newer:
                leave += plan.newer_here
                print(
                    f"{len(plan.newer_here)} incident(s) edited here since the file was exported "
                    f"are kept (--overwrite-newer replaces them): {', '.join(plan.newer_here[:10])}"
                )
            result = await import_dataset(
                database.repository,
                opener,
                Actor.cli(),
                progress=_progress_printer(),
                label=path.name,
                leave=leave,
                validated=report,
            )
        except DatasetInvalid as invalid:
            print(invalid.report.describe(), file=sys.stderr)
            return EXIT_FAILED
        print(f"\nimported {path.name} in {time.monotonic() - started:.1f}s: {result.describe()}")
        await _keep_index(settings, database)
        return EXIT_OK

    return await _with_database(settings, work, sample=False)


def _progress_printer(what: str = "incidents") -> Callable[[int, int], None]:
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1 or done == total:
            last[0] = now
            print(f"\r{done}/{total} {what}", end="", file=sys.stderr, flush=True)

    return show


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    async def work(database: Database) -> int:
        out: Any = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
        try:
            if args.format == "claimreview":
                count = await export_claim_review(database.repository, out, settings.publisher_name)
                what = "claim reviews"
            else:
                count = await export_dataset(database.repository, out)
                what = "incidents"
        finally:
            if args.output:
                out.close()
        print(f"wrote {count} {what}", file=sys.stderr)
        return EXIT_OK

    return await _with_database(settings, work)


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    async def work(database: Database) -> int:
        path: Path = args.file
        temporary = path.with_name(path.name + ".partial")
        # Written aside and renamed, so a failed backup never replaces a good one.
        with temporary.open("w", encoding="utf-8") as out:
            count = await backup(database, out)
        temporary.replace(path)
        print(f"backed up {count} incidents to {path}", file=sys.stderr)
        return EXIT_OK

    return await _with_database(settings, work, sample=False)


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file

    async def work(database: Database) -> int:
        try:
            result = await restore(database, lambda: path.open("rb"), Actor.cli())
        except DatasetInvalid as invalid:
            print(invalid.report.describe(), file=sys.stderr)
            return EXIT_FAILED
        print(f"restored {path.name}: {result.describe()}")
        await _keep_index(settings, database)
        return EXIT_OK

    return await _with_database(settings, work, sample=False)


async def _reindex(settings: Settings, args: argparse.Namespace) -> int:
    if settings.match_index != "postgres":
        print("MATCH_INDEX=memory: the index is built in memory at start; nothing to rebuild")
        return EXIT_OK

    async def work(database: Database) -> int:
        started = time.monotonic()
        count = await make_checker(settings, database).reindex()
        print(f"match index rebuilt: {count} incidents in {time.monotonic() - started:.1f}s")
        return EXIT_OK

    return await _with_database(settings, work, sample=False)


async def _keep_index(settings: Settings, database: Database) -> None:
    """A bulk write from the command line rebuilds the PostgreSQL index at once, and stores
    the vectors of the semantic stage for what it wrote, so both are current even when no
    bot is running to pick the changes up."""
    checker = make_checker(settings, database)
    if settings.match_index == "postgres":
        count = await checker.reindex()
        print(f"match index rebuilt: {count} incidents")
        return
    if checker.semantic_on:
        print(
            "semantic stage: a running bot computes the vectors of new and changed "
            "incidents in the background; to store them now: factcheck-bot embed"
        )


async def _embed(settings: Settings, args: argparse.Namespace) -> int:
    async def work(database: Database) -> int:
        checker = make_checker(settings, database)
        if not checker.semantic_on:
            print(f"semantic stage is off: {unavailable_reason() or 'SEMANTIC_MATCHING=off'}")
            return EXIT_FAILED
        await checker.load()
        started = time.monotonic()
        done = await checker.embed_missing(progress=_progress_printer("incident vectors"))
        took = time.monotonic() - started
        print(f"\nsemantic stage: {done} incident vectors computed and stored in {took:.1f}s")
        return EXIT_OK

    return await _with_database(settings, work)


if __name__ == "__main__":
    sys.exit(main())
