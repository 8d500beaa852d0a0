"""Webhook mode: Telegram posts updates to the bot's own HTTP server, secret required."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.double import BotApiDouble
from tests.helpers.running_bot import WEBHOOK_PATH, running_bot


async def test_reference_case_through_a_webhook(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    alice = bot_api.add_user(801, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path, webhook_port=unused_tcp_port) as bot:
        webhook = bot_api.last_call("setWebhook")
        assert webhook.params["secret_token"] == bot.settings.webhook_secret
        bot_api.user_sends(alice, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (reply,) = await bot_api.wait_for_messages(chat, 1)
        await bot_api.wait_until_idle()
    assert "disputes: National Liberation Front; Syrian Observatory for Human Rights" in (
        reply.plain or ""
    )
    assert bot_api.webhook_deliveries and all(d.status == 200 for d in bot_api.webhook_deliveries)


async def test_webhook_requests_without_the_secret_are_refused(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    alice = bot_api.add_user(802, "Alice")
    chat = bot_api.add_private_chat(alice)
    update = {
        "update_id": 999,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": chat.id, "type": "private", "first_name": "Alice"},
            "from": {"id": alice.id, "is_bot": False, "first_name": "Alice"},
            "text": "Did rebels kill 40 Syrian soldiers in Idlib?",
        },
    }
    url = f"http://127.0.0.1:{unused_tcp_port}/{WEBHOOK_PATH}"
    async with running_bot(bot_api, tmp_path, webhook_port=unused_tcp_port):
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guessed"}):
                async with session.post(url, json=update, headers=headers) as response:
                    assert response.status == 403
        await bot_api.wait_until_idle()
    assert bot_api.messages_to(chat) == []


async def test_health_and_metrics_endpoints(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    base = f"http://127.0.0.1:{unused_tcp_port}"
    alice = bot_api.add_user(803, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path, webhook_port=unused_tcp_port) as bot:
        bot_api.user_sends(alice, chat, "a dragon was seen over Lisbon")
        await bot_api.wait_for_messages(chat, 1)
        await bot_api.wait_until_idle()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/healthz") as response:
                healthy = (response.status, await response.json())
            async with session.get(f"{base}/metrics") as response:
                metrics = await response.text()
            await bot.services.database.engine.dispose()
            # Point the bot at a database that is not there: health turns 503.
            from sqlalchemy.ext.asyncio import create_async_engine

            working = bot.services.database.engine
            bot.services.database.engine = create_async_engine(
                "postgresql+asyncpg://nobody@127.0.0.1:1/none"
            )
            async with session.get(f"{base}/healthz") as response:
                unhealthy = (response.status, await response.json())
            bot.services.database.engine = working
    assert healthy == (200, {"status": "ok", "incidents": 1})
    assert unhealthy == (503, {"status": "database unreachable"})
    assert 'factcheck_checks_total{outcome="none"} 1.0' in metrics
    assert "factcheck_unmatched_queue_size 1.0" in metrics
    assert 'factcheck_updates_total{kind="message",result="ok"} 1.0' in metrics
    assert "factcheck_update_seconds_bucket" in metrics
    # Whether the semantic stage is on (1), still computing vectors (0.5) or off (0), and
    # how many checks it was asked about.
    expected = {"on": "1.0", "warming": "0.5", "off": "0.0"}[bot.services.checker.semantic.value]
    assert f"factcheck_semantic_stage {expected}" in metrics
    assert f"factcheck_semantic_calls {bot.services.checker.semantic_calls:.1f}" in metrics


async def test_metrics_need_the_token_when_one_is_set(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    base = f"http://127.0.0.1:{unused_tcp_port}"
    token = "metrics-token-0123456789-abcdefghijklmn"
    async with (
        running_bot(bot_api, tmp_path, webhook_port=unused_tcp_port, METRICS_TOKEN=token),
        aiohttp.ClientSession() as session,
    ):
        async with session.get(f"{base}/metrics") as response:
            without = response.status
        wrong = {"Authorization": "Bearer " + "x" * len(token)}
        async with session.get(f"{base}/metrics", headers=wrong) as response:
            guessed = response.status
        right = {"Authorization": f"Bearer {token}"}
        async with session.get(f"{base}/metrics", headers=right) as response:
            granted = (response.status, "factcheck_checks_total" in await response.text())
    assert (without, guessed, granted) == (403, 403, (200, True))
