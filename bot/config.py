"""Settings, read once from the environment (and `.env`) and validated together.

Every problem is reported at once, each with the variable's name and what is expected,
so a bad deployment fails with a readable list instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from dotenv import dotenv_values

from bot.i18n import LANGUAGES
from db.engine import DEFAULT_DATABASE_URL, DatabaseUrlError, async_url, is_sqlite

TELEGRAM_API_DEFAULT = "https://api.telegram.org/bot"
_TOKEN_SHAPE = re.compile(r"^\d{3,12}:[A-Za-z0-9_-]{20,}$")
# Telegram allows 1-256 of these characters; a guessable secret lets anyone who finds the
# webhook address post updates as if they were Telegram, so 32 (192 random bits in
# base64) is the least accepted.
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,256}$")

T = TypeVar("T")


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def __str__(self) -> str:
        lines = ["The configuration has problems:"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        lines.append("See .env.example for every setting and its default.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    telegram_bot_token: str = field(default="", repr=False)
    telegram_api_base_url: str = TELEGRAM_API_DEFAULT
    telegram_file_base_url: str = ""
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    metrics_token: str = field(default="", repr=False)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    admin_ids: frozenset[int] = frozenset()
    sample_data: str = "auto"
    default_language: str = "en"
    checks_per_minute: int = 20
    max_concurrent_updates: int = 64
    max_messages_per_second: int = 30
    sync_interval: float = 0.5
    telegram_timeout: float = 20.0
    log_level: str = "INFO"
    log_format: str = "text"
    publisher_name: str = "factcheck-bot"
    match_index: str = "memory"
    semantic_matching: str = "auto"
    unmatched_retention_days: int = 180
    web_base_url: str = ""
    init_data_max_age: int = 3600
    media_max_mb: int = 10
    media_seconds: float = 10.0
    ocr: str = "auto"

    @property
    def media_max_bytes(self) -> int:
        return self.media_max_mb * 1024 * 1024

    @property
    def webhook_mode(self) -> bool:
        return bool(self.webhook_url)

    def file_base_url(self) -> str:
        if self.telegram_file_base_url:
            return self.telegram_file_base_url
        # Telegram serves files from /file/bot<token>/… next to /bot<token>/….
        base = self.telegram_api_base_url
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base


def _read_environment(env_file: Path | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    # The real environment wins over .env, as deployments expect.
    values.update(os.environ)
    return values


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: Path | None = Path(".env"),
    require_token: bool = True,
) -> Settings:
    env = dict(environ) if environ is not None else _read_environment(env_file)
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    def parse(name: str, default: T, convert: Callable[[str], T], expected: str) -> T:
        raw = get(name)
        if not raw:
            return default
        try:
            return convert(raw)
        except (ValueError, DatabaseUrlError) as exc:
            detail = f" ({exc})" if str(exc) else ""
            # A malformed URL is still a secret's carrier: its password never goes out.
            problems.append(without_passwords(f"{name}: expected {expected}, got {raw!r}{detail}"))
            return default

    token = get("TELEGRAM_BOT_TOKEN")
    if not token and require_token:
        problems.append(
            "TELEGRAM_BOT_TOKEN: missing; ask @BotFather for a token and put it in .env"
        )
    elif token and not _TOKEN_SHAPE.match(token):
        # Never echo the value: it is a secret even when malformed.
        problems.append("TELEGRAM_BOT_TOKEN: does not look like a bot token (digits:letters)")

    database_url = parse(
        "DATABASE_URL", DEFAULT_DATABASE_URL, _check_database_url, "a database URL"
    )
    api_base = parse("TELEGRAM_API_BASE_URL", TELEGRAM_API_DEFAULT, _http_url, "an http(s) URL")
    file_base = parse("TELEGRAM_FILE_BASE_URL", "", _http_url, "an http(s) URL")
    webhook_url = parse("WEBHOOK_URL", "", _https_url, "an https:// URL Telegram can reach")
    secret = get("WEBHOOK_SECRET")
    if secret and not _SECRET_SHAPE.match(secret):
        problems.append(
            "WEBHOOK_SECRET: use 32-256 characters from A-Z, a-z, 0-9, _ and - "
            "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if get("WEBHOOK_URL") and not secret:
        problems.append("WEBHOOK_SECRET: required when WEBHOOK_URL is set")
    metrics_token = get("METRICS_TOKEN")
    if metrics_token and not _SECRET_SHAPE.match(metrics_token):
        problems.append("METRICS_TOKEN: use 32-256 characters from A-Z, a-z, 0-9, _ and -")
    port = parse("WEBHOOK_PORT", 8443, _port, "a port number 1-65535")
    admins = parse("ADMIN_IDS", frozenset[int](), _user_ids, "comma-separated Telegram user ids")
    sample = parse("SAMPLE_DATA", "auto", _choice("auto", "yes", "no"), "auto, yes or no")
    language = parse("DEFAULT_LANGUAGE", "en", _choice(*LANGUAGES), " or ".join(LANGUAGES))
    per_minute = parse("CHECKS_PER_MINUTE", 20, _positive, "a whole number above 0")
    concurrency = parse("MAX_CONCURRENT_UPDATES", 64, _positive, "a whole number above 0")
    overall_rate = parse(
        "MAX_MESSAGES_PER_SECOND", 30, _non_negative, "a whole number, 0 for no limit"
    )
    sync_interval = parse("SYNC_INTERVAL", 0.5, _seconds, "seconds between 0.05 and 60")
    telegram_timeout = parse("TELEGRAM_TIMEOUT", 20.0, _seconds, "seconds between 0.05 and 60")
    level = parse(
        "LOG_LEVEL", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True), "a log level"
    )
    log_format = parse("LOG_FORMAT", "text", _choice("text", "json"), "text or json")
    match_index = parse(
        "MATCH_INDEX", "memory", _choice("memory", "postgres"), "memory or postgres"
    )
    retention = parse(
        "UNMATCHED_RETENTION_DAYS", 180, _non_negative, "a whole number of days, 0 to keep all"
    )
    semantic = parse("SEMANTIC_MATCHING", "auto", _choice("auto", "off"), "auto or off")
    web_base = parse(
        "WEB_BASE_URL", "", _web_base_url, "an https:// address (http only for localhost)"
    )
    init_age = parse("INIT_DATA_MAX_AGE", 3600, _init_data_age, "seconds between 60 and 86400")
    media_mb = parse("MEDIA_MAX_MB", 10, _media_megabytes, "a whole number of megabytes, 1-20")
    media_seconds = parse("MEDIA_SECONDS", 10.0, _seconds, "seconds between 0.05 and 60")
    ocr = parse("OCR", "auto", _choice("auto", "off"), "auto or off")
    if match_index == "postgres" and is_sqlite(async_url(database_url)):
        problems.append(
            "MATCH_INDEX: postgres keeps the index in the database and needs a PostgreSQL "
            "DATABASE_URL; use memory with SQLite"
        )

    if problems:
        raise ConfigError(problems)
    return Settings(
        database_url=database_url,
        telegram_bot_token=token,
        telegram_api_base_url=api_base,
        telegram_file_base_url=file_base,
        webhook_url=webhook_url,
        webhook_secret=secret,
        metrics_token=metrics_token,
        webhook_listen=get("WEBHOOK_LISTEN", "0.0.0.0") or "0.0.0.0",
        webhook_port=port,
        admin_ids=admins,
        sample_data=sample,
        default_language=language,
        checks_per_minute=per_minute,
        max_concurrent_updates=concurrency,
        max_messages_per_second=overall_rate,
        sync_interval=sync_interval,
        telegram_timeout=telegram_timeout,
        log_level=level,
        log_format=log_format,
        publisher_name=get("PUBLISHER_NAME", "factcheck-bot") or "factcheck-bot",
        match_index=match_index,
        semantic_matching=semantic,
        unmatched_retention_days=retention,
        web_base_url=web_base,
        init_data_max_age=init_age,
        media_max_mb=media_mb,
        media_seconds=media_seconds,
        ocr=ocr,
    )


def _web_base_url(raw: str) -> str:
    # Telegram opens Mini Apps over https only; plain http is for a machine's own tests.
    parsed = urlparse(raw)
    local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
        raise ValueError(raw)
    if not parsed.netloc or parsed.query or parsed.fragment:
        raise ValueError(raw)
    return raw.rstrip("/")


def _init_data_age(raw: str) -> int:
    value = int(raw)
    if not 60 <= value <= 86400:
        raise ValueError(raw)
    return value


def _media_megabytes(raw: str) -> int:
    # Telegram lets a bot download files up to 20 MB.
    value = int(raw)
    if not 1 <= value <= 20:
        raise ValueError(raw)
    return value


def _check_database_url(raw: str) -> str:
    async_url(raw)
    return raw


def _http_url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("")
    return raw.rstrip("/") if not raw.endswith("/bot") else raw


def _https_url(raw: str) -> str:
    parsed = urlparse(raw)
    local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    # Plain http only for a Bot API server on this machine (and for tests).
    if not parsed.netloc or not (parsed.scheme == "https" or (parsed.scheme == "http" and local)):
        raise ValueError("Telegram only delivers webhooks over HTTPS")
    return raw


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("")
    return value


def _positive(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("")
    return value


def _non_negative(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("")
    return value


def _seconds(raw: str) -> float:
    value = float(raw)
    if not 0.05 <= value <= 60:
        raise ValueError("")
    return value


def _user_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        text = part.strip()
        if text:
            if not text.isdigit() or int(text) <= 0:
                raise ValueError(f"{text!r} is not a user id")
            ids.add(int(text))
    return frozenset(ids)


def _choice(*allowed: str, upper: bool = False) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in allowed:
            raise ValueError("")
        return value

    return convert


_URL_PASSWORD = re.compile(r"(://[^\s:/@'\"]*:)[^\s'\"]*@")
_PASSWORD_PARAMETER = re.compile(r"((?:password|passwd|pwd)=)[^&\s'\"]*", re.IGNORECASE)


def without_passwords(text: str) -> str:
    """Text with the password of any URL in it ("postgresql://user:SECRET@host") and
    any password= parameter replaced by ***, for a message an operator will read."""
    return _PASSWORD_PARAMETER.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))
