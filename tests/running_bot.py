"""The real bot, built exactly as `factcheck-bot run` builds it, talking to the Bot API double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings, load_settings
from bot.services import Services
from tests.double import BotApiDouble


@dataclass
class RunningBot:
    double: BotApiDouble
    application: Application  # type: ignore[type-arg]
    services: Services
    settings: Settings


def bot_settings(double: BotApiDouble, tmp_path: Path, **overrides: str) -> Settings:
    environment = {
        "TELEGRAM_BOT_TOKEN": double.token,
        "TELEGRAM_API_BASE_URL": double.base_url,
        "TELEGRAM_FILE_BASE_URL": double.base_file_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "SAMPLE_DATA": "yes",
        "CHECKS_PER_MINUTE": "1000",
    }
    environment.update(overrides)
    return load_settings(environment, env_file=None)


WEBHOOK_PATH = "telegram"


@asynccontextmanager
async def running_bot(
    double: BotApiDouble,
    tmp_path: Path,
    *,
    polling: bool = True,
    webhook_port: int | None = None,
    **overrides: str,
) -> AsyncIterator[RunningBot]:
    """Start the bot as `run_polling` (or, given a port, `run_webhook`) would; stop it after.

    In webhook mode the double posts updates to the bot's webhook server on 127.0.0.1; the
    address is plain http because the TLS end of a real deployment is a reverse proxy.
    """
    if webhook_port is not None:
        polling = False
        overrides.setdefault("WEBHOOK_URL", f"https://bot.example.org/{WEBHOOK_PATH}")
        overrides.setdefault("WEBHOOK_SECRET", "test-secret-123")
    settings = bot_settings(double, tmp_path, **overrides)
    svc = Services.create(settings)
    application = build_application(settings, svc)
    async with application:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        assert application.updater is not None
        if polling:
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
        elif webhook_port is not None:
            await application.updater.start_webhook(
                listen="127.0.0.1",
                port=webhook_port,
                url_path=WEBHOOK_PATH,
                webhook_url=f"http://127.0.0.1:{webhook_port}/{WEBHOOK_PATH}",
                secret_token=settings.webhook_secret,
            )
        try:
            yield RunningBot(double, application, svc, settings)
        finally:
            if application.updater.running:
                await application.updater.stop()
            await application.stop()
            assert application.post_shutdown is not None
            await application.post_shutdown(application)


def plain_texts(messages: list[Any]) -> list[str]:
    return [m.plain or "" for m in messages]
