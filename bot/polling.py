"""Long polling that writes each batch of updates down before confirming it to Telegram.

python-telegram-bot's own updater confirms a batch by asking for the next one straight
away, while the batch is still being handled; a process killed then loses it. Here the
batch goes into the inbox first, and only then is the next batch (which confirms this one)
asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot.inbox import Inbox, read_update

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 10
MAX_PAUSE_SECONDS = 30.0
# Beyond the long poll itself, for the answer to arrive.
READ_MARGIN_SECONDS = 5.0


async def poll(
    application: Application,  # type: ignore[type-arg]
    inbox: Inbox,
    stop: asyncio.Event,
    *,
    long_poll: int = LONG_POLL_SECONDS,
) -> None:
    """Fetch updates until `stop` is set; each new one goes to the application's queue."""
    bot = application.bot
    # A webhook, if one was set, would keep getUpdates from working.
    await bot.delete_webhook()
    offset: int | None = None
    failures = 0
    while not stop.is_set():
        fetch = asyncio.ensure_future(_fetch(bot, offset, long_poll))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            # Whatever this fetch would have returned is not confirmed: Telegram keeps it.
            fetch.cancel()
            break
        try:
            received, next_offset = fetch.result()
            fresh = await inbox.accept(received)
        except InvalidToken:
            raise
        except (TelegramError, OSError) as problem:
            failures += 1
            pause = min(MAX_PAUSE_SECONDS, 0.25 * 2 ** min(failures, 8))
            log.warning("getting updates failed (%s); trying again in %.1fs", problem, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            continue
        failures = 0
        for update in fresh:
            await application.update_queue.put(update)
        offset = next_offset
    if offset is not None:
        # Confirm the last batch, which is in the inbox, so it is not fetched again.
        try:
            await bot.get_updates(offset=offset, timeout=0)
        except TelegramError as problem:
            log.warning(
                "could not confirm the last updates (%s): Telegram will send them again, and"
                " as they are already in the inbox they will not be handled twice",
                problem,
            )


async def _fetch(
    bot: Bot, offset: int | None, long_poll: int
) -> tuple[list[tuple[Update, dict[str, Any]]], int | None]:
    """getUpdates: each readable update parsed and also kept as received, for the inbox,
    and the offset that confirms them all.

    (`Bot.get_updates` returns only the parsed updates; turning them back into JSON for
    the inbox was a twentieth of the bot's time under load.) An update that cannot be
    read is confirmed all the same: fetched again and again, it would stop the bot.
    """
    data = {"offset": offset, "timeout": long_poll, "allowed_updates": Update.ALL_TYPES}
    # Bot._post is what Bot.get_updates itself calls, before parsing the answer.
    raw = await bot._post("getUpdates", data, read_timeout=long_poll + READ_MARGIN_SECONDS)
    received = []
    for payload in raw:
        update = read_update(payload, bot)
        if update is None:
            log.warning("update %s could not be read and is skipped", payload.get("update_id"))
        else:
            received.append((update, payload))
    return received, (int(raw[-1]["update_id"]) + 1 if raw else offset)
