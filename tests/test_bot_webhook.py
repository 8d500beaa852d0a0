"""Webhook mode: Telegram posts updates to the bot's own HTTP server, secret required."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.double import BotApiDouble
from tests.running_bot import WEBHOOK_PATH, running_bot


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
