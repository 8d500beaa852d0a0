"""Bot API methods implemented by the double, keyed by their lower-cased names.

Method names are case-insensitive on the real server, so lookups lower-case the name from the
URL and calls are logged under the canonical spelling.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .models import CallbackAnswer, Chat, InlineAnswer, JsonDict, Message, StoredFile
from .params import Params
from .validation import (
    NOT_MODIFIED,
    ApiError,
    bad_request,
    callback_answer_text,
    caption_text,
    message_text,
    normalise_parse_mode,
    validate_bot_commands,
    validate_inline_results,
    validate_reply_markup,
)
from .world import SimulatedTelegram, WebhookConfig, scope_key

Handler = Callable[[SimulatedTelegram, Params], Awaitable[Any]]
H = TypeVar("H", bound=Handler)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")

CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)

METHODS: dict[str, tuple[str, Handler]] = {}


def api_method(name: str) -> Callable[[H], H]:
    def register(handler: H) -> H:
        METHODS[name.lower()] = (name, handler)
        return handler

    return register


def canonical_method(name: str) -> str | None:
    entry = METHODS.get(name.lower())
    return entry[0] if entry else None


# --------------------------------------------------------------------------------------------
# Shared pieces


def _reply_markup(p: Params, *, inline_only: bool = False) -> JsonDict | None:
    raw = p.get_json("reply_markup", invalid="can't parse reply keyboard markup JSON object")
    if raw is None:
        return None
    return validate_reply_markup(raw, inline_only=inline_only)


def _inline_markup(markup: JsonDict | None) -> JsonDict | None:
    return markup if markup and "inline_keyboard" in markup else None


def _reply_target(tg: SimulatedTelegram, chat: Chat, p: Params) -> int | None:
    allow_missing = p.get_bool("allow_sending_without_reply")
    quote: str | None = None
    target_chat = chat
    parameters = p.get_json("reply_parameters", invalid="can't parse reply parameters JSON object")
    if parameters is not None:
        if not isinstance(parameters, dict) or not isinstance(parameters.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        message_id: int | None = parameters["message_id"]
        allow_missing = allow_missing or bool(parameters.get("allow_sending_without_reply"))
        quote = parameters.get("quote")
        if parameters.get("chat_id") is not None:
            target_chat = tg.resolve_chat(parameters["chat_id"])
    else:
        message_id = p.get_int("reply_to_message_id")
    if message_id is None:
        return None
    target = tg.message(target_chat, message_id)
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    if quote is not None and quote not in (target.plain or ""):
        raise bad_request("QUOTE_TEXT_INVALID")
    return message_id if target_chat.id == chat.id else None


def _edit_target(tg: SimulatedTelegram, p: Params, *, missing: str) -> tuple[Message, bool]:
    inline_id = p.get_str("inline_message_id")
    if inline_id:
        inline = tg.inline_message(inline_id)
        if inline is None:
            raise bad_request("MESSAGE_ID_INVALID")
        return inline, True
    chat = tg.resolve_chat(p.chat_id())
    message_id = p.get_int("message_id", invalid="message identifier is not specified")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = tg.message(chat, message_id)
    if message is None or message.deleted:
        raise bad_request(missing)
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message, False


def _apply_edit(tg: SimulatedTelegram, message: Message, inline: bool) -> Any:
    message.edit_date = int(time.time())
    tg._notify()
    return True if inline else tg.message_json(message)


def _input_file(tg: SimulatedTelegram, p: Params, field: str, folder: str) -> StoredFile:
    upload = p.files.get(field)
    reference = None if upload is not None else p.get_str(field)
    if reference and reference.startswith("attach://"):
        upload = p.files.get(reference.removeprefix("attach://"))
        if upload is None:
            raise bad_request(f"there is no {field} in the request")
    if upload is not None:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        mime_type = upload.content_type
        if not mime_type or mime_type == "application/octet-stream":
            mime_type = mimetypes.guess_type(upload.filename or "")[0] or mime_type
        return tg.register_file(
            upload.data, file_name=upload.filename, mime_type=mime_type, folder=folder
        )
    if not reference:
        raise bad_request(f"there is no {field} in the request")
    if reference.startswith(("http://", "https://")):
        # The real server would download it; the double never leaves 127.0.0.1.
        raise bad_request("failed to get HTTP URL content")
    stored = tg.file(reference)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return stored


def _full_chat(chat: Chat) -> JsonDict:
    data = chat.to_api()
    # Fields the Bot API always returns for getChat and python-telegram-bot requires.
    data.update(
        accent_color_id=0,
        max_reaction_count=11,
        accepted_gift_types={
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    )
    return data


def _member_json(tg: SimulatedTelegram, chat: Chat, user_id: int) -> JsonDict:
    user = tg.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    status = tg.member_status(chat, user)
    data: JsonDict = {"status": status, "user": user.to_api()}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        data.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
        )
        if chat.type == "channel":
            data.update(can_post_messages=True, can_edit_messages=True)
        else:
            data["can_pin_messages"] = True
    elif status == "kicked":
        data["until_date"] = 0
    return data


def _command_scope(tg: SimulatedTelegram, p: Params) -> tuple[str, str]:
    scope = p.get_json("scope", invalid="can't parse BotCommandScope JSON object")
    if scope is not None:
        if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        if "chat_id" in scope:
            tg.resolve_chat(scope["chat_id"])
    language_code = p.get_str("language_code") or ""
    if language_code and not _LANGUAGE_CODE.match(language_code):
        raise bad_request("invalid language code specified")
    return scope_key(scope, language_code)


# --------------------------------------------------------------------------------------------
# Identity and lifecycle


@api_method("getMe")
async def get_me(tg: SimulatedTelegram, p: Params) -> JsonDict:
    data = tg.bot.to_api()
    data.update(
        can_join_groups=tg.can_join_groups,
        can_read_all_group_messages=not tg.privacy_mode,
        supports_inline_queries=tg.supports_inline_queries,
        can_connect_to_business=False,
        has_main_web_app=False,
    )
    return data


@api_method("logOut")
async def log_out(tg: SimulatedTelegram, p: Params) -> bool:
    return True


@api_method("close")
async def close(tg: SimulatedTelegram, p: Params) -> bool:
    return True


# --------------------------------------------------------------------------------------------
# Getting updates


@api_method("getUpdates")
async def get_updates(tg: SimulatedTelegram, p: Params) -> list[JsonDict]:
    if tg.webhook is not None:
        raise ApiError(409, CONFLICT_WEBHOOK)
    offset = p.get_int("offset")
    limit = min(max(p.get_int("limit") or 100, 1), 100)
    timeout = max(p.get_float("timeout") or 0.0, 0.0)
    allowed = p.get_json("allowed_updates", invalid="can't parse allowed_updates JSON array")
    if allowed is not None:
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad_request("can't parse allowed_updates JSON array")
        tg.allowed_updates = allowed
    if offset is not None:
        tg.confirm_updates(offset)
    # A newer getUpdates ends the one still waiting, as on the real server.
    tg._poll_generation += 1
    generation = tg._poll_generation
    tg._notify()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if tg._poll_generation != generation:
            raise ApiError(409, CONFLICT_OTHER_POLL)
        batch = tg._pending_updates[:limit]
        remaining = deadline - loop.time()
        if batch or remaining <= 0 or tg._closing or tg.webhook is not None:
            return [dict(update) for update in batch]
        await tg._wait_change(remaining)


@api_method("setWebhook")
async def set_webhook(tg: SimulatedTelegram, p: Params) -> bool:
    url = p.get_str("url") or ""
    if not url:
        return await delete_webhook(tg, p)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise bad_request("bad webhook: the double only delivers to 127.0.0.1 or localhost")
    secret = p.get_str("secret_token")
    if secret is not None and not _SECRET_TOKEN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = p.get_int("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = p.get_json("allowed_updates", invalid="can't parse allowed_updates JSON array")
    if allowed is not None and not isinstance(allowed, list):
        raise bad_request("can't parse allowed_updates JSON array")
    if p.get_bool("drop_pending_updates"):
        tg.drop_pending_updates()
    previous = tg.allowed_updates if tg.webhook is None else tg.webhook.allowed_updates
    tg.webhook = WebhookConfig(
        url, secret, max_connections, allowed if allowed is not None else previous
    )
    tg.on_webhook_changed()
    tg._notify()
    return True


@api_method("deleteWebhook")
async def delete_webhook(tg: SimulatedTelegram, p: Params) -> bool:
    if tg.webhook is not None:
        tg.allowed_updates = tg.webhook.allowed_updates
    tg.webhook = None
    if p.get_bool("drop_pending_updates"):
        tg.drop_pending_updates()
    tg.on_webhook_changed()
    tg._notify()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(tg: SimulatedTelegram, p: Params) -> JsonDict:
    info: JsonDict = {
        "url": tg.webhook.url if tg.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(tg._pending_updates),
    }
    if tg.webhook is not None:
        info["max_connections"] = tg.webhook.max_connections
        if tg.webhook.allowed_updates:
            info["allowed_updates"] = tg.webhook.allowed_updates
        if tg.webhook.last_error_date is not None:
            info["last_error_date"] = tg.webhook.last_error_date
            info["last_error_message"] = tg.webhook.last_error_message
    return info


# --------------------------------------------------------------------------------------------
# Sending and editing


@api_method("sendMessage")
async def send_message(tg: SimulatedTelegram, p: Params) -> JsonDict:
    chat = tg.chat_for_sending(p.chat_id())
    text = p.get_str("text")
    parse_mode = p.get_str("parse_mode")
    formatted = message_text(
        text, parse_mode, p.get_json("entities", invalid="can't parse entities JSON object")
    )
    markup = _reply_markup(p)
    reply_to = _reply_target(tg, chat, p)
    tg.check_flood(chat)
    message = tg.record_bot_message(
        chat,
        formatted,
        source=text,
        parse_mode=normalise_parse_mode(parse_mode),
        reply_markup=markup,
        reply_to=reply_to,
    )
    return tg.message_json(message)


async def _send_media(tg: SimulatedTelegram, p: Params, field: str, folder: str) -> JsonDict:
    chat = tg.chat_for_sending(p.chat_id())
    stored = _input_file(tg, p, field, folder)
    caption = p.get_str("caption")
    parse_mode = p.get_str("parse_mode")
    formatted = caption_text(
        caption,
        parse_mode,
        p.get_json("caption_entities", invalid="can't parse entities JSON object"),
    )
    markup = _reply_markup(p)
    reply_to = _reply_target(tg, chat, p)
    tg.check_flood(chat)
    message = tg.record_bot_message(
        chat,
        formatted,
        source=caption,
        parse_mode=normalise_parse_mode(parse_mode),
        reply_markup=markup,
        reply_to=reply_to,
        document=stored if field == "document" else None,
        photo=stored if field == "photo" else None,
    )
    return tg.message_json(message)


@api_method("sendDocument")
async def send_document(tg: SimulatedTelegram, p: Params) -> JsonDict:
    return await _send_media(tg, p, "document", "documents")


@api_method("sendPhoto")
async def send_photo(tg: SimulatedTelegram, p: Params) -> JsonDict:
    return await _send_media(tg, p, "photo", "photos")


@api_method("editMessageText")
async def edit_message_text(tg: SimulatedTelegram, p: Params) -> Any:
    message, inline = _edit_target(tg, p, missing="message to edit not found")
    if message.document is not None or message.photo is not None:
        raise bad_request("there is no text in the message to edit")
    text = p.get_str("text")
    parse_mode = p.get_str("parse_mode")
    formatted = message_text(
        text, parse_mode, p.get_json("entities", invalid="can't parse entities JSON object")
    )
    # Leaving reply_markup out of an edit removes the keyboard, so it is compared as None.
    markup = _reply_markup(p, inline_only=True)
    unchanged = (
        message.plain == formatted.text
        and message.entities == formatted.entities
        and _inline_markup(message.reply_markup) == markup
    )
    if unchanged:
        raise bad_request(NOT_MODIFIED)
    message.history.append(message.version(time.time()))
    message.text = text
    message.parse_mode = normalise_parse_mode(parse_mode)
    message.plain = formatted.text
    message.entities = list(formatted.entities)
    message.reply_markup = markup
    return _apply_edit(tg, message, inline)


@api_method("editMessageCaption")
async def edit_message_caption(tg: SimulatedTelegram, p: Params) -> Any:
    message, inline = _edit_target(tg, p, missing="message to edit not found")
    if message.document is None and message.photo is None:
        raise bad_request("there is no caption in the message to edit")
    caption = p.get_str("caption")
    parse_mode = p.get_str("parse_mode")
    formatted = caption_text(
        caption,
        parse_mode,
        p.get_json("caption_entities", invalid="can't parse entities JSON object"),
    )
    markup = _reply_markup(p, inline_only=True)
    unchanged = (
        (message.plain or "") == formatted.text
        and message.entities == formatted.entities
        and _inline_markup(message.reply_markup) == markup
    )
    if unchanged:
        raise bad_request(NOT_MODIFIED)
    message.history.append(message.version(time.time()))
    message.caption = caption or None
    message.parse_mode = normalise_parse_mode(parse_mode)
    message.plain = formatted.text
    message.entities = list(formatted.entities)
    message.reply_markup = markup
    return _apply_edit(tg, message, inline)


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(tg: SimulatedTelegram, p: Params) -> Any:
    message, inline = _edit_target(tg, p, missing="message to edit not found")
    markup = _reply_markup(p, inline_only=True)
    if _inline_markup(message.reply_markup) == markup:
        raise bad_request(NOT_MODIFIED)
    message.history.append(message.version(time.time()))
    message.reply_markup = markup
    return _apply_edit(tg, message, inline)


@api_method("deleteMessage")
async def delete_message(tg: SimulatedTelegram, p: Params) -> bool:
    chat = tg.resolve_chat(p.chat_id())
    message_id = p.get_int("message_id", invalid="message identifier is not specified")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = tg.message(chat, message_id)
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    if not message.from_bot and chat.type != "private" and not chat.bot_is_admin:
        raise bad_request("message can't be deleted")
    message.deleted = True
    tg._notify()
    return True


@api_method("sendChatAction")
async def send_chat_action(tg: SimulatedTelegram, p: Params) -> bool:
    chat = tg.chat_for_sending(p.chat_id())
    action = p.get_str("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    tg.chat_actions.append((chat.id, action))
    tg._notify()
    return True


# --------------------------------------------------------------------------------------------
# Queries


@api_method("answerCallbackQuery")
async def answer_callback_query(tg: SimulatedTelegram, p: Params) -> bool:
    text = callback_answer_text(p.get_str("text"))
    query = tg.take_query(p.get_str("callback_query_id"), "callback_query")
    tg.record_callback_answer(
        CallbackAnswer(
            query.query_id,
            text,
            p.get_bool("show_alert"),
            p.get_str("url"),
            p.get_int("cache_time") or 0,
        )
    )
    return True


@api_method("answerInlineQuery")
async def answer_inline_query(tg: SimulatedTelegram, p: Params) -> bool:
    results = validate_inline_results(
        p.get_json("results", invalid="can't parse JSON encoded inline query results")
    )
    next_offset = p.get_str("next_offset")
    if next_offset is not None and len(next_offset.encode("utf-8")) > 64:
        raise bad_request("NEXT_OFFSET_INVALID")
    button = p.get_json("button", invalid="can't parse InlineQueryResultsButton JSON object")
    if button is not None and (not isinstance(button, dict) or not button.get("text")):
        raise bad_request("can't parse InlineQueryResultsButton JSON object")
    query = tg.take_query(p.get_str("inline_query_id"), "inline_query")
    tg.record_inline_answer(
        InlineAnswer(
            query.query_id,
            results,
            p.get_int("cache_time"),
            p.get_bool("is_personal"),
            next_offset,
            button,
        )
    )
    return True


# --------------------------------------------------------------------------------------------
# Files


@api_method("getFile")
async def get_file(tg: SimulatedTelegram, p: Params) -> JsonDict:
    stored = tg.file(p.get_str("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.file_size > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }


# --------------------------------------------------------------------------------------------
# Commands, menu button, descriptions


@api_method("setMyCommands")
async def set_my_commands(tg: SimulatedTelegram, p: Params) -> bool:
    commands = validate_bot_commands(
        p.get_json("commands", invalid="can't parse BotCommand array JSON object")
    )
    tg.commands[_command_scope(tg, p)] = commands
    return True


@api_method("getMyCommands")
async def get_my_commands(tg: SimulatedTelegram, p: Params) -> list[JsonDict]:
    return list(tg.commands.get(_command_scope(tg, p), []))


@api_method("deleteMyCommands")
async def delete_my_commands(tg: SimulatedTelegram, p: Params) -> bool:
    tg.commands.pop(_command_scope(tg, p), None)
    return True


@api_method("setChatMenuButton")
async def set_chat_menu_button(tg: SimulatedTelegram, p: Params) -> bool:
    chat_id = tg.resolve_chat(p.chat_id()).id if p.has("chat_id") else None
    button = p.get_json("menu_button", invalid="can't parse MenuButton JSON object")
    if button is None:
        button = {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse MenuButton JSON object")
    if button["type"] == "web_app" and not (button.get("text") and button.get("web_app")):
        raise bad_request("can't parse MenuButton JSON object")
    if button["type"] == "web_app" and not str(button["web_app"].get("url", "")).startswith(
        "https://"
    ):
        raise bad_request("BUTTON_TYPE_INVALID")
    tg.menu_buttons[chat_id] = button
    return True


@api_method("getChatMenuButton")
async def get_chat_menu_button(tg: SimulatedTelegram, p: Params) -> JsonDict:
    chat_id = tg.resolve_chat(p.chat_id()).id if p.has("chat_id") else None
    return tg.menu_buttons.get(chat_id) or tg.menu_buttons.get(None) or {"type": "default"}


def _description_methods(field: str, setter: str, getter: str, limit: int) -> None:
    async def set_value(tg: SimulatedTelegram, p: Params) -> bool:
        value = p.get_str(field) or ""
        if len(value) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        tg.descriptions[(field, p.get_str("language_code") or "")] = value
        return True

    async def get_value(tg: SimulatedTelegram, p: Params) -> JsonDict:
        return {field: tg.descriptions.get((field, p.get_str("language_code") or ""), "")}

    api_method(setter)(set_value)
    api_method(getter)(get_value)


_description_methods("description", "setMyDescription", "getMyDescription", 512)
_description_methods("short_description", "setMyShortDescription", "getMyShortDescription", 120)
_description_methods("name", "setMyName", "getMyName", 64)


# --------------------------------------------------------------------------------------------
# Chats


@api_method("getChat")
async def get_chat(tg: SimulatedTelegram, p: Params) -> JsonDict:
    return _full_chat(tg.resolve_chat(p.chat_id()))


@api_method("getChatMember")
async def get_chat_member(tg: SimulatedTelegram, p: Params) -> JsonDict:
    chat = tg.resolve_chat(p.chat_id())
    user_id = p.get_int("user_id", invalid="user not found")
    if user_id is None:
        raise bad_request("user not found")
    if chat.type == "private" and user_id not in (chat.id, tg.bot.id):
        raise bad_request("user not found")
    return _member_json(tg, chat, user_id)
