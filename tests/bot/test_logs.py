"""Logs carry what operators need and never the bot token or the webhook secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging

TOKEN = "123456789:AAH-secret-token-value-0123456789"
SECRET = "webhook-secret-value"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_token_and_secret_are_scrubbed_everywhere(
    fmt: str, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    setup_logging("DEBUG", fmt, TOKEN, SECRET)
    log = logging.getLogger("bot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    log.warning("secret was %s", SECRET)
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        log.exception("update failed")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/x", TOKEN)
    output = capsys.readouterr().err
    assert TOKEN not in output and SECRET not in output
    assert output.count("<redacted>") >= 3
    assert "RuntimeError" in output  # the trace is kept, only the secret is cut out
    if fmt == "json":
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        assert {line["level"] for line in lines} == {"INFO", "WARNING", "ERROR"}
        assert any("exception" in line for line in lines)
