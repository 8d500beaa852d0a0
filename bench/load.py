"""Many simulated users against the real bot, end to end over HTTP.

    python bench/load.py [--users 1000] [--messages 20000] [--incidents 10000]
                         [--mode polling|webhook] [--rate 600]

The bot runs as its own process (`factcheck-bot run`), exactly as deployed, on an SQLite
database holding the reference case plus synthetic incidents. This process runs the Bot
API double and plays the users: private checks, group /check, inline queries and button
presses, sent at `--rate` updates a second. It measures, per update, the time from handing
the update to the bot until the bot's answer reaches the double.

The double and the users share this process and its one core's worth of Python; a
double-only echo baseline (no bot work in between) is not measured yet.
Last line: key=value pairs including checks_per_s, p99_ms, unanswered and duplicated.
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
from domain.dataset import SAMPLE_PATH  # noqa: E402
from tests.double import BotApiDouble  # noqa: E402

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


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(11)
    folder = Path(tempfile.mkdtemp(prefix="factcheck-load-"))
    database = Database(f"sqlite:///{folder}/load.db")
    await database.prepare(sample_data="no")
    data = synthetic_dataset(args.incidents)
    started = time.perf_counter()
    await import_dataset(database.repository, lambda: io.BytesIO(data), Actor.cli())
    await database.close()
    print(f"loaded {args.incidents + 1} incidents in {time.perf_counter() - started:.1f}s")

    # As Telegram does: up to 40 webhook posts at once (its default max_connections).
    double = BotApiDouble(webhook_connections=40)
    await double.start()
    users = [double.add_user(10_000 + n, f"U{n}") for n in range(args.users)]
    private = {u.id: double.add_private_chat(u) for u in users}
    # Telegram allows 20 messages a minute per group; many groups keep that limit realistic.
    groups = [
        double.add_group(-100_900_000 - n, f"G{n}", supergroup=True)
        for n in range(max(20, args.users // 5))
    ]
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": double.token,
        "TELEGRAM_API_BASE_URL": double.base_url,
        "TELEGRAM_FILE_BASE_URL": double.base_file_url,
        "DATABASE_URL": f"sqlite:///{folder}/load.db",
        "SAMPLE_DATA": "no",
        "CHECKS_PER_MINUTE": "100000",
        "LOG_LEVEL": "WARNING",
        # The double has no broadcast limit; Telegram's 30 a second would cap the figure.
        "MAX_MESSAGES_PER_SECOND": "0",
        "MAX_CONCURRENT_UPDATES": str(args.concurrency),
    }
    if args.mode == "webhook":
        port = free_port()
        environment.update(
            WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
            WEBHOOK_SECRET="load-test-secret",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
    log_path = folder / "bot.log"
    bot = start_bot(environment, log_path)
    try:
        await double.wait_for(
            lambda: double.calls("setMyCommands") or bot.poll() is not None, timeout=120
        )
        if bot.poll() is not None:
            raise SystemExit(f"the bot exited:\n{log_path.read_text()}")
        # Warm up: one of each, so start-up costs are not measured.
        warm = users[0]
        double.user_sends(warm, private[warm.id], CLAIMS[0])
        await double.wait_for_messages(private[warm.id], 1, timeout=30)
        await double.wait_until_idle(timeout=30)
        double.clear_calls()

        # This process plays Telegram and the users, and keeps every message it was sent:
        # its own full collections paused it for up to 170 ms at a time, which would be
        # counted as the bot's latency. So it does not collect while it measures.
        gc.collect()
        gc.freeze()
        gc.disable()
        tally = Tally()
        last_reply: dict[int, Any] = {}
        interval = 1.0 / args.rate
        first_sent = time.time()
        started = time.perf_counter()
        for n in range(args.messages):
            user = rng.choice(users)
            roll = rng.random()
            claim = (
                rng.choice(CLAIMS)
                if rng.random() < 0.5
                else (f"{rng.choice(WORDS)} in {rng.choice(PLACES)} hit?")
            )
            now = time.time()
            if roll < 0.6:
                update = double.user_sends(user, private[user.id], claim)
                message = update["message"]
                key = ("reply", message["chat"]["id"], message["message_id"])
                tally.pending[key] = Pending("private", now, key)
            elif roll < 0.75:
                group = rng.choice(groups)
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
                    update = double.user_presses(user, target, rng.choice(buttons))
                    key = ("callback", update["callback_query"]["id"])
                    tally.pending[key] = Pending("button", now, key)
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
        gc.enable()
        total_s = max(tally.last_answer - first_sent, 1e-6)
        errors = _errors(log_path)  # before shutdown, whose own noise is not the load's
    finally:
        bot.terminate()
        try:
            await asyncio.to_thread(bot.wait, 30)
        except subprocess.TimeoutExpired:
            bot.kill()
        await double.stop()
    # Counted for children that have exited, so only now.
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    answered = [key for key in tally.pending if tally.answers[key] >= 1]
    unanswered = len(tally.pending) - len(answered)
    duplicated = sum(1 for key in tally.pending if tally.answers[key] > 1)
    all_latencies = [v for values in tally.latencies.values() for v in values]
    throughput = len(answered) / total_s
    print(f"mode={args.mode} users={args.users} updates={len(tally.pending)} in {total_s:.1f}s")
    for kind, values in sorted(tally.latencies.items()):
        print(
            f"  {kind:8s} n={len(values):6d} p50={percentile(values, 0.5) * 1000:7.1f} ms "
            f"p99={percentile(values, 0.99) * 1000:7.1f} ms"
        )
    missing = Counter(p.kind for key, p in tally.pending.items() if not tally.answers[key])
    print(
        f"  unanswered={unanswered} {dict(missing) if missing else ''} "
        f"duplicated={duplicated} bot peak RSS={rss:.0f} MB"
    )
    print(
        f"checks_per_s={throughput:.0f} p50_ms={percentile(all_latencies, 0.5) * 1000:.1f} "
        f"p99_ms={percentile(all_latencies, 0.99) * 1000:.1f} unanswered={unanswered} "
        f"duplicated={duplicated} errors={errors} peak_rss_mb={rss:.0f} "
        f"offered_rate={args.rate} throughput_to_offered={throughput / args.rate:.2f}"
    )


def start_bot(environment: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`factcheck-bot run` as its own process, as it is deployed."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "run"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
    )


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
    parser.add_argument("--rate", type=float, default=600, help="updates offered per second")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--drain", type=float, default=60, help="seconds to wait for stragglers")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
