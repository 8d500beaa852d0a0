"""`factcheck-bot run` when Telegram cannot be reached: one clear line and a failing exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_with_telegram_unreachable_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    token = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"
    port = closed_port()  # released again: nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "run"],
        cwd=ROOT,
        env={
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Cannot reach the Bot API at TELEGRAM_API_BASE_URL" in result.stderr
    assert "Unclosed client session" not in result.stderr
    assert "Unclosed connector" not in result.stderr
    assert "Traceback" not in result.stderr
    assert token not in result.stderr + result.stdout
