"""The cheapest bot there is, as the baseline for bench/load.py.

It answers every update as briefly as the Bot API allows (a one-word reply, an empty inline
answer, a bare callback answer), with nothing in between: no matching, no database, no
python-telegram-bot. Driven by the same users at the same rate, it shows what the Bot API
double, the simulated users and the HTTP round trips cost on this machine by themselves.

Polls by default; with WEBHOOK_PORT set it sets a webhook and serves it instead.
Reads TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL from the environment; stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import aiohttp
from aiohttp import web


class EchoBot:
    def __init__(self, session: aiohttp.ClientSession, api: str) -> None:
        self._session = session
        self._api = api

    async def call(self, method: str, **params: Any) -> Any:
        async with self._session.post(f"{self._api}/{method}", json=params) as response:
            return (await response.json())["result"]

    async def answer(self, update: dict[str, Any]) -> None:
        if "message" in update:
            message = update["message"]
            await self.call(
                "sendMessage",
                chat_id=message["chat"]["id"],
                text="noted",
                reply_parameters={"message_id": message["message_id"]},
            )
        elif "inline_query" in update:
            await self.call(
                "answerInlineQuery", inline_query_id=update["inline_query"]["id"], results=[]
            )
        elif "callback_query" in update:
            await self.call("answerCallbackQuery", callback_query_id=update["callback_query"]["id"])


async def poll(bot: EchoBot, stop: asyncio.Event) -> None:
    # Short long polls: a stop is noticed within a second, with no need to race the fetch.
    offset = 0
    tasks: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        for update in await bot.call("getUpdates", offset=offset, timeout=1):
            offset = update["update_id"] + 1
            task = asyncio.create_task(bot.answer(update))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    if offset:
        await bot.call("getUpdates", offset=offset, timeout=0)


async def serve_webhook(bot: EchoBot, port: int, stop: asyncio.Event) -> None:
    async def receive(request: web.Request) -> web.Response:
        await bot.answer(json.loads(await request.read()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/echo", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await bot.call("setWebhook", url=f"http://127.0.0.1:{port}/echo", max_connections=40)
    await stop.wait()
    await runner.cleanup()


async def main() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    api = f"{os.environ['TELEGRAM_API_BASE_URL']}{os.environ['TELEGRAM_BOT_TOKEN']}"
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        bot = EchoBot(session, api)
        await bot.call("getMe")
        if os.environ.get("WEBHOOK_PORT"):
            await serve_webhook(bot, int(os.environ["WEBHOOK_PORT"]), stop)
        else:
            await bot.call("deleteWebhook")
            await poll(bot, stop)


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
