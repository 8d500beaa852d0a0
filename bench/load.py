"""Many simulated users against the real bot, end to end over HTTP.

    python bench/load.py [--users 1000] [--messages 20000] [--incidents 10000]
                         [--mode polling|webhook] [--rate 600] [--database sqlite|postgres]
                         [--semantic] [--hot-group RATE]

The bot runs as its own process (`factcheck-bot run`), exactly as deployed, on an SQLite
database (or a fresh PostgreSQL one) holding the reference case plus synthetic incidents.
This process runs the Bot API double and plays the users: private checks, group /check,
inline queries and button presses, sent at `--rate` updates a second. It measures, per
update, the time from handing the update to the bot until its answer reaches the double.

The double and the users share this process and its one core's worth of Python. As the
baseline, the same users first drive an echo bot (bench/echo_bot.py: answers at once, no
matching, no database, no PTB) at the same rate: its p99 is what the double, the users and
HTTP cost by themselves, and `p99_to_echo` says how much the real bot adds to that.
Last line: key=value pairs including checks_per_s, p99_ms, unanswered and duplicated; with
--hot-group RATE, the private chats' p99 without and with the flood and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db.database import Database  # noqa: E402
from db.datasets import import_dataset  # noqa: E402
from db.repository import Actor  # noqa: E402
from domain.checker import ClaimChecker  # noqa: E402
from domain.dataset import SAMPLE_PATH  # noqa: E402
from domain.matching import load_embedder  # noqa: E402
from tests.double import BotApiDouble  # noqa: E402
from tests.helpers.databases import create_database, drop_database  # noqa: E402
from tests.helpers.running_bot import bot_environment  # noqa: E402

CLAIMS = [
    "Did rebels kill 40 Syrian soldiers in Idlib?",
    "Syrian army retreats after Idlib attack",
    "Правда ли, что в Идлибе погибли 40 сирийских военных?",
    "SOHR says 400 air strikes hit Idlib since Wednesday",
]
WORDS = [
    "bridge",
    "dam",
    "convoy",
    "market",
    "hospital",
    "school",
    "border",
    "port",
    "airfield",
    "depot",
    "checkpoint",
    "village",
    "station",
    "refinery",
    "stadium",
    "tunnel",
    "ferry",
    "clinic",
    "barracks",
    "warehouse",
]
PLACES = [
    "Riverton",
    "Lakeside",
    "Northgate",
    "Eastwood",
    "Hillcrest",
    "Brookfield",
    "Westmere",
    "Ashford",
    "Kingsbury",
    "Redcliff",
    "Stonebridge",
    "Millbrook",
    "Fairhaven",
    "Oakridge",
    "Pinecrest",
    "Marlow",
]


def synthetic_dataset(count: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    sample = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    incidents = list(sample["incidents"])
    for n in range(count):
        word, place = rng.choice(WORDS), rng.choice(PLACES)
        incidents.append(
            {
                "id": f"load-{n}",
                "title": f"Reported attack on a {word} in {place} number {n}",
                "summary": f"Sources disagree about damage to the {word} in {place}; case {n}.",
                "place": {"name": f"{place}-{n % 500}"},
                "points": [{"id": "hit", "text": f"The {word} in {place} was hit ({n})"}],
            }
        )
    sample["incidents"] = incidents
    return json.dumps(sample).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Pending:
    kind: str
    sent: float
    key: tuple[Any, ...]


@dataclass
class Tally:
    pending: dict[tuple[Any, ...], Pending] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    answers: Counter[tuple[Any, ...]] = field(default_factory=Counter)
    last_answer: float = 0.0


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Users:
    """The simulated users and the chats they write in."""

    everyone: list[Any]
    private: dict[int, Any]
    groups: list[Any]
    hot: Any = None
    """The group `--hot-group` floods (none of the measured traffic goes there)."""


@dataclass
class Figures:
    sent: int
    answered: int
    unanswered: int
    duplicated: int
    seconds: float
    latencies: dict[str, list[float]]
    missing: Counter[str]

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds

    def p(self, share: float) -> float:
        return percentile([v for vs in self.latencies.values() for v in vs], share) * 1000

    def private_p(self, share: float) -> float:
        return percentile(self.latencies.get("private", [0.0]), share) * 1000


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="factcheck-load-"))
    database_name = None
    if args.database == "postgres":
        database_name, database_url = await create_database("factcheck_load")
    else:
        database_url = f"sqlite:///{folder}/load.db"
    try:
        await _run(args, folder, database_url)
    finally:
        if database_name is not None:
            await drop_database(database_name)


async def _run(args: argparse.Namespace, folder: Path, database_url: str) -> None:
    database = Database(database_url)
    await database.prepare(sample_data="no")
    data = synthetic_dataset(args.incidents)
    started = time.perf_counter()
    await import_dataset(database.repository, lambda: io.BytesIO(data), Actor.cli())
    print(f"loaded {args.incidents + 1} incidents in {time.perf_counter() - started:.1f}s")
    embed_ms = 0.0
    if args.semantic:
        # Stored before the run, as `factcheck-bot embed` or a bot's background work would
        # have: the run measures answering, not the one-off cost of embedding a collection.
        checker = ClaimChecker(
            database.repository, embedder=load_embedder(), vectors=database.vectors
        )
        await checker.load()
        started = time.perf_counter()
        done = await checker.embed_missing()
        embed_ms = 1000 * (time.perf_counter() - started) / max(done, 1)
        print(f"semantic stage: {done} incident vectors in {embed_ms * done / 1000:.1f}s")
    await database.close()

    # As Telegram does: up to 40 webhook posts at once (its default max_connections).
    double = BotApiDouble(webhook_connections=40)
    await double.start()
    everyone = [double.add_user(10_000 + n, f"U{n}") for n in range(args.users)]
    users = Users(
        everyone,
        {u.id: double.add_private_chat(u) for u in everyone},
        # Telegram allows 20 messages a minute per group; many groups keep that realistic.
        [
            double.add_group(-100_900_000 - n, f"G{n}", supergroup=True)
            for n in range(max(20, args.users // 5))
        ],
    )
    environment = bot_environment(
        double,
        folder,
        DATABASE_URL=database_url,
        SAMPLE_DATA="no",
        CHECKS_PER_MINUTE="100000",
        LOG_LEVEL="WARNING",
        # The double has no broadcast limit; Telegram's 30 a second would cap the figure.
        MAX_MESSAGES_PER_SECOND="0",
        MAX_CONCURRENT_UPDATES=str(args.concurrency),
        SEMANTIC_MATCHING="auto" if args.semantic else "off",
    )
    if args.mode == "webhook":
        port = free_port()
        environment.update(
            WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
            WEBHOOK_SECRET="load-test-secret-0123456789-abcdefghij",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
    try:
        baseline = None
        if args.baseline_messages:
            echo = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
            baseline, _ = await measure(
                double, users, args, echo, environment, folder / "echo.log", args.baseline_messages
            )
            report("echo baseline", baseline, None)
        bot = [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "run"]
        figures, errors = await measure(
            double, users, args, bot, environment, folder / "bot.log", args.messages
        )
        if args.hot_group:
            users.hot = double.add_group(-100_800_000, "Hot", supergroup=True)
            flooded, _ = await measure(
                double,
                users,
                args,
                bot,
                environment,
                folder / "flooded.log",
                args.messages,
                args.hot_group,
            )
            report(f"the same, with {args.hot_group:g} updates/s into one group", flooded, None)
            calm, hot = figures.private_p(0.99), flooded.private_p(0.99)
            print(
                f"private_p99_ms={calm:.1f} private_p99_flooded_ms={hot:.1f} "
                f"flood_ratio={hot / max(calm, 1e-9):.2f} flood_per_s={args.hot_group:g}"
            )
            return
    finally:
        await double.stop()
    # Counted for children that have exited, so only now.
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report(f"mode={args.mode} database={args.database} users={args.users}", figures, rss)
    line = (
        f"checks_per_s={figures.throughput:.0f} p50_ms={figures.p(0.5):.1f} "
        f"p99_ms={figures.p(0.99):.1f} unanswered={figures.unanswered} "
        f"duplicated={figures.duplicated} errors={errors} peak_rss_mb={rss:.0f} "
        f"offered_rate={args.rate} throughput_to_offered={figures.throughput / args.rate:.2f}"
        f" semantic={'on' if args.semantic else 'off'}"
    )
    if args.semantic:
        line += f" embed_ms_per_incident={embed_ms:.1f}"
    if baseline is not None:
        line += (
            f" echo_p99_ms={baseline.p(0.99):.1f}"
            f" p99_to_echo={figures.p(0.99) / max(baseline.p(0.99), 1e-9):.1f}"
        )
    print(line)


async def measure(
    double: BotApiDouble,
    users: Users,
    args: argparse.Namespace,
    command: list[str],
    environment: dict[str, str],
    log_path: Path,
    messages: int,
    flood: float = 0.0,
) -> tuple[Figures, int]:
    """Start the bot, warm it up, drive `messages` updates through it, stop it."""
    double.clear_calls()
    double._load_seen = 0  # type: ignore[attr-defined]
    before = len(double.calls("getMe"))
    process = start(command, environment, log_path)
    try:
        ready = ("setWebhook",) if args.mode == "webhook" else ("getUpdates",)
        await double.wait_for(
            lambda: (
                (len(double.calls("getMe")) > before and any(double.calls(m) for m in ready))
                or process.poll() is not None
            ),
            timeout=120,
        )
        if process.poll() is not None:
            raise SystemExit(f"{command} exited:\n{_log(log_path)}")
        # Warm up: one of each, so start-up costs are not measured.
        warm = users.everyone[0]
        double.user_sends(warm, users.private[warm.id], CLAIMS[0])
        await double.wait_for_messages(users.private[warm.id], 1, timeout=30)
        await double.wait_until_idle(timeout=30)
        double.clear_calls()
        double._load_seen = 0  # type: ignore[attr-defined]
        figures = await drive(double, users, args, messages, flood)
        errors = _errors(log_path)  # before shutdown, whose own noise is not the load's
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
    return figures, errors


async def drive(
    double: BotApiDouble,
    users: Users,
    args: argparse.Namespace,
    messages: int,
    flood: float = 0.0,
) -> Figures:
    """Send `messages` updates at the offered rate; wait for the answers; count them.

    With `flood`, that many more updates a second go to one group (`users.hot`), on top
    of the measured traffic and not measured themselves: Telegram lets the bot answer a
    group 20 times a minute, so they pile up as one busy group's backlog.
    """
    flood_every = max(1, round(args.rate / flood)) if flood else 0
    rng = random.Random(11)
    # This process plays Telegram and the users, and keeps every message it was sent:
    # its own full collections paused it for up to 170 ms at a time, which would be
    # counted as the bot's latency. So it does not collect while it measures.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        tally = Tally()
        last_reply: dict[int, Any] = {}
        private = users.private
        interval = 1.0 / args.rate
        first_sent = time.time()
        started = time.perf_counter()
        for n in range(messages):
            user = rng.choice(users.everyone)
            roll = rng.random()
            claim = (
                rng.choice(CLAIMS)
                if rng.random() < 0.5
                else (f"{rng.choice(WORDS)} in {rng.choice(PLACES)} hit?")
            )
            now = time.time()
            key: tuple[Any, ...]
            if roll < 0.6:
                update = double.user_sends(user, private[user.id], claim)
                message = update["message"]
                key = ("reply", message["chat"]["id"], message["message_id"])
                tally.pending[key] = Pending("private", now, key)
            elif roll < 0.75:
                group = rng.choice(users.groups)
                update = double.user_sends(user, group, f"/check {claim}")
                message = update["message"]
                key = ("reply", message["chat"]["id"], message["message_id"])
                tally.pending[key] = Pending("group", now, key)
            elif roll < 0.9:
                update = double.user_inline_query(user, claim)
                key = ("inline", update["inline_query"]["id"])
                tally.pending[key] = Pending("inline", now, key)
            else:
                target = last_reply.get(user.id)
                buttons = _buttons(target)
                if not buttons:
                    update = double.user_sends(user, private[user.id], claim)
                    message = update["message"]
                    key = ("reply", message["chat"]["id"], message["message_id"])
                    tally.pending[key] = Pending("private", now, key)
                else:
                    assert target is not None  # it has buttons
                    update = double.user_presses(user, target, rng.choice(buttons))
                    key = ("callback", update["callback_query"]["id"])
                    tally.pending[key] = Pending("button", now, key)
            if flood_every and n % flood_every == 0:
                double.user_sends(user, users.hot, f"/check rumour number {n} about a bridge")
            if n % 200 == 0:
                _collect(double, tally, last_reply, private)
            behind = started + (n + 1) * interval - time.perf_counter()
            await asyncio.sleep(max(0.0, behind))
        deadline = time.perf_counter() + args.drain
        while time.perf_counter() < deadline:
            _collect(double, tally, last_reply, private)
            if all(key in tally.answers for key in tally.pending):
                break
            await asyncio.sleep(0.1)
        await double.wait_until_idle(quiet=1.0, timeout=60)
        _collect(double, tally, last_reply, private)
    finally:
        gc.enable()
    answered = [key for key in tally.pending if tally.answers[key] >= 1]
    return Figures(
        sent=len(tally.pending),
        answered=len(answered),
        unanswered=len(tally.pending) - len(answered),
        duplicated=sum(1 for key in tally.pending if tally.answers[key] > 1),
        seconds=max(tally.last_answer - first_sent, 1e-6),
        latencies=tally.latencies,
        missing=Counter(p.kind for key, p in tally.pending.items() if not tally.answers[key]),
    )


def report(title: str, figures: Figures, rss: float | None) -> None:
    print(f"{title}: updates={figures.sent} in {figures.seconds:.1f}s")
    for kind, values in sorted(figures.latencies.items()):
        print(
            f"  {kind:8s} n={len(values):6d} p50={percentile(values, 0.5) * 1000:7.1f} ms "
            f"p99={percentile(values, 0.99) * 1000:7.1f} ms"
        )
    missing = dict(figures.missing) if figures.missing else ""
    memory = f" peak RSS={rss:.0f} MB" if rss is not None else ""
    print(
        f"  {figures.throughput:.0f} answered/s, p99 {figures.p(0.99):.1f} ms, "
        f"unanswered={figures.unanswered} {missing} duplicated={figures.duplicated}{memory}"
    )


def start(
    command: list[str], environment: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """The bot as its own process, as it is deployed."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
    )


def _log(log_path: Path) -> str:
    return log_path.read_text(errors="replace")


def _buttons(message: Any) -> list[str]:
    if message is None or not message.reply_markup:
        return []
    return [
        b["callback_data"]
        for row in message.reply_markup.get("inline_keyboard", [])
        for b in row
        if b.get("callback_data", "").startswith(("v:", "f:"))
    ]


def _collect(
    double: BotApiDouble, tally: Tally, last_reply: dict[int, Any], private: dict[int, Any]
) -> None:
    """Match the double's recorded answers to the updates that caused them."""
    seen = getattr(double, "_load_seen", 0)
    calls = double.calls()
    for call in calls[seen:]:
        if call.status is None and not call.dropped and call.method != "getUpdates":
            # Still being answered: look again next time rather than lose it. (A waiting
            # long poll answers no user and would hold everything up.)
            break
        seen += 1
        if call.status != 200:
            continue
        params = call.params
        key: tuple[Any, ...] | None = None
        if call.method == "sendMessage":
            reply = params.get("reply_parameters") or {}
            if isinstance(reply, dict) and reply.get("message_id"):
                key = ("reply", int(params["chat_id"]), int(reply["message_id"]))
            result = (call.response or {}).get("result") or {}
            chat_id = int(params["chat_id"])
            if chat_id in private and result.get("message_id") and params.get("reply_markup"):
                last_reply[chat_id] = double.message(chat_id, int(result["message_id"]))
        elif call.method == "answerInlineQuery":
            key = ("inline", str(params["inline_query_id"]))
        elif call.method == "answerCallbackQuery":
            key = ("callback", str(params["callback_query_id"]))
        if key is None or key not in tally.pending:
            continue
        tally.answers[key] += 1
        if tally.answers[key] == 1:
            pending = tally.pending[key]
            tally.latencies.setdefault(pending.kind, []).append(max(0.0, call.time - pending.sent))
            tally.last_answer = max(tally.last_answer, call.time)
    double._load_seen = seen  # type: ignore[attr-defined]


def _errors(log_path: Path) -> int:
    return sum(1 for line in log_path.read_text(errors="replace").splitlines() if "ERROR" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: a fresh database on the server TEST_POSTGRES_URL names, dropped after",
    )
    parser.add_argument("--rate", type=float, default=500, help="updates offered per second")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--hot-group",
        type=float,
        default=0.0,
        metavar="RATE",
        help="run again with RATE more updates/s flooding one group; compare private p99",
    )
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="with the semantic stage (vectors stored before the run); without, words only",
    )
    parser.add_argument("--drain", type=float, default=60, help="seconds to wait for stragglers")
    parser.add_argument(
        "--baseline-messages",
        type=int,
        default=5000,
        help="updates for the echo-bot baseline run first (bench/echo_bot.py); 0 skips it",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
