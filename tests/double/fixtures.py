"""Pytest fixtures and PTB wiring for the double.

A conftest makes the fixtures available with::

    from tests.double.fixtures import bot_api, ptb_bot  # noqa: F401
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.ext import ApplicationBuilder
from telegram.request import HTTPXRequest

from .server import BotApiDouble


def ptb_request(**kwargs: Any) -> HTTPXRequest:
    """An HTTPXRequest with timeouts short enough for tests; override any of them."""
    options: dict[str, Any] = {
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "write_timeout": 2.0,
        "pool_timeout": 2.0,
    }
    options.update(kwargs)
    return HTTPXRequest(**options)


def ptb_bot_for(double: BotApiDouble, **request_kwargs: Any) -> Bot:
    """A PTB Bot wired to the double (not yet initialised)."""
    return Bot(
        double.token,
        base_url=double.base_url,
        base_file_url=double.base_file_url,
        request=ptb_request(**request_kwargs),
    )


def ptb_application_builder(
    double: BotApiDouble,
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ApplicationBuilder with token and URLs of the double already set."""
    return (
        ApplicationBuilder()
        .token(double.token)
        .base_url(double.base_url)
        .base_file_url(double.base_file_url)
    )


@pytest_asyncio.fixture
async def bot_api(request: pytest.FixtureRequest) -> AsyncIterator[BotApiDouble]:
    """A running double; fails the test afterwards if the double itself crashed.

    Options reach the constructor through indirect parametrisation::

        @pytest.mark.parametrize("bot_api", [{"privacy_mode": False}], indirect=True)
    """
    options: dict[str, Any] = getattr(request, "param", {})
    double = BotApiDouble(**options)
    async with double:
        yield double
    double.assert_no_internal_errors()


@pytest_asyncio.fixture
async def ptb_bot(bot_api: BotApiDouble) -> AsyncIterator[Bot]:
    """An initialised PTB Bot talking to ``bot_api``."""
    bot = ptb_bot_for(bot_api)
    async with bot:
        yield bot
