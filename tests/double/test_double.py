"""Tests of the Bot API double, mostly through a real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    MessageOriginChannel,
    MessageOriginHiddenUser,
    MessageOriginUser,
    ReplyParameters,
    Update,
)
from telegram.constants import MessageEntityType
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

from tests.double import BotApiDouble, Chat, User, detect_entities, parse_html, utf16_len
from tests.double.fixtures import ptb_application_builder, ptb_bot_for
from tests.double.validation import (
    ApiError,
    HtmlParseError,
    message_text,
    validate_callback_data,
    validate_inline_keyboard,
    validate_inline_results,
)


@pytest.mark.parametrize("bot_api", [{"privacy_mode": False}], indirect=True)
async def test_without_privacy_mode_the_bot_sees_all_group_messages(
    bot_api: BotApiDouble, ptb_bot: Bot
) -> None:
    user = bot_api.add_user(3003, "Carol")
    group = bot_api.add_group(-1004444, "Open group")
    bot_api.user_sends(user, group, "no command here")
    assert (await ptb_bot.get_me()).can_read_all_group_messages is True
    [update] = await ptb_bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "no command here"


@pytest.fixture
def alice(bot_api: BotApiDouble) -> User:
    return bot_api.add_user(1001, "Alice", username="alice")


@pytest.fixture
def alice_chat(bot_api: BotApiDouble, alice: User) -> Chat:
    return bot_api.add_private_chat(alice)


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


def description(bot_api: BotApiDouble, method: str) -> str | None:
    return bot_api.last_call(method).description


# --------------------------------------------------------------------------------------------
# Pure validation


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x <foo>y</foo>", 'Unsupported start tag "foo" at byte offset 2'),
        ("é<foo>", 'Unsupported start tag "foo" at byte offset 2'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
    ],
)
def test_html_errors_are_reported_like_telegram(source: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_html(source)
    assert str(info.value).startswith(error)


@pytest.mark.parametrize(
    ("source", "error_prefix"),
    [
        ("&foo;", 'Unescaped "&" at byte offset 0'),
        ("fish & chips", 'Unescaped "&" at byte offset 5'),
        ("&#xD800;", 'Unescaped "&" at byte offset 0'),
        ("a > b", 'Unescaped ">" at byte offset 2'),
        ('<a href="?a=1&b=2">x</a>', 'Unescaped "&" at byte offset 13'),
    ],
)
def test_html_refuses_characters_the_docs_require_escaping(source: str, error_prefix: str) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_html(source)
    assert str(info.value).startswith(error_prefix)


def test_html_decodes_the_supported_character_references() -> None:
    parsed = parse_html("&lt;b&gt; &amp; &quot;q&quot; &#65;&#x1F600;")
    assert parsed.text == '<b> & "q" A😀'
    assert parsed.entities == []


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("<B>x</B>", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        (
            "<b>a<i>b</i></b>",
            "ab",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
        ("😀 <u>x</u>", "😀 x", [{"type": "underline", "offset": 3, "length": 1}]),
        (
            '<a href="https://example.org/?a=1&amp;b=2">link</a>',
            "link",
            [
                {
                    "type": "text_link",
                    "offset": 0,
                    "length": 4,
                    "url": "https://example.org/?a=1&b=2",
                }
            ],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        ("<code>c</code>", "c", [{"type": "code", "offset": 0, "length": 1}]),
        (
            "<blockquote expandable>q</blockquote><blockquote>r</blockquote>",
            "qr",
            [
                {"type": "expandable_blockquote", "offset": 0, "length": 1},
                {"type": "blockquote", "offset": 1, "length": 1},
            ],
        ),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [
                {
                    "type": "custom_emoji",
                    "offset": 0,
                    "length": 2,
                    "custom_emoji_id": "5368324170671202286",
                }
            ],
        ),
    ],
)
def test_html_produces_entities_in_utf16_units(
    source: str, text: str, entities: list[dict[str, Any]]
) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert parsed.entities == entities


def test_message_length_is_measured_after_parsing_in_utf16_units() -> None:
    assert message_text("a" * 4096, None).text == "a" * 4096
    assert message_text("😀" * 2048, None).text == "😀" * 2048
    assert message_text("<b>" + "a" * 4096 + "</b>", "HTML").text == "a" * 4096
    assert message_text("&amp;" * 4096, "HTML").text == "&" * 4096
    for too_long in ("a" * 4097, "😀" * 2048 + "a"):
        with pytest.raises(ApiError, match=r"^Bad Request: message is too long$"):
            message_text(too_long, None)


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>", "<b> </b>"])
def test_text_that_is_empty_after_parsing_is_refused(text: str) -> None:
    with pytest.raises(ApiError, match=r"^Bad Request: message text is empty$"):
        message_text(text, "HTML")


def test_surrounding_whitespace_is_trimmed_and_entities_follow() -> None:
    parsed = message_text("  <b>x</b> y  ", "HTML")
    assert parsed.text == "x y"
    assert parsed.entities == [{"type": "bold", "offset": 0, "length": 1}]


def test_callback_data_is_limited_to_64_bytes_of_utf8() -> None:
    assert validate_callback_data("x" * 64) == "x" * 64
    assert validate_callback_data("é" * 32) == "é" * 32
    for bad in ("x" * 65, "é" * 33, ""):
        with pytest.raises(ApiError, match="BUTTON_DATA_INVALID"):
            validate_callback_data(bad)


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ({"inline_keyboard": {"text": "x"}}, "must be an Array"),
        ({"inline_keyboard": [{"text": "x", "callback_data": "y"}]}, "Array of Arrays"),
        ({"inline_keyboard": [[{"text": "x"}]]}, "Text buttons are unallowed"),
        (
            {"inline_keyboard": [[{"text": "x", "callback_data": "y", "url": "https://a.b"}]]},
            "exactly one",
        ),
        (
            {"inline_keyboard": [[{"text": "x", "url": "javascript:alert(1)"}]]},
            "BUTTON_URL_INVALID",
        ),
        ({"inline_keyboard": [[{"callback_data": "y"}]]}, 'Field "text"'),
        (
            {"inline_keyboard": [[{"text": str(i), "callback_data": str(i)}] for i in range(101)]},
            "reply markup is too long",
        ),
    ],
)
def test_inline_keyboard_shape_is_checked(markup: dict[str, Any], error: str) -> None:
    with pytest.raises(ApiError, match=error):
        validate_inline_keyboard(markup)


def _article(result_id: str, text: str = "t") -> dict[str, Any]:
    return {
        "type": "article",
        "id": result_id,
        "title": "T",
        "input_message_content": {"message_text": text},
    }


def test_inline_results_count_ids_and_content_are_checked() -> None:
    assert len(validate_inline_results([_article(str(i)) for i in range(50)])) == 50
    cases = [
        ([_article(str(i)) for i in range(51)], "RESULTS_TOO_MUCH"),
        ([_article("x" * 65)], "RESULT_ID_INVALID"),
        ([_article("")], "RESULT_ID_INVALID"),
        ([_article("1"), _article("1")], "RESULT_ID_DUPLICATE"),
        ([_article("1", "")], "message text is empty"),
        ([_article("1", "a" * 4097)], "message is too long"),
    ]
    for results, error in cases:
        with pytest.raises(ApiError, match=error):
            validate_inline_results(results)
    assert validate_inline_results([_article("x" * 64)])


def test_entities_detected_in_user_text() -> None:
    text = "/check@factcheck_test_bot is @bob right? 😀 #fake https://ex.org/a"
    found = {(e["type"], e["offset"], e["length"]) for e in detect_entities(text)}
    assert found == {
        ("bot_command", 0, 25),
        ("mention", 29, 4),
        ("hashtag", 44, 5),
        ("url", 50, 16),
    }
    assert detect_entities("a/b and x@y.z") == []


# --------------------------------------------------------------------------------------------
# HTTP plumbing


async def _post_raw(bot_api: BotApiDouble, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{bot_api.port}{path}", **kwargs) as response,
    ):
        return response.status, await response.json()


async def test_wrong_token_and_unknown_method_are_refused_like_telegram(
    bot_api: BotApiDouble,
) -> None:
    assert await _post_raw(bot_api, "/bot999:wrong-token/getMe") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await _post_raw(bot_api, "/botnot-a-token/getMe") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert await _post_raw(bot_api, f"/bot{bot_api.token}/sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    wrong = Bot("999:wrong-token", base_url=bot_api.base_url, base_file_url=bot_api.base_file_url)
    with pytest.raises(InvalidToken):
        async with wrong:
            pass


async def test_method_names_are_case_insensitive_and_bodies_may_use_any_encoding(
    bot_api: BotApiDouble, alice_chat: Chat
) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    base = f"/bot{bot_api.token}/"
    form = aiohttp.FormData({"chat_id": str(alice_chat.id), "text": "multipart"})
    form.add_field("reply_markup", json.dumps(markup))
    form.add_field("ignored_file", b"x", filename="x.bin")  # forces multipart encoding
    requests: list[tuple[str, dict[str, Any]]] = [
        (
            "SENDMESSAGE",
            {"json": {"chat_id": alice_chat.id, "text": "json", "reply_markup": markup}},
        ),
        (
            "sendmessage",
            {
                "data": {
                    "chat_id": str(alice_chat.id),
                    "text": "urlencoded",
                    "reply_markup": json.dumps(markup),
                }
            },
        ),
        ("sendMessage", {"data": form}),
    ]
    for method, kwargs in requests:
        status, body = await _post_raw(bot_api, base + method, **kwargs)
        assert status == 200, body
        assert body["ok"] is True
        assert isinstance(body["result"]["date"], int)
    sent = bot_api.messages_to(alice_chat)
    assert [m.plain for m in sent] == ["json", "urlencoded", "multipart"]
    assert [m.message_id for m in sent] == [1, 2, 3]
    assert all(m.reply_markup == markup for m in sent)
    assert [c.method for c in bot_api.calls()] == ["sendMessage"] * 3
    assert bot_api.calls("SendMessage")[1].params["chat_id"] == alice_chat.id


async def test_get_me_has_the_fields_ptb_needs(bot_api: BotApiDouble) -> None:
    async with ptb_bot_for(bot_api) as bot:
        me = await bot.get_me()
    assert me.is_bot is True
    assert me.id == 123456789
    assert me.username == "factcheck_test_bot"
    assert me.supports_inline_queries is True
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False


# --------------------------------------------------------------------------------------------
# Sending, through PTB


async def test_unknown_chats_and_unreachable_users_are_refused(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User
) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await ptb_bot.send_message(777, "hello")
    assert description(bot_api, "sendMessage") == "Bad Request: chat not found"
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await ptb_bot.send_message(alice.id, "hello")
    bot_api.add_private_chat(alice)
    bot_api.block_bot(alice)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await ptb_bot.send_message(alice.id, "hello")
    assert bot_api.messages_to(alice.id) == []


async def test_channel_can_be_addressed_by_username(bot_api: BotApiDouble, ptb_bot: Bot) -> None:
    channel = bot_api.add_channel(-1001234, "Fact checks", "factchecks")
    message = await ptb_bot.send_message("@factchecks", "posted")
    assert message.chat.id == channel.id
    assert [m.plain for m in bot_api.messages_to(channel)] == ["posted"]


async def test_message_length_limit_end_to_end(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    await ptb_bot.send_message(alice_chat.id, "a" * 4096)
    await ptb_bot.send_message(alice_chat.id, "😀" * 2048)
    for text in ("a" * 4097, "😀" * 2048 + "a"):
        with pytest.raises(BadRequest, match="Message is too long"):
            await ptb_bot.send_message(alice_chat.id, text)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await ptb_bot.send_message(alice_chat.id, "<b> </b>", parse_mode="HTML")
    assert len(bot_api.messages_to(alice_chat)) == 2


async def test_html_is_validated_and_recorded(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    sent = await ptb_bot.send_message(
        alice_chat.id, "<b>Claim</b> &amp; sources", parse_mode="HTML"
    )
    assert sent.text == "Claim & sources"
    assert sent.entities[0].type == MessageEntityType.BOLD
    record = bot_api.messages_to(alice_chat)[0]
    assert record.text == "<b>Claim</b> &amp; sources"
    assert record.plain == "Claim & sources"
    assert record.parse_mode == "HTML"

    for bad in ("<b>unclosed", "a < b", "Q&A", "<p>x</p>"):
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await ptb_bot.send_message(alice_chat.id, bad, parse_mode="HTML")
    assert description(bot_api, "sendMessage") == (
        'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0'
    )
    # Without a parse mode the same characters are just text.
    await ptb_bot.send_message(alice_chat.id, "a < b & <p>")
    assert bot_api.messages_to(alice_chat)[-1].plain == "a < b & <p>"

    with pytest.raises(BadRequest, match="Unsupported parse_mode"):
        await ptb_bot.send_message(alice_chat.id, "*x*", parse_mode="MarkdownV2")
    assert len(bot_api.messages_to(alice_chat)) == 2


async def test_callback_data_over_64_bytes_is_refused(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    await ptb_bot.send_message(alice_chat.id, "ok", reply_markup=keyboard("x" * 64))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await ptb_bot.send_message(alice_chat.id, "too long", reply_markup=keyboard("x" * 65))
    assert description(bot_api, "sendMessage") == "Bad Request: BUTTON_DATA_INVALID"
    assert [m.plain for m in bot_api.messages_to(alice_chat)] == ["ok"]


async def test_replies_must_reference_a_message_in_the_chat(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    question = bot_api.user_sends(alice, alice_chat, "is this true?")
    question_id = question["message"]["message_id"]
    reply = await ptb_bot.send_message(
        alice_chat.id, "checking", reply_parameters=ReplyParameters(question_id)
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "is this true?"
    assert bot_api.messages_to(alice_chat)[0].reply_to == question_id

    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await ptb_bot.send_message(alice_chat.id, "x", reply_to_message_id=999)
    orphan = await ptb_bot.send_message(
        alice_chat.id, "x", reply_to_message_id=999, allow_sending_without_reply=True
    )
    assert orphan.reply_to_message is None


async def test_edits_keep_history_and_refuse_no_op_edits(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    sent = await ptb_bot.send_message(alice_chat.id, "v1", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await ptb_bot.edit_message_text(
            "v1", alice_chat.id, sent.message_id, reply_markup=keyboard("a")
        )
    edited = await ptb_bot.edit_message_text(
        "<i>v2</i>", alice_chat.id, sent.message_id, parse_mode="HTML"
    )
    assert not isinstance(edited, bool)
    assert edited.edit_date is not None
    record = bot_api.messages_to(alice_chat)[0]
    assert record.plain == "v2"
    # Editing text without reply_markup removes the keyboard, as on Telegram.
    assert record.reply_markup is None
    assert [(v.plain, v.reply_markup is not None) for v in record.history] == [("v1", True)]

    await ptb_bot.edit_message_reply_markup(
        alice_chat.id, sent.message_id, reply_markup=keyboard("b")
    )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await ptb_bot.edit_message_reply_markup(
            alice_chat.id, sent.message_id, reply_markup=keyboard("b")
        )
    assert record.callback_data == ["b"]

    user_message = bot_api.user_sends(alice, alice_chat, "mine")["message"]["message_id"]
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await ptb_bot.edit_message_text("hijack", alice_chat.id, user_message)

    assert await ptb_bot.delete_message(alice_chat.id, sent.message_id) is True
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await ptb_bot.edit_message_text("v3", alice_chat.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await ptb_bot.delete_message(alice_chat.id, sent.message_id)
    assert bot_api.messages_to(alice_chat) == []
    assert bot_api.messages_to(alice_chat, include_deleted=True)[0].deleted


async def test_chat_action_commands_chat_and_member_queries(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    assert await ptb_bot.send_chat_action(alice_chat.id, "typing") is True
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await ptb_bot.send_chat_action(alice_chat.id, "dancing")
    assert bot_api.chat_actions == [(alice_chat.id, "typing")]

    await ptb_bot.set_my_commands([("start", "Start"), ("check", "Check a claim")])
    assert [(c.command, c.description) for c in await ptb_bot.get_my_commands()] == [
        ("start", "Start"),
        ("check", "Check a claim"),
    ]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await ptb_bot.set_my_commands([("Bad-Command", "nope")])
    assert await ptb_bot.delete_my_commands() is True
    assert await ptb_bot.get_my_commands() == ()
    assert await ptb_bot.set_chat_menu_button() is True

    group = bot_api.add_group(-1009876, "Debunkers", bot_is_admin=True)
    full = await ptb_bot.get_chat(group.id)
    assert (full.id, full.type, full.title) == (group.id, "supergroup", "Debunkers")
    me = await ptb_bot.get_chat_member(group.id, ptb_bot.id)
    assert me.status == "administrator"
    assert (await ptb_bot.get_chat_member(group.id, alice.id)).status == "member"
    with pytest.raises(BadRequest, match="User not found"):
        await ptb_bot.get_chat_member(group.id, 55555)


# --------------------------------------------------------------------------------------------
# Updates


async def test_long_polling_waits_honours_offset_and_keeps_order(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    loop = asyncio.get_running_loop()

    async def send_later() -> None:
        await asyncio.sleep(0.3)
        bot_api.user_sends(alice, alice_chat, "first")
        bot_api.user_sends(alice, alice_chat, "second")

    sender = asyncio.create_task(send_later())
    started = loop.time()
    updates = await ptb_bot.get_updates(timeout=5)
    elapsed = loop.time() - started
    await sender
    assert 0.25 <= elapsed < 2.0
    assert [u.message.text for u in updates if u.message] == ["first", "second"]
    assert updates[1].update_id == updates[0].update_id + 1

    # Unconfirmed updates come again; an offset confirms everything below it.
    again = await ptb_bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in updates]
    assert await ptb_bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert bot_api.pending_updates == []

    started = loop.time()
    assert await ptb_bot.get_updates(timeout=1) == ()
    assert loop.time() - started >= 0.9


async def test_negative_offset_keeps_only_the_latest_updates(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    for text in ("one", "two", "three"):
        bot_api.user_sends(alice, alice_chat, text)
    [latest] = await ptb_bot.get_updates(offset=-1, timeout=0)
    assert latest.message is not None and latest.message.text == "three"
    assert [u["message"]["text"] for u in bot_api.pending_updates] == ["three"]


async def test_a_second_bot_instance_polling_terminates_the_first(
    bot_api: BotApiDouble, ptb_bot: Bot
) -> None:
    first = asyncio.create_task(ptb_bot.get_updates(timeout=5))
    await bot_api.wait_for(lambda: bot_api.calls("getUpdates"), what="the first poll to arrive")
    async with ptb_bot_for(bot_api) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await first


async def test_privacy_mode_hides_ordinary_group_chatter(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User
) -> None:
    group = bot_api.add_group(-1005555, "Claims")
    bot_api.user_sends(alice, group, "just chatting")
    bot_api.user_sends(alice, group, "/check@other_bot x")
    command = bot_api.user_sends(alice, group, "/check@factcheck_test_bot is it true?")
    plain = bot_api.user_sends(alice, group, "/check is it?")
    bot_message = await ptb_bot.send_message(group.id, "Send me a claim")
    reply = bot_api.user_sends(alice, group, "the moon is cheese", reply_to=bot_message.message_id)
    delivered = [u["update_id"] for u in bot_api.pending_updates]
    assert delivered == [command["update_id"], plain["update_id"], reply["update_id"]]
    assert [u["message"]["text"] for u in bot_api.withheld_updates] == [
        "just chatting",
        "/check@other_bot x",
    ]
    assert all("update_id" not in u for u in bot_api.withheld_updates)
    admin_group = bot_api.add_group(-1006666, "Admins", bot_is_admin=True)
    seen = bot_api.user_sends(alice, admin_group, "anything")
    assert bot_api.pending_updates[-1] == seen
    assert seen["update_id"] == reply["update_id"] + 1


async def test_allowed_updates_filters_updates_created_afterwards(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    await ptb_bot.send_message(alice_chat.id, "Verdict?", reply_markup=keyboard("v"))
    assert await ptb_bot.get_updates(timeout=0, allowed_updates=["message"]) == ()
    bot_api.user_presses(alice, bot_api.messages_to(alice_chat)[0], "v")
    bot_api.user_sends(alice, alice_chat, "text")
    updates = await ptb_bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["text"]
    assert len(updates) == 1
    assert "callback_query" in bot_api.withheld_updates[0]


async def test_polling_application_receives_a_command_and_replies(
    bot_api: BotApiDouble, alice: User, alice_chat: Chat
) -> None:
    seen: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        seen.append(update.effective_message.text or "")
        await update.effective_message.reply_html(
            f"Hello, <b>{update.effective_user.first_name}</b>"
        )

    async def other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen.append("other:" + (update.effective_message.text or ""))

    app = ptb_application_builder(bot_api).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT, other))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=2)
        # Without a bot_command entity "/start" is ordinary text to CommandHandler.
        bot_api.inject(
            {
                "message": {
                    "message_id": 50,
                    "date": 1_700_000_000,
                    "chat": {"id": alice_chat.id, "type": "private", "first_name": "Alice"},
                    "from": alice.to_api(),
                    "text": "/start",
                }
            }
        )
        bot_api.user_sends(alice, alice_chat, "/start")
        [reply] = await bot_api.wait_for_messages(alice_chat, 1)
        await bot_api.wait_until_idle()
        await app.updater.stop()
        await app.stop()
    assert seen == ["other:/start", "/start"]
    assert reply.plain == "Hello, Alice"
    assert reply.entities == [{"type": "bold", "offset": 7, "length": 5}]
    methods = [c.method for c in bot_api.calls()]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    polls = bot_api.calls("getUpdates")
    assert polls[0].params["timeout"] == 2
    assert any(p.params.get("offset") for p in polls)
    assert bot_api.pending_updates == []


async def test_callback_queries_are_answerable_exactly_once(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    sent = await ptb_bot.send_message(alice_chat.id, "Verdict?", reply_markup=keyboard("v:yes"))
    record = bot_api.messages_to(alice_chat)[0]
    with pytest.raises(ValueError, match="no button"):
        bot_api.user_presses(alice, record, "v:no")

    injected = bot_api.user_presses(alice, record, "v:yes")
    [update] = await ptb_bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and query.message is not None
    assert (query.data, query.message.message_id) == ("v:yes", sent.message_id)
    assert query.id == injected["callback_query"]["id"]

    with pytest.raises(BadRequest, match="Message_too_long"):
        await query.answer("x" * 201)
    assert await query.answer("Noted") is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer("again")
    assert description(bot_api, "answerCallbackQuery") == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    with pytest.raises(BadRequest, match="Query is too old"):
        await ptb_bot.answer_callback_query("123")
    answer = await bot_api.wait_for_callback_answer(injected)
    assert answer.text == "Noted"

    # A raw, forged query is still answerable once: Telegram delivered it, so it accepts an answer.
    forged = bot_api.inject(
        {
            "callback_query": {
                "id": "forged-1",
                "from": alice.to_api(),
                "message": bot_api.message_json(record),
                "chat_instance": "1",
                "data": "v:../../etc",
            }
        }
    )
    assert forged["update_id"] > update.update_id
    assert await ptb_bot.answer_callback_query("forged-1", "Expired") is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await ptb_bot.answer_callback_query("forged-1")


async def test_inline_queries_are_validated_and_answered_once(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User
) -> None:
    injected = bot_api.user_inline_query(alice, "vaccines")
    query_id = injected["inline_query"]["id"]
    results = [
        InlineQueryResultArticle(str(i), f"Result {i}", InputTextMessageContent(f"text {i}"))
        for i in range(51)
    ]
    with pytest.raises(BadRequest):
        await ptb_bot.answer_inline_query(query_id, results)
    assert description(bot_api, "answerInlineQuery") == "Bad Request: RESULTS_TOO_MUCH"
    bad_html = [
        InlineQueryResultArticle("1", "t", InputTextMessageContent("<b>x", parse_mode="HTML"))
    ]
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await ptb_bot.answer_inline_query(query_id, bad_html)

    assert await ptb_bot.answer_inline_query(query_id, results[:50], cache_time=0) is True
    answer = bot_api.inline_answers(query_id)[0]
    assert answer.result_ids == [str(i) for i in range(50)]
    with pytest.raises(BadRequest, match="Query is too old"):
        await ptb_bot.answer_inline_query(query_id, results[:1])
    with pytest.raises(BadRequest, match="Query is too old"):
        await ptb_bot.answer_inline_query("999", results[:1])

    chosen = bot_api.user_chooses_inline_result(alice, "3", "vaccines")
    assert chosen["chosen_inline_result"]["result_id"] == "3"
    assert "inline_message_id" not in chosen["chosen_inline_result"]
    with pytest.raises(ValueError, match="no result"):
        bot_api.user_chooses_inline_result(alice, "77", "vaccines")


async def test_inline_messages_with_a_keyboard_can_be_edited(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User
) -> None:
    query_id = bot_api.user_inline_query(alice, "claim")["inline_query"]["id"]
    result = InlineQueryResultArticle(
        "r1",
        "Checking",
        InputTextMessageContent("<b>Checking…</b>", parse_mode="HTML"),
        reply_markup=keyboard("more"),
    )
    await ptb_bot.answer_inline_query(query_id, [result])
    chosen = bot_api.user_chooses_inline_result(alice, "r1", "claim")
    inline_id = chosen["chosen_inline_result"]["inline_message_id"]
    assert await ptb_bot.edit_message_text("Done", inline_message_id=inline_id) is True
    message = bot_api.inline_message(inline_id)
    assert message is not None
    assert [v.plain for v in message.history] == ["Checking…"]
    assert (message.plain, message.reply_markup) == ("Done", None)
    with pytest.raises(BadRequest, match="Message_id_invalid"):
        await ptb_bot.edit_message_text("x", inline_message_id="nope")


async def test_forward_origins_parse_in_ptb(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    channel = bot_api.add_channel(-1007777, "Daily News", "dailynews")
    bob = bot_api.add_user(2002, "Bob")
    bot_api.user_forwards(alice, alice_chat, "claim", from_channel=channel, origin_message_id=77)
    bot_api.user_forwards(alice, alice_chat, "claim", from_user=bob)
    bot_api.user_forwards(alice, alice_chat, "claim", hidden_user_name="Someone")
    updates = await ptb_bot.get_updates(timeout=0)
    origins = [u.message.forward_origin for u in updates if u.message]
    assert isinstance(origins[0], MessageOriginChannel)
    assert (origins[0].chat.id, origins[0].message_id) == (channel.id, 77)
    assert isinstance(origins[1], MessageOriginUser)
    assert origins[1].sender_user.id == bob.id
    assert isinstance(origins[2], MessageOriginHiddenUser)
    assert origins[2].sender_user_name == "Someone"
    with pytest.raises(ValueError, match="exactly one"):
        bot_api.user_forwards(alice, alice_chat, "x")


async def test_a_users_photo_comes_in_telegrams_sizes_and_a_forward_keeps_its_files(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (1600, 900), (200, 40, 40)).save(out, "JPEG")
    bot_api.user_sends_photo(alice, alice_chat, out.getvalue(), "look")
    [update] = await ptb_bot.get_updates(timeout=0)
    assert update.message is not None
    sizes = update.message.photo
    assert [max(s.width, s.height) for s in sizes] == [90, 320, 800, 1280]
    assert len({s.file_unique_id for s in sizes}) == 4
    largest = await sizes[-1].get_file()
    picture = Image.open(io.BytesIO(bytes(await largest.download_as_bytearray())))
    assert picture.size == (1280, 720)
    assert largest.file_size == sizes[-1].file_size

    stored = bot_api.message(alice_chat.id, update.message.message_id)
    assert stored is not None
    bot_api.user_sends_photo(alice, alice_chat, stored.sizes)
    [again] = await ptb_bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert again.message is not None
    assert [s.file_unique_id for s in again.message.photo] == [s.file_unique_id for s in sizes]


async def test_a_video_carries_its_thumbnail_and_cover(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    still = io.BytesIO()
    Image.new("RGB", (640, 360), (10, 90, 200)).save(still, "JPEG")
    bot_api.user_sends_video(
        alice,
        alice_chat,
        b"\x00\x00\x00\x18ftypmp42",
        thumbnail=still.getvalue(),
        cover=still.getvalue(),
    )
    [update] = await ptb_bot.get_updates(timeout=0)
    video = update.message.video if update.message else None
    assert video is not None and video.thumbnail is not None and video.cover
    assert max(video.thumbnail.width, video.thumbnail.height) == 320
    thumbnail = await video.thumbnail.get_file()
    assert Image.open(io.BytesIO(bytes(await thumbnail.download_as_bytearray()))).size == (
        320,
        180,
    )


async def test_documents_round_trip_through_upload_and_download(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    payload = b"%PDF-1.4 evidence"
    bot_api.user_sends_document(alice, alice_chat, "evidence.pdf", payload, caption="see this")
    [update] = await ptb_bot.get_updates(timeout=0)
    assert update.message is not None and update.message.document is not None
    assert update.message.document.file_name == "evidence.pdf"
    assert update.message.caption == "see this"
    telegram_file = await update.message.document.get_file()
    assert bytes(await telegram_file.download_as_bytearray()) == payload

    sent = await ptb_bot.send_document(
        alice_chat.id,
        b"col1,col2\n",
        filename="report.csv",
        caption="<i>report</i>",
        parse_mode="HTML",
    )
    assert sent.document is not None and sent.caption == "report"
    record = bot_api.messages_to(alice_chat)[0]
    assert record.document is not None
    assert (record.document.file_name, record.document.data) == ("report.csv", b"col1,col2\n")
    again = await ptb_bot.send_document(alice_chat.id, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await ptb_bot.send_document(alice_chat.id, "no-such-file-id")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await ptb_bot.send_document(alice_chat.id, b"x", filename="x.txt", caption="c" * 1025)


async def test_photo_with_caption_from_a_user(
    bot_api: BotApiDouble, ptb_bot: Bot, alice: User, alice_chat: Chat
) -> None:
    bot_api.user_sends_caption(alice, alice_chat, "Is this @bob? https://ex.org", photo=b"JPEG")
    [update] = await ptb_bot.get_updates(timeout=0)
    message = update.message
    assert message is not None and message.photo and message.text is None
    assert message.caption == "Is this @bob? https://ex.org"
    assert [e.type for e in message.caption_entities] == ["mention", "url"]
    photo_file = await message.photo[-1].get_file()
    assert bytes(await photo_file.download_as_bytearray()) == b"JPEG"


# --------------------------------------------------------------------------------------------
# Fault injection


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_429_carries_retry_after_and_raises_ptb_retry_after(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    bot_api.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await ptb_bot.send_message(alice_chat.id, "hi")
    retry_after = info.value.retry_after
    seconds = retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after
    assert seconds == 3
    assert bot_api.last_call("sendMessage").response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert bot_api.messages_to(alice_chat) == []
    await ptb_bot.send_message(alice_chat.id, "hi")
    assert len(bot_api.messages_to(alice_chat)) == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_flood_limit_mode(bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat) -> None:
    bot_api.flood_limit(2, per_seconds=30)
    await ptb_bot.send_message(alice_chat.id, "1")
    await ptb_bot.send_message(alice_chat.id, "2")
    with pytest.raises(RetryAfter):
        await ptb_bot.send_message(alice_chat.id, "3")
    assert len(bot_api.messages_to(alice_chat)) == 2


async def test_server_errors_surface_as_network_errors(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    bot_api.fail_next("sendMessage", status=500)
    bot_api.fail_next("sendMessage", status=502, times=2)
    for expected in ("Internal Server Error", "Bad Gateway", "Bad Gateway"):
        with pytest.raises(NetworkError, match=expected):
            await ptb_bot.send_message(alice_chat.id, "x")
    await ptb_bot.send_message(alice_chat.id, "finally")
    assert [c.status for c in bot_api.calls("sendMessage")] == [500, 502, 502, 200]
    assert bot_api.pending_faults == 0


async def test_fault_for_any_method_spares_get_updates(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    bot_api.fail_next(None, status=500)
    assert await ptb_bot.get_updates(timeout=0) == ()
    with pytest.raises(NetworkError):
        await ptb_bot.send_chat_action(alice_chat.id, "typing")


async def test_slow_response_times_out_but_still_takes_effect(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    bot_api.delay_next("sendMessage", 0.6)
    with pytest.raises(TimedOut):
        await ptb_bot.send_message(alice_chat.id, "slow", read_timeout=0.2)
    [late] = await bot_api.wait_for_messages(alice_chat, 1, timeout=3)
    assert late.plain == "slow"


async def test_dropped_connections_surface_as_network_errors(
    bot_api: BotApiDouble, ptb_bot: Bot, alice_chat: Chat
) -> None:
    bot_api.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await ptb_bot.send_message(alice_chat.id, "lost")
    assert bot_api.messages_to(alice_chat) == []
    bot_api.drop_next("sendMessage", after_effect=True)
    with pytest.raises(NetworkError):
        await ptb_bot.send_message(alice_chat.id, "delivered anyway")
    assert [m.plain for m in bot_api.messages_to(alice_chat)] == ["delivered anyway"]
    assert [c.dropped for c in bot_api.calls("sendMessage")] == [True, True]


# --------------------------------------------------------------------------------------------
# Webhook


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[tuple[str, list[tuple[str | None, Any]]]]:
    received: list[tuple[str | None, Any]] = []
    failures_left = [1]

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        if failures_left[0]:
            failures_left[0] -= 1
            return web.Response(status=500)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    finally:
        await runner.cleanup()


async def test_webhook_delivery_posts_with_secret_and_retries(
    bot_api: BotApiDouble,
    ptb_bot: Bot,
    alice: User,
    alice_chat: Chat,
    webhook_receiver: tuple[str, list[tuple[str | None, Any]]],
) -> None:
    url, received = webhook_receiver
    assert await ptb_bot.set_webhook(url, secret_token="s3cret_Token-1") is True
    update = bot_api.user_sends(alice, alice_chat, "via webhook")
    await bot_api.wait_for(lambda: len(received) >= 2, what="a retried delivery")
    await bot_api.wait_until_idle()
    # The first attempt got a 500, so the same update was posted again.
    assert received == [("s3cret_Token-1", update), ("s3cret_Token-1", update)]
    assert [d.status for d in bot_api.webhook_deliveries] == [500, 200]
    info = await ptb_bot.get_webhook_info()
    assert info.url == url
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    with pytest.raises(Conflict, match="webhook is active"):
        await ptb_bot.get_updates()
    with pytest.raises(BadRequest, match="Bad webhook"):
        await ptb_bot.set_webhook("https://example.com/hook")
    await ptb_bot.delete_webhook()
    assert await ptb_bot.get_updates(timeout=0) == ()


async def test_ptb_webhook_application_receives_updates(
    bot_api: BotApiDouble, alice: User, alice_chat: Chat, unused_tcp_port: int
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("hooked")

    app = ptb_application_builder(bot_api).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=unused_tcp_port,
            url_path="tg",
            webhook_url=f"http://127.0.0.1:{unused_tcp_port}/tg",
            secret_token="webhook_secret",
        )
        bot_api.user_sends(alice, alice_chat, "/start")
        [reply] = await bot_api.wait_for_messages(alice_chat, 1)
        await bot_api.wait_until_idle()
        await app.updater.stop()
        await app.stop()
    assert reply.plain == "hooked"
    [delivery] = bot_api.webhook_deliveries
    assert delivery.status == 200
    assert delivery.headers["X-Telegram-Bot-Api-Secret-Token"] == "webhook_secret"
    assert [c.method for c in bot_api.calls()] == ["getMe", "setWebhook", "sendMessage"]


async def test_webhook_posts_go_out_in_parallel_up_to_the_connection_limit() -> None:
    double = BotApiDouble(webhook_connections=3)
    await double.start()
    at_once = [0]
    peak = [0]
    seen: list[int] = []

    async def slow(request: web.Request) -> web.Response:
        at_once[0] += 1
        peak[0] = max(peak[0], at_once[0])
        seen.append((await request.json())["update_id"])
        await asyncio.sleep(0.2)
        at_once[0] -= 1
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        bot = Bot(double.token, base_url=double.base_url)
        async with bot:
            await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        user = double.add_user(301, "Alice")
        chat = double.add_private_chat(user)
        sent = [double.user_sends(user, chat, f"n{n}")["update_id"] for n in range(6)]
        await double.wait_for(lambda: len(seen) >= 6, timeout=5, what="six deliveries")
        await double.wait_until_idle()
    finally:
        await runner.cleanup()
        await double.stop()
    assert sorted(seen) == sorted(sent)  # each delivered once
    assert peak[0] == 3  # never more at once than allowed, and that many when needed
    assert not double.pending_updates
