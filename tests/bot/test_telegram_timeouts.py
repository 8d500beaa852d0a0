"""A slow or silent Bot API: replies still arrive once each, in order per chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from telegram.error import TimedOut

from bot.delivery import PatientRateLimiter
from tests.double import BotApiDouble
from tests.helpers.running_bot import plain_texts, running_bot

CLAIM = "Did rebels kill 40 Syrian soldiers in Idlib?"
UNKNOWN = "Did a blue giraffe open the new metro line in Tashkent?"
INCIDENT_TITLE = "Reported militant offensive on Syrian government forces in Idlib"
NO_RECORD = "no record"


def _kinds(texts: list[str]) -> list[str]:
    """Which answer each reply is: the incident, or the honest 'no record'."""
    kinds = []
    for text in texts:
        if INCIDENT_TITLE in text:
            kinds.append("incident")
        elif NO_RECORD in text.lower():
            kinds.append("none")
        else:
            kinds.append(text[:60])
    return kinds


async def test_slow_telegram_delays_one_chat_but_not_the_others(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice, bob = bot_api.add_user(731, "Alice"), bot_api.add_user(732, "Bob")
    alice_chat, bob_chat = bot_api.add_private_chat(alice), bot_api.add_private_chat(bob)
    async with running_bot(bot_api, tmp_path, TELEGRAM_TIMEOUT="5"):
        # Slower than python-telegram-bot's own default of 5 s would allow, within ours.
        bot_api.delay_next("sendMessage", 2.5)
        started = time.monotonic()
        bot_api.user_sends(alice, alice_chat, CLAIM)
        await bot_api.wait_for(lambda: bot_api.calls("sendMessage"), what="the slow send")
        bot_api.user_sends(alice, alice_chat, UNKNOWN)
        bot_api.user_sends(bob, bob_chat, CLAIM)
        (bobs,) = await bot_api.wait_for_messages(bob_chat, 1, timeout=10)
        bob_answered = time.monotonic() - started
        await bot_api.wait_for_messages(alice_chat, 2, timeout=15)
        await bot_api.wait_until_idle(timeout=10)
    assert bob_answered < 2.0  # Bob did not wait for Alice's slow reply
    assert INCIDENT_TITLE in (bobs.plain or "")
    assert _kinds(plain_texts(bot_api.messages_to(alice_chat))) == ["incident", "none"]
    assert len(bot_api.calls("sendMessage")) == 3  # nothing sent twice


async def test_a_send_that_times_out_is_not_repeated_and_is_not_overtaken(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(733, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path, TELEGRAM_TIMEOUT="1"):
        # Telegram takes the first reply but answers only after the bot stopped waiting:
        # the message exists, the bot saw a timeout.
        bot_api.delay_next("sendMessage", 1.6)
        bot_api.user_sends(alice, chat, CLAIM)
        await bot_api.wait_for(lambda: bot_api.calls("sendMessage"), what="the slow send")
        bot_api.user_sends(alice, chat, UNKNOWN)
        await bot_api.wait_for_messages(chat, 2, timeout=15)
        # The bot keeps going after the timeout.
        bot_api.user_sends(alice, chat, CLAIM)
        await bot_api.wait_for_messages(chat, 3, timeout=15)
        await bot_api.wait_until_idle(timeout=10)
        await asyncio.sleep(0.5)
    replies = bot_api.messages_to(chat)
    assert _kinds(plain_texts(replies)) == ["incident", "none", "incident"]
    assert len(bot_api.calls("sendMessage")) == 3  # the timed-out send was not repeated


async def test_a_send_that_never_left_is_retried_but_one_that_left_is_not() -> None:
    calls: list[str] = []

    def sender(first_failure: Exception) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def send(*args: Any, **kwargs: Any) -> dict[str, Any]:
            calls.append("send")
            if len(calls) == 1:
                raise first_failure
            return {"message_id": 1}

        return send

    limiter = PatientRateLimiter(backoff=0.01, settle=0.05)
    await limiter.initialize()
    try:
        for cause in (aiohttp.ConnectionTimeoutError(), httpx.ConnectTimeout("no connection")):
            calls.clear()
            connect_timeout = TimedOut()
            connect_timeout.__cause__ = cause
            sent = await limiter.process_request(
                sender(connect_timeout), (), {}, "sendMessage", {"chat_id": 1}, None
            )
            assert sent == {"message_id": 1} and calls == ["send", "send"]

        calls.clear()
        read_timeout = TimedOut()
        read_timeout.__cause__ = aiohttp.SocketTimeoutError("no answer")
        with pytest.raises(TimedOut):
            await limiter.process_request(
                sender(read_timeout), (), {}, "sendMessage", {"chat_id": 1}, None
            )
        assert calls == ["send"]
    finally:
        await limiter.shutdown()
