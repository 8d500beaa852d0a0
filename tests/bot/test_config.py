"""Settings are checked once at start, each bad value named with what is expected."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "123456:" + "A" * 35


def problems(**environment: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, **environment}, env_file=None)
    return raised.value.problems


def test_every_bad_value_is_named_at_once_without_echoing_the_token() -> None:
    found = problems(
        TELEGRAM_BOT_TOKEN="not-a-token",
        TELEGRAM_TIMEOUT="forever",
        DATABASE_URL="sqlite:///data/x.db?timeout=soon",
        CHECKS_PER_MINUTE="0",
    )
    names = sorted(problem.split(":", 1)[0] for problem in found)
    assert names == ["CHECKS_PER_MINUTE", "DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_TIMEOUT"]
    assert not any("not-a-token" in problem for problem in found)
    (database,) = [p for p in found if p.startswith("DATABASE_URL")]
    assert "timeout='soon'" in database


def test_timeouts_are_read_from_the_environment_and_the_database_url() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_TIMEOUT": "7.5",
            "DATABASE_URL": "sqlite:///data/x.db?timeout=2",
        },
        env_file=None,
    )
    assert settings.telegram_timeout == 7.5
    assert settings.database_url.endswith("?timeout=2")
    assert load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None).telegram_timeout == 20.0


def test_postgres_index_needs_a_postgres_database() -> None:
    assert any(
        p.startswith("MATCH_INDEX:") and "PostgreSQL" in p for p in problems(MATCH_INDEX="postgres")
    )
    assert any("memory or postgres" in p for p in problems(MATCH_INDEX="elastic"))
    base = {"TELEGRAM_BOT_TOKEN": TOKEN}
    url = "postgresql://u@127.0.0.1/db"
    chosen = load_settings({**base, "MATCH_INDEX": "Postgres", "DATABASE_URL": url}, env_file=None)
    assert chosen.match_index == "postgres"
    assert load_settings(base, env_file=None).match_index == "memory"


def test_a_malformed_database_url_is_named_without_its_password() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {"DATABASE_URL": "postgresql://bob:hunter2-secret@db:notaport/x"}, env_file=None
        )
    message = str(raised.value)
    assert "DATABASE_URL" in message and "bob:***@db" in message
    assert "hunter2-secret" not in message


def test_settings_never_show_the_database_password_or_secrets() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://bob:hunter2-secret@db/x",
            "TELEGRAM_BOT_TOKEN": "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678",
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": "s" * 40,
        },
        env_file=None,
    )
    shown = repr(settings)
    assert "hunter2-secret" not in shown and "ABCdef" not in shown and "s" * 40 not in shown


@pytest.mark.parametrize("secret", ["a", "short-secret-123", "x" * 31, "has space " * 4])
def test_a_guessable_webhook_secret_is_refused(secret: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {"WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": secret},
            env_file=None,
        )
    assert "WEBHOOK_SECRET: use 32-256 characters" in str(raised.value)
    if len(secret) > 3:
        assert secret not in str(raised.value)  # a secret, even a bad one, is not echoed


def test_the_default_language_is_any_the_bot_speaks() -> None:
    for language in ("en", "ru", "uk", "ar"):
        environment = {"TELEGRAM_BOT_TOKEN": TOKEN, "DEFAULT_LANGUAGE": language}
        assert load_settings(environment, env_file=None).default_language == language
    (problem,) = problems(DEFAULT_LANGUAGE="de")
    assert problem.startswith("DEFAULT_LANGUAGE") and "en or ru or uk or ar" in problem
