"""The aiohttp transport fails the way the rate limiter's retry rules expect."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.transport import AiohttpRequest
from tests.double import BotApiDouble


def bot_for(double: BotApiDouble, **options: float) -> Bot:
    return Bot(
        double.token,
        base_url=double.base_url,
        base_file_url=double.base_file_url,
        request=AiohttpRequest(connection_pool_size=4, **options),
    )


async def test_messages_and_files_go_through(bot_api: BotApiDouble) -> None:
    alice = bot_api.add_user(501, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with bot_for(bot_api) as bot:
        await bot.send_message(chat.id, "<b>hello</b>", parse_mode="HTML")
        await bot.send_document(chat.id, b'{"a": 1}', filename="export.json", caption="ok")
    text, document = bot_api.messages_to(chat)
    assert text.text == "<b>hello</b>" and text.plain == "hello"
    assert document.document is not None and document.caption == "ok"
    assert (document.document.file_name, document.document.data) == ("export.json", b'{"a": 1}')


async def test_keyboards_replies_and_any_script_arrive_intact(bot_api: BotApiDouble) -> None:
    alice = bot_api.add_user(501, "Alice")
    chat = bot_api.add_private_chat(alice)
    asked = bot_api.user_sends(alice, chat, "Правда ли?")["message"]
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Источники 📰", callback_data="v:1")]])
    async with bot_for(bot_api) as bot:
        sent = await bot.send_message(
            chat.id,
            "<i>Ответ</i> — «4 источника» 🇸🇾",
            parse_mode="HTML",
            reply_markup=keyboard,
            reply_parameters=ReplyParameters(asked["message_id"]),
        )
        with pytest.raises(BadRequest):
            await bot.send_message(chat.id, "broken \udc80 text")
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.message_id == asked["message_id"]
    (reply,) = [m for m in bot_api.messages_to(chat) if m.message_id == sent.message_id]
    assert reply.plain == "Ответ — «4 источника» 🇸🇾"
    assert reply.reply_markup == keyboard.to_dict()


async def test_a_slow_answer_is_a_timeout_and_a_dropped_one_a_network_error(
    bot_api: BotApiDouble,
) -> None:
    alice = bot_api.add_user(501, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with bot_for(bot_api, read_timeout=0.2, write_timeout=0.2) as bot:
        bot_api.delay_next("sendMessage", 1.0)
        with pytest.raises(TimedOut):
            await bot.send_message(chat.id, "slow")
        bot_api.drop_next("sendMessage")
        with pytest.raises(NetworkError) as dropped:
            await bot.send_message(chat.id, "dropped")
        assert not isinstance(dropped.value, TimedOut)
        await bot.send_message(chat.id, "fine")
    await bot_api.wait_until_idle(timeout=5)
    # The slow one still arrived, as a timed-out send may on real Telegram.
    assert sorted(m.plain or "" for m in bot_api.messages_to(chat)) == ["fine", "slow"]
