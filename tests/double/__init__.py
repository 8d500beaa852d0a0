"""A strict Telegram Bot API test double that python-telegram-bot talks to over real HTTP.

Typical use, with the ``bot_api`` fixture (or ``async with BotApiDouble() as bot_api``)::

    alice = bot_api.add_user(501, "Alice", username="alice")
    chat = bot_api.add_private_chat(alice)
    app = ptb_application_builder(bot_api).build()  # token, base_url, base_file_url set
    ...start polling...
    bot_api.user_sends(alice, chat, "/start")
    (reply,) = await bot_api.wait_for_messages(chat, 1)
    await bot_api.wait_until_idle()
    assert reply.plain == "Hello"            # text as the user sees it
    assert reply.text == "<b>Hello</b>"      # what the bot sent, HTML source included

Everything the real server refuses (bad HTML, over-long texts, oversized callback_data,
unknown chats, double answers to a query...) is refused here with Telegram's error text, and
``fail_next`` / ``delay_next`` / ``drop_next`` inject 429s, 5xx, slow answers and lost
connections.
"""

from .fixtures import bot_api, ptb_application_builder, ptb_bot, ptb_bot_for, ptb_request
from .models import (
    Call,
    CallbackAnswer,
    Chat,
    InlineAnswer,
    Message,
    MessageVersion,
    StoredFile,
    StoredVideo,
    User,
    WebhookDelivery,
)
from .server import BotApiDouble
from .validation import (
    ApiError,
    FormattedText,
    HtmlParseError,
    detect_entities,
    parse_html,
    utf16_len,
)
from .world import DEFAULT_TOKEN, SimulatedTelegram

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "BotApiDouble",
    "Call",
    "CallbackAnswer",
    "Chat",
    "FormattedText",
    "HtmlParseError",
    "InlineAnswer",
    "Message",
    "MessageVersion",
    "SimulatedTelegram",
    "StoredFile",
    "StoredVideo",
    "User",
    "WebhookDelivery",
    "bot_api",
    "detect_entities",
    "parse_html",
    "ptb_application_builder",
    "ptb_bot",
    "ptb_bot_for",
    "ptb_request",
    "utf16_len",
]
