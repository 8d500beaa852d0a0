"""The simulated Telegram side: who exists, what was said, and which updates are waiting.

Everything here is synchronous and driven by tests; the HTTP layer in ``server.py`` exposes it
to the bot. Mistakes in how a test drives the simulation (pressing a button that does not exist,
replying to an unknown message) raise ``ValueError`` immediately instead of producing an update
that real Telegram could never send.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

from .models import (
    CallbackAnswer,
    Chat,
    ChatType,
    InlineAnswer,
    JsonDict,
    Message,
    PendingQuery,
    QueryKind,
    StoredFile,
    StoredVideo,
    User,
)
from .validation import (
    QUERY_TOO_OLD,
    ApiError,
    FormattedText,
    bad_request,
    detect_entities,
    keyboard_callback_data,
    message_text,
    normalise_parse_mode,
    too_many_requests,
)

DEFAULT_TOKEN = "123456789:AAH-double-token-for-tests"
# Without an explicit allowed_updates list these types are never delivered (Bot API docs).
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MemberStatus = Literal["creator", "administrator", "member", "left", "kicked"]
UserRef = User | int
ChatRef = Chat | User | int

PHOTO_SIDES = (90, 320, 800, 1280)
"""The longest side of each size Telegram keeps of a photo (s, m, x, y)."""


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


class _FloodLimit:
    def __init__(self, per_chat: int, per_seconds: float, retry_after: int | None) -> None:
        self.per_chat = per_chat
        self.per_seconds = per_seconds
        self.retry_after = retry_after
        self.sent: dict[int, deque[float]] = {}

    def check(self, chat_id: int, now: float) -> None:
        window = self.sent.setdefault(chat_id, deque())
        while window and now - window[0] >= self.per_seconds:
            window.popleft()
        if len(window) >= self.per_chat:
            wait = self.retry_after or max(1, math.ceil(window[0] + self.per_seconds - now))
            raise too_many_requests(wait)
        window.append(now)


def is_token_shaped(token: str) -> bool:
    bot_id, sep, secret = token.partition(":")
    return bool(sep) and bot_id.isdigit() and bool(secret)


class SimulatedTelegram:
    """State of the fake Telegram plus the API tests use to act as users."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "factcheck_test_bot",
        bot_name: str = "Factcheck Test Bot",
        privacy_mode: bool = True,
        supports_inline_queries: bool = True,
        can_join_groups: bool = True,
    ) -> None:
        if not is_token_shaped(token):
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        self.bot = User(
            int(token.partition(":")[0]),
            bot_name,
            username=bot_username,
            is_bot=True,
            language_code=None,
        )
        # With privacy mode on (Telegram's default) a bot that is not an admin only sees
        # commands, replies to its own messages and service messages in groups.
        self.privacy_mode = privacy_mode
        self.supports_inline_queries = supports_inline_queries
        self.can_join_groups = can_join_groups

        self.users: dict[int, User] = {self.bot.id: self.bot}
        self.chats: dict[int, Chat] = {}
        self._messages: dict[int, dict[int, Message]] = {}
        self._next_message_id: dict[int, int] = {}
        self._inline_messages: dict[str, Message] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._members: dict[tuple[int, int], MemberStatus] = {}
        self._blocked_by: set[int] = set()

        self._pending_updates: list[JsonDict] = []
        self._next_update_id = 700_000_001
        self.withheld_updates: list[JsonDict] = []
        self.allowed_updates: list[str] | None = None
        self.webhook: WebhookConfig | None = None

        self._query_counter = itertools.count(4_382_000_000_000_000_001)
        self._queries: dict[str, PendingQuery] = {}
        self._callback_answers: list[CallbackAnswer] = []
        self._inline_answers: list[InlineAnswer] = []
        self._inline_query_text: dict[str, tuple[int, str]] = {}

        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JsonDict] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self._flood: _FloodLimit | None = None

        self._poll_generation = 0
        self._closing = False
        self._changed: asyncio.Event | None = None

    # ----------------------------------------------------------------------------------------
    # Change notification, shared by long polling, webhook delivery and the wait helpers

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait_change(self, max_wait: float | None) -> None:
        if self._closing:
            # Nothing will change any more; callers re-check their own exit conditions.
            await asyncio.sleep(min(max_wait, 0.05) if max_wait is not None else 0.05)
            return
        if self._changed is None:
            self._changed = asyncio.Event()
        event = self._changed
        if max_wait is not None and max_wait <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max_wait)

    # ----------------------------------------------------------------------------------------
    # Registering users and chats

    def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        user = User(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        return user

    def add_private_chat(self, user: UserRef) -> Chat:
        """The private chat of a user who has started the bot."""
        member = self._user(user)
        chat = Chat(
            member.id,
            "private",
            username=member.username,
            first_name=member.first_name,
            last_name=member.last_name,
        )
        self.chats[chat.id] = chat
        return chat

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool | None = None,
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> Chat:
        if chat_id >= 0:
            raise ValueError("group ids are negative")
        if supergroup is None:
            supergroup = str(chat_id).startswith("-100")
        kind: ChatType = "supergroup" if supergroup else "group"
        chat = Chat(chat_id, kind, title=title, username=username, bot_is_admin=bot_is_admin)
        self.chats[chat_id] = chat
        return chat

    def add_channel(
        self, chat_id: int, title: str, username: str | None = None, *, bot_is_admin: bool = True
    ) -> Chat:
        if chat_id >= 0:
            raise ValueError("channel ids are negative")
        chat = Chat(chat_id, "channel", title=title, username=username, bot_is_admin=bot_is_admin)
        self.chats[chat_id] = chat
        return chat

    def block_bot(self, user: UserRef) -> None:
        """The user blocks the bot: sending to them fails with 403 from now on."""
        self._blocked_by.add(self._user(user).id)

    def unblock_bot(self, user: UserRef) -> None:
        self._blocked_by.discard(self._user(user).id)

    def remove_bot_from(self, chat: ChatRef) -> None:
        self._chat(chat).bot_is_member = False

    def set_member_status(self, chat: ChatRef, user: UserRef, status: MemberStatus) -> None:
        self._members[(self._chat(chat).id, self._user(user).id)] = status

    def register_file(
        self,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        folder: str = "documents",
    ) -> StoredFile:
        """Store bytes the way Telegram stores an upload and hand out a file_id for them."""
        number = next(self._file_counter)
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:05d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AgAD{number:05d}",
            file_path=f"{folder}/file_{number}{suffix}",
            data=bytes(data),
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def flood_limit(
        self, per_chat: int, per_seconds: float = 1.0, *, retry_after: int | None = None
    ) -> None:
        """Answer 429 once the bot sends more than per_chat messages to a chat per window."""
        self._flood = _FloodLimit(per_chat, per_seconds, retry_after)

    def clear_flood_limit(self) -> None:
        self._flood = None

    # ----------------------------------------------------------------------------------------
    # Acting as users

    def user_sends(
        self,
        user: UserRef,
        chat: ChatRef,
        text: str,
        *,
        reply_to: Message | int | None = None,
        entities: list[JsonDict] | None = None,
    ) -> JsonDict:
        """A text message; commands, mentions, hashtags and URLs get their entities."""
        message = self._user_message(user, chat, reply_to)
        message.text = message.plain = text
        message.entities = detect_entities(text) if entities is None else entities
        return self._deliver_message(message)

    def user_sends_caption(
        self,
        user: UserRef,
        chat: ChatRef,
        caption: str,
        *,
        photo: bytes = b"\x89PNG\r\n\x1a\nphoto",
        reply_to: Message | int | None = None,
    ) -> JsonDict:
        """A photo with a caption."""
        message = self._user_message(user, chat, reply_to)
        message.photo = self.register_file(photo, mime_type="image/jpeg", folder="photos")
        message.caption = message.plain = caption
        message.entities = detect_entities(caption)
        return self._deliver_message(message)

    def photo_sizes(self, picture: bytes) -> list[StoredFile]:
        """A photo stored as Telegram stores one: re-encoded as JPEG at every standard size
        up to the picture's own (longest side 90, 320, 800, 1280), a file each."""
        image = Image.open(io.BytesIO(picture)).convert("RGB")
        sizes: list[StoredFile] = []
        for side in PHOTO_SIDES:
            scale = min(1.0, side / max(image.size))
            shown = image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            )
            out = io.BytesIO()
            shown.save(out, "JPEG", quality=87)
            stored = self.register_file(out.getvalue(), mime_type="image/jpeg", folder="photos")
            stored.width, stored.height = shown.size
            sizes.append(stored)
            if scale == 1.0:
                break
        return sizes

    def user_sends_photo(
        self,
        user: UserRef,
        chat: ChatRef,
        picture: bytes | list[StoredFile],
        caption: str | None = None,
        *,
        reply_to: Message | int | None = None,
        from_channel: ChatRef | None = None,
        origin_message_id: int | None = None,
    ) -> JsonDict:
        """A photo, in Telegram's sizes; given the sizes of an earlier one, the same files
        again, as a forward keeps them (`from_channel` makes it a forward of a post)."""
        message = self._user_message(user, chat, reply_to)
        message.sizes = picture if isinstance(picture, list) else self.photo_sizes(picture)
        if caption:
            message.caption = message.plain = caption
            message.entities = detect_entities(caption)
        if from_channel is not None:
            message.extra["forward_origin"] = {
                "type": "channel",
                "chat": self._chat(from_channel).to_api(),
                "message_id": origin_message_id or 1,
                "date": int(time.time()) - 3600,
            }
        return self._deliver_message(message)

    def user_sends_video(
        self,
        user: UserRef,
        chat: ChatRef,
        video: bytes | StoredVideo,
        *,
        thumbnail: bytes | None = None,
        cover: bytes | None = None,
        caption: str | None = None,
        reply_to: Message | int | None = None,
    ) -> JsonDict:
        """A video with the thumbnail Telegram made of it and, optionally, a cover; given an
        earlier one, the same files again (a forward)."""
        message = self._user_message(user, chat, reply_to)
        if isinstance(video, StoredVideo):
            message.video = video
        else:
            still = None
            if thumbnail is not None:
                # Telegram's thumbnails are at most 320 pixels across.
                still = self.photo_sizes(thumbnail)[:2][-1]
            message.video = StoredVideo(
                self.register_file(video, mime_type="video/mp4", folder="videos"),
                1280,
                720,
                12,
                still,
                self.photo_sizes(cover) if cover is not None else [],
            )
        if caption:
            message.caption = message.plain = caption
            message.entities = detect_entities(caption)
        return self._deliver_message(message)

    def user_sends_document(
        self,
        user: UserRef,
        chat: ChatRef,
        filename: str,
        data: bytes,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
        reply_to: Message | int | None = None,
    ) -> JsonDict:
        message = self._user_message(user, chat, reply_to)
        message.document = self.register_file(data, file_name=filename, mime_type=mime_type)
        if caption:
            message.caption = message.plain = caption
            message.entities = detect_entities(caption)
        return self._deliver_message(message)

    def user_forwards(
        self,
        user: UserRef,
        chat: ChatRef,
        text: str,
        *,
        from_channel: ChatRef | None = None,
        from_user: UserRef | None = None,
        hidden_user_name: str | None = None,
        origin_message_id: int | None = None,
        origin_date: int | None = None,
    ) -> JsonDict:
        """A forwarded text message, with the Bot API 7 ``forward_origin`` field."""
        sources = [s for s in (from_channel, from_user, hidden_user_name) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of from_channel, from_user, hidden_user_name")
        date = origin_date if origin_date is not None else int(time.time()) - 3600
        origin: JsonDict
        if from_channel is not None:
            channel = self._chat(from_channel)
            if channel.type != "channel":
                raise ValueError("from_channel must be a channel")
            origin = {
                "type": "channel",
                "chat": channel.to_api(),
                "message_id": origin_message_id if origin_message_id is not None else 1,
                "date": date,
            }
        elif from_user is not None:
            origin = {"type": "user", "sender_user": self._user(from_user).to_api(), "date": date}
        else:
            origin = {"type": "hidden_user", "sender_user_name": hidden_user_name, "date": date}
        message = self._user_message(user, chat, None)
        message.text = message.plain = text
        message.entities = detect_entities(text)
        message.extra["forward_origin"] = origin
        return self._deliver_message(message)

    def user_edits(self, message: Message, text: str) -> JsonDict:
        """A user edits one of their text messages (an ``edited_message`` update)."""
        if message.from_bot or message.text is None:
            raise ValueError("only a user's text message can be edited by the user")
        message.history.append(message.version(time.time()))
        message.text = message.plain = text
        message.entities = detect_entities(text)
        message.edit_date = int(time.time())
        update_type = "edited_channel_post" if message.chat.type == "channel" else "edited_message"
        return self._enqueue({update_type: self.message_json(message)}, visible=True)

    def channel_posts(self, channel: ChatRef, text: str) -> JsonDict:
        chat = self._chat(channel)
        if chat.type != "channel":
            raise ValueError("channel_posts needs a channel")
        message = Message(chat, self._allocate_message_id(chat.id), int(time.time()), False, None)
        message.text = message.plain = text
        message.entities = detect_entities(text)
        self._store(message)
        return self._enqueue({"channel_post": self.message_json(message)}, visible=True)

    def user_presses(self, user: UserRef, message: Message, callback_data: str) -> JsonDict:
        """The user presses an inline button with this callback_data on a bot message."""
        presser = self._user(user)
        current = self.message(message.chat.id, message.message_id)
        if current is None or current.deleted or not current.from_bot:
            raise ValueError("the bot has no such message in that chat (deleted?)")
        if current.chat.type == "private" and current.chat.id != presser.id:
            raise ValueError("a user can only press buttons in their own private chat")
        available = keyboard_callback_data(current.reply_markup)
        if callback_data not in available:
            raise ValueError(
                f"message {current.message_id} has no button with callback_data "
                f"{callback_data!r}; it has {available!r}"
            )
        query_id = str(next(self._query_counter))
        payload: JsonDict = {
            "id": query_id,
            "from": presser.to_api(),
            "message": self.message_json(current),
            "chat_instance": str(-abs(current.chat.id) * 7919 - 1),
            "data": callback_data,
        }
        self._queries[query_id] = PendingQuery(query_id, presser, "callback_query", payload)
        return self._enqueue({"callback_query": payload}, visible=True)

    def user_inline_query(
        self,
        user: UserRef,
        query: str,
        *,
        chat_type: str | None = "sender",
        offset: str = "",
    ) -> JsonDict:
        if not self.supports_inline_queries:
            raise ValueError("inline mode is disabled for this bot")
        sender = self._user(user)
        query_id = str(next(self._query_counter))
        payload: JsonDict = {
            "id": query_id,
            "from": sender.to_api(),
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            payload["chat_type"] = chat_type
        self._queries[query_id] = PendingQuery(query_id, sender, "inline_query", payload)
        self._inline_query_text[query_id] = (sender.id, query)
        return self._enqueue({"inline_query": payload}, visible=True)

    def user_chooses_inline_result(self, user: UserRef, result_id: str, query: str) -> JsonDict:
        """The user picks a result the bot offered for this query text."""
        sender = self._user(user)
        answer = self._latest_inline_answer(sender.id, query)
        if answer is None:
            raise ValueError(f"the bot never answered an inline query {query!r} from this user")
        chosen = next((r for r in answer.results if r["id"] == result_id), None)
        if chosen is None:
            raise ValueError(f"no result {result_id!r}; offered {answer.result_ids!r}")
        payload: JsonDict = {"result_id": result_id, "from": sender.to_api(), "query": query}
        if chosen.get("reply_markup"):
            # Only messages with a keyboard get an inline_message_id the bot can edit later.
            inline_id = secrets.token_urlsafe(18)
            content = chosen.get("input_message_content") or {}
            source = content.get("message_text")
            formatted = (
                message_text(source, content.get("parse_mode"), content.get("entities"))
                if source
                else FormattedText("")
            )
            self._inline_messages[inline_id] = Message(
                Chat(sender.id, "private"),
                0,
                int(time.time()),
                True,
                None,
                text=source,
                parse_mode=normalise_parse_mode(content.get("parse_mode")),
                plain=formatted.text,
                entities=list(formatted.entities),
                reply_markup=chosen["reply_markup"],
            )
            payload["inline_message_id"] = inline_id
        return self._enqueue({"chosen_inline_result": payload}, visible=True)

    def inject(self, update: JsonDict) -> JsonDict:
        """Queue a raw update as given, for hostile or unusual input.

        Chats, users, messages and queries found in it become known, so the bot can answer
        them: whatever Telegram delivers, Telegram accepts an answer for.
        """
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._learn_from(update)
        kinds: tuple[QueryKind, ...] = ("callback_query", "inline_query")
        for kind in kinds:
            payload = update.get(kind)
            if isinstance(payload, dict) and isinstance(payload.get("id"), str):
                sender = payload.get("from")
                sender_id = sender.get("id") if isinstance(sender, dict) else None
                user = self.users.get(sender_id) if isinstance(sender_id, int) else None
                self._queries[payload["id"]] = PendingQuery(
                    payload["id"], user or User(0, "?"), kind, payload
                )
                if kind == "inline_query" and user is not None:
                    self._inline_query_text[payload["id"]] = (user.id, str(payload.get("query")))
        return self._enqueue(update, visible=True, assign_id=False)

    # ----------------------------------------------------------------------------------------
    # Observing what the bot did

    def messages_to(self, chat: ChatRef, *, include_deleted: bool = False) -> list[Message]:
        """Messages the bot sent to a chat, oldest first, in their current (edited) state."""
        chat_id = self._chat_id(chat)
        return [
            m
            for m in self._messages.get(chat_id, {}).values()
            if m.from_bot and (include_deleted or not m.deleted)
        ]

    def chat_history(self, chat: ChatRef) -> list[Message]:
        """Every message in a chat from both sides, including deleted ones."""
        return list(self._messages.get(self._chat_id(chat), {}).values())

    def message(self, chat: ChatRef, message_id: int) -> Message | None:
        return self._messages.get(self._chat_id(chat), {}).get(message_id)

    def inline_message(self, inline_message_id: str) -> Message | None:
        return self._inline_messages.get(inline_message_id)

    def callback_answers(self, callback_query_id: str | None = None) -> list[CallbackAnswer]:
        return [
            a
            for a in self._callback_answers
            if callback_query_id is None or a.callback_query_id == callback_query_id
        ]

    def inline_answers(self, inline_query_id: str | None = None) -> list[InlineAnswer]:
        return [
            a
            for a in self._inline_answers
            if inline_query_id is None or a.inline_query_id == inline_query_id
        ]

    def file(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by the bot (polling) or accepted by its webhook."""
        return list(self._pending_updates)

    # ----------------------------------------------------------------------------------------
    # Internals shared with the method implementations

    def message_json(self, message: Message, *, with_reply: bool = True) -> JsonDict:
        data = message.to_api(bot_user=self.bot)
        if with_reply and message.reply_to_message_id is not None:
            target = self.message(message.chat.id, message.reply_to_message_id)
            if target is not None:
                data["reply_to_message"] = self.message_json(target, with_reply=False)
        return data

    def resolve_chat(self, chat_id: int | str) -> Chat:
        if isinstance(chat_id, str):
            wanted = chat_id.removeprefix("@").lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == wanted and chat.type != "private":
                    return chat
            raise bad_request("chat not found")
        found = self.chats.get(chat_id)
        if found is None:
            raise bad_request("chat not found")
        return found

    def chat_for_sending(self, chat_id: int | str) -> Chat:
        """Resolve a chat and check the bot may post there, with the server's 403 errors."""
        if isinstance(chat_id, int) and chat_id not in self.chats and chat_id in self.users:
            if chat_id in self._blocked_by:
                raise _forbidden("bot was blocked by the user")
            raise _forbidden("bot can't initiate conversation with a user")
        chat = self.resolve_chat(chat_id)
        if chat.type == "private":
            if chat.id in self._blocked_by:
                raise _forbidden("bot was blocked by the user")
        elif chat.type == "channel":
            if not chat.bot_is_member:
                raise _forbidden("bot is not a member of the channel chat")
            if not chat.bot_is_admin:
                raise bad_request("need administrator rights in the channel chat")
        elif not chat.bot_is_member:
            raise _forbidden(f"bot was kicked from the {chat.type} chat")
        return chat

    def check_flood(self, chat: Chat) -> None:
        if self._flood is not None:
            self._flood.check(chat.id, time.monotonic())

    def record_bot_message(
        self,
        chat: Chat,
        formatted: FormattedText,
        *,
        source: str | None,
        parse_mode: str | None,
        reply_markup: JsonDict | None,
        reply_to: int | None,
        document: StoredFile | None = None,
        photo: StoredFile | None = None,
    ) -> Message:
        message = Message(
            chat,
            self._allocate_message_id(chat.id),
            int(time.time()),
            True,
            self.bot,
            parse_mode=parse_mode,
            plain=formatted.text,
            entities=list(formatted.entities),
            reply_markup=reply_markup,
            reply_to_message_id=reply_to,
            document=document,
            photo=photo,
        )
        if document is None and photo is None:
            message.text = source
        else:
            message.caption = source or None
        self._store(message)
        self._notify()
        return message

    def stored_file_by_path(self, file_path: str) -> StoredFile | None:
        return self._files_by_path.get(file_path)

    def take_query(self, query_id: str | None, kind: str) -> PendingQuery:
        """A query may be answered once; later or unknown ids get the "too old" error."""
        query = self._queries.get(query_id or "")
        if query is None or query.kind != kind or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        query.answered = True
        return query

    def record_callback_answer(self, answer: CallbackAnswer) -> None:
        self._callback_answers.append(answer)
        self._notify()

    def record_inline_answer(self, answer: InlineAnswer) -> None:
        self._inline_answers.append(answer)
        self._notify()

    def member_status(self, chat: Chat, user: User) -> MemberStatus:
        if user.id == self.bot.id:
            if not chat.bot_is_member:
                return "kicked"
            return "administrator" if chat.bot_is_admin else "member"
        return self._members.get((chat.id, user.id), "member")

    def confirm_updates(self, offset: int) -> None:
        """getUpdates with an offset forgets every update below it."""
        if offset < 0:
            # A negative offset keeps only the last -offset updates.
            self._pending_updates = self._pending_updates[offset:]
        else:
            self._pending_updates = [u for u in self._pending_updates if u["update_id"] >= offset]

    def drop_pending_updates(self) -> None:
        self._pending_updates.clear()

    def on_webhook_changed(self) -> None:
        """Hook for the server to start or stop webhook delivery."""

    # ----------------------------------------------------------------------------------------

    def _user(self, user: UserRef) -> User:
        if isinstance(user, User):
            self.users.setdefault(user.id, user)
            return user
        found = self.users.get(user)
        if found is None:
            raise ValueError(f"unknown user {user}; call add_user first")
        return found

    def _chat(self, chat: ChatRef) -> Chat:
        if isinstance(chat, Chat):
            self.chats.setdefault(chat.id, chat)
            return self.chats[chat.id]
        chat_id = chat.id if isinstance(chat, User) else chat
        found = self.chats.get(chat_id)
        if found is None:
            raise ValueError(f"unknown chat {chat_id}; register it first")
        return found

    def _chat_id(self, chat: ChatRef) -> int:
        return chat.id if isinstance(chat, (Chat, User)) else chat

    def _allocate_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _store(self, message: Message) -> None:
        self._messages.setdefault(message.chat.id, {})[message.message_id] = message

    def _user_message(
        self, user: UserRef, chat: ChatRef, reply_to: Message | int | None
    ) -> Message:
        sender = self._user(user)
        target = self._chat(chat)
        if target.type == "channel":
            raise ValueError("users cannot post in a channel; use channel_posts")
        if target.type == "private" and target.id != sender.id:
            raise ValueError("in a private chat only its user can write")
        reply_id: int | None = None
        if reply_to is not None:
            reply_id = reply_to if isinstance(reply_to, int) else reply_to.message_id
            replied = self.message(target.id, reply_id)
            if replied is None or replied.deleted:
                raise ValueError(f"no message {reply_id} in chat {target.id} to reply to")
        return Message(
            target,
            self._allocate_message_id(target.id),
            int(time.time()),
            False,
            sender,
            reply_to_message_id=reply_id,
        )

    def _deliver_message(self, message: Message) -> JsonDict:
        self._store(message)
        return self._enqueue(
            {"message": self.message_json(message)}, visible=self._bot_sees(message)
        )

    def _bot_sees(self, message: Message) -> bool:
        if message.chat.type not in ("group", "supergroup"):
            return True
        if not self.privacy_mode or message.chat.bot_is_admin:
            return True
        if message.reply_to_message_id is not None:
            replied = self.message(message.chat.id, message.reply_to_message_id)
            if replied is not None and replied.from_bot:
                return True
        text = message.plain or ""
        for entity in message.entities:
            if entity["type"] != "bot_command":
                continue
            command = _utf16_slice(text, entity["offset"], entity["length"])
            _, at, addressee = command.partition("@")
            if not at or addressee.lower() == (self.bot.username or "").lower():
                return True
        return False

    def _enqueue(self, update: JsonDict, *, visible: bool, assign_id: bool = True) -> JsonDict:
        if not (visible and self._allows(update)):
            # Telegram never creates these updates, so they take no update_id either.
            self.withheld_updates.append(update)
            return update
        if assign_id:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
        self._pending_updates.append(update)
        self._notify()
        return update

    def _allows(self, update: JsonDict) -> bool:
        kind = next((key for key in update if key != "update_id"), None)
        allowed = self.webhook.allowed_updates if self.webhook else self.allowed_updates
        if not allowed:
            return kind not in OPT_IN_UPDATE_TYPES
        return kind in allowed

    def _latest_inline_answer(self, user_id: int, query: str) -> InlineAnswer | None:
        for answer in reversed(self._inline_answers):
            if self._inline_query_text.get(answer.inline_query_id) == (user_id, query):
                return answer
        return None

    def _learn_from(self, value: Any, key: str | None = None) -> None:
        if isinstance(value, list):
            for item in value:
                self._learn_from(item)
            return
        if not isinstance(value, dict):
            return
        if (
            key in ("from", "sender_user", "user")
            and isinstance(value.get("id"), int)
            and value["id"] not in self.users
            and isinstance(value.get("first_name"), str)
        ):
            self.users[value["id"]] = User(
                value["id"],
                value["first_name"],
                value.get("last_name"),
                value.get("username"),
                value.get("language_code"),
                bool(value.get("is_bot")),
            )
        if key == "chat" and isinstance(value.get("id"), int) and value["id"] not in self.chats:
            kind = value.get("type")
            if kind in ("private", "group", "supergroup", "channel"):
                self.chats[value["id"]] = Chat(
                    value["id"],
                    kind,
                    title=value.get("title"),
                    username=value.get("username"),
                    first_name=value.get("first_name"),
                    last_name=value.get("last_name"),
                    bot_is_admin=kind == "channel",
                )
        if key in ("message", "edited_message", "channel_post", "reply_to_message"):
            self._learn_message(value)
        for child_key, child in value.items():
            self._learn_from(child, child_key)

    def _learn_message(self, data: JsonDict) -> None:
        chat_data, message_id = data.get("chat"), data.get("message_id")
        if not isinstance(chat_data, dict) or not isinstance(message_id, int):
            return
        self._learn_from(chat_data, "chat")
        chat = self.chats.get(chat_data.get("id"))  # type: ignore[arg-type]
        if chat is None:
            return
        sender_data = data.get("from")
        sender = self.users.get(sender_data["id"]) if isinstance(sender_data, dict) else None
        text = data.get("text") or data.get("caption")
        message = Message(
            chat,
            message_id,
            int(data.get("date") or time.time()),
            sender is not None and sender.id == self.bot.id,
            sender,
            text=data.get("text"),
            caption=data.get("caption"),
            plain=text if isinstance(text, str) else None,
        )
        self._store(message)
        self._next_message_id[chat.id] = max(self._next_message_id.get(chat.id, 1), message_id + 1)


def _forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le", "surrogatepass")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", "surrogatepass")


def scope_key(scope: JsonDict | None, language_code: str | None) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""
