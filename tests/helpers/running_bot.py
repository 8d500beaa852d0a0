"""The real bot, built exactly as `factcheck-bot run` builds it, talking to the Bot API double."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.app import build, serve_polling, serve_webhook
from bot.config import Settings, load_settings
from bot.services import Services
from tests.double import BotApiDouble, Chat, Message, User

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningBot:
    double: BotApiDouble
    application: Application  # type: ignore[type-arg]
    services: Services
    settings: Settings


def bot_environment(double: BotApiDouble, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The settings of a bot talking to the double, on an SQLite file in `tmp_path`."""
    environment = {
        "TELEGRAM_BOT_TOKEN": double.token,
        "TELEGRAM_API_BASE_URL": double.base_url,
        "TELEGRAM_FILE_BASE_URL": double.base_file_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "SAMPLE_DATA": "yes",
        "CHECKS_PER_MINUTE": "1000",
    }
    environment.update(overrides)
    return environment


def bot_settings(double: BotApiDouble, tmp_path: Path, **overrides: str) -> Settings:
    return load_settings(bot_environment(double, tmp_path, **overrides), env_file=None)


def start_bot_process(environment: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`factcheck-bot run` as its own process, as it is deployed, with these settings
    over this process's environment; what it logs goes to `log_path`."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--env-file", "/nonexistent", "run"],
        cwd=ROOT,
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("wb"),
    )


WEBHOOK_PATH = "telegram"


@asynccontextmanager
async def running_bot(
    double: BotApiDouble,
    tmp_path: Path,
    *,
    webhook_port: int | None = None,
    environment: Mapping[str, str] | None = None,
    **overrides: str,
) -> AsyncIterator[RunningBot]:
    """Start the bot as `run_polling` (or, given a port, `run_webhook`) would; stop it after.

    In webhook mode the double posts updates to the bot's webhook server on 127.0.0.1; the
    address is plain http because the TLS end of a real deployment is a reverse proxy.
    `environment` and `overrides` are settings over the defaults of `bot_environment`.
    """
    overrides = {**(environment or {}), **overrides}
    if webhook_port is not None:
        overrides.setdefault("WEBHOOK_URL", f"http://127.0.0.1:{webhook_port}/{WEBHOOK_PATH}")
        overrides.setdefault("WEBHOOK_SECRET", "test-secret-0123456789-abcdefghijklmnop")
        overrides.setdefault("WEBHOOK_LISTEN", "127.0.0.1")
        overrides.setdefault("WEBHOOK_PORT", str(webhook_port))
        settings = bot_settings(double, tmp_path, **overrides)
        application, svc = build(settings)
        stop = asyncio.Event()
        serving = asyncio.create_task(serve_webhook(application, svc, settings, stop))
        await double.wait_for(lambda: double.calls("setWebhook"), what="setWebhook")
        try:
            yield RunningBot(double, application, svc, settings)
        finally:
            stop.set()
            await serving
        return
    settings = bot_settings(double, tmp_path, **overrides)
    application, svc = build(settings)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve_polling(application, svc, stop, long_poll=1))
    await double.wait_for(
        lambda: double.calls("getUpdates") or (serving.done() and serving.result()),
        what="the first getUpdates",
    )
    try:
        yield RunningBot(double, application, svc, settings)
    finally:
        stop.set()
        await serving


def plain_texts(messages: list[Any]) -> list[str]:
    return [m.plain or "" for m in messages]


def keyboard_data(message: object) -> dict[str, str]:
    """Button label -> callback data of a recorded bot message."""
    markup: dict[str, Any] = getattr(message, "reply_markup", None) or {}
    return {
        b["text"]: b.get("callback_data", "")
        for row in markup.get("inline_keyboard", [])
        for b in row
    }


class Moderator:
    """Drives a private chat the way a person does, counting what they send."""

    def __init__(self, double: BotApiDouble, user: User, chat: Chat) -> None:
        self.double, self.user, self.chat = double, user, chat
        self.sent = 0

    async def send(self, text: str) -> Message:
        seen = len(self.double.messages_to(self.chat))
        self.double.user_sends(self.user, self.chat, text)
        self.sent += 1
        return (await self.double.wait_for_messages(self.chat, seen + 1))[-1]

    async def press(self, label: str, message: Message | None = None) -> Message:
        message = message or self.double.messages_to(self.chat)[-1]
        seen = len(self.double.messages_to(self.chat))
        buttons = {
            b["text"]: b["callback_data"]
            for row in (message.reply_markup or {}).get("inline_keyboard", [])
            for b in row
        }
        assert label in buttons, f"no button {label!r} in {list(buttons)}"
        self.double.user_presses(self.user, message, buttons[label])
        self.sent += 1
        return (await self.double.wait_for_messages(self.chat, seen + 1))[-1]


def serving_web(port: int, **overrides: str) -> dict[str, str]:
    """Settings for a bot whose web server (public pages, the desk) listens on 127.0.0.1."""
    return {
        "WEB_BASE_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        **overrides,
    }
