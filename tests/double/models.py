"""What the double remembers: users, chats, messages, files, requests and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .validation import keyboard_callback_data

JsonDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
QueryKind = Literal["callback_query", "inline_query"]


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_api(self) -> JsonDict:
        data: JsonDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    # Whether the bot is an administrator; in groups this also lifts privacy mode.
    bot_is_admin: bool = False
    bot_is_member: bool = True

    def to_api(self) -> JsonDict:
        data: JsonDict = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return data


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class MessageVersion:
    """One state of a message; earlier states are kept when the bot edits it."""

    text: str | None
    parse_mode: str | None
    plain: str | None
    entities: list[JsonDict]
    reply_markup: JsonDict | None
    at: float


@dataclass(repr=False)
class Message:
    """A message in a chat, sent either by the bot or by a simulated user.

    ``text`` and ``caption`` hold what the sender submitted (HTML source when parse_mode is
    HTML); ``plain`` is what a recipient sees after entity parsing.
    """

    chat: Chat
    message_id: int
    date: int
    from_bot: bool
    sender: User | None
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    plain: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    reply_markup: JsonDict | None = None
    reply_to_message_id: int | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    sizes: list[StoredFile] = field(default_factory=list)
    """A user's photo, as Telegram keeps it: one file per size, smallest first."""
    video: StoredVideo | None = None
    extra: JsonDict = field(default_factory=dict)
    edit_date: int | None = None
    history: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False

    def __repr__(self) -> str:
        shown = self.plain if self.plain is not None else self.text
        flags = "".join(
            f", {name}" for name, on in (("edited", self.edited), ("deleted", self.deleted)) if on
        )
        author = "bot" if self.from_bot else (self.sender.id if self.sender else "?")
        return (
            f"Message(chat={self.chat.id}, id={self.message_id}, from={author}, "
            f"plain={shown!r}{flags})"
        )

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def reply_to(self) -> int | None:
        return self.reply_to_message_id

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def callback_data(self) -> list[str]:
        return keyboard_callback_data(self.reply_markup)

    @property
    def buttons(self) -> list[JsonDict]:
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    def version(self, at: float) -> MessageVersion:
        source = self.text if self.document is None and self.photo is None else self.caption
        return MessageVersion(
            source, self.parse_mode, self.plain, list(self.entities), self.reply_markup, at
        )

    def to_api(self, *, bot_user: User, include_reply: bool = True) -> JsonDict:
        data: JsonDict = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": self.chat.to_api(),
        }
        sender = bot_user if self.from_bot else self.sender
        if sender is not None and self.chat.type != "channel":
            data["from"] = sender.to_api()
        if self.chat.type == "channel" and self.chat.title:
            data["sender_chat"] = self.chat.to_api()
        data.update(self.extra)
        entities_key = "entities"
        if self.document is not None:
            data["document"] = _document(self.document)
            entities_key = "caption_entities"
        elif self.photo is not None:
            data["photo"] = _photo_sizes(self.photo)
            entities_key = "caption_entities"
        elif self.sizes:
            data["photo"] = [_photo_size(size) for size in self.sizes]
            entities_key = "caption_entities"
        elif self.video is not None:
            data["video"] = self.video.to_api()
            entities_key = "caption_entities"
        if self.plain:
            data["text" if entities_key == "entities" else "caption"] = self.plain
            if self.entities:
                data[entities_key] = [dict(e) for e in self.entities]
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        return data


def _document(stored: StoredFile) -> JsonDict:
    data: JsonDict = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }
    if stored.file_name:
        data["file_name"] = stored.file_name
    if stored.mime_type:
        data["mime_type"] = stored.mime_type
    return data


def _photo_sizes(stored: StoredFile) -> list[JsonDict]:
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "width": 1280,
            "height": 720,
        }
    ]


def _photo_size(stored: StoredFile) -> JsonDict:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "width": stored.width or 0,
        "height": stored.height or 0,
    }


@dataclass
class StoredVideo:
    """A video as Telegram describes it: the file, a thumbnail it made, and the cover the
    sender chose (in sizes), if any."""

    file: StoredFile
    width: int
    height: int
    duration: int
    thumbnail: StoredFile | None = None
    cover: list[StoredFile] = field(default_factory=list)

    def to_api(self) -> JsonDict:
        data: JsonDict = {
            "file_id": self.file.file_id,
            "file_unique_id": self.file.file_unique_id,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "mime_type": self.file.mime_type or "video/mp4",
            "file_size": self.file.file_size,
        }
        if self.thumbnail is not None:
            data["thumbnail"] = _photo_size(self.thumbnail)
        if self.cover:
            data["cover"] = [_photo_size(size) for size in self.cover]
        return data


@dataclass
class Call:
    """One HTTP request the double received."""

    method: str
    params: JsonDict
    files: dict[str, tuple[str | None, int]]
    time: float
    status: int | None = None  # None while in flight, or when the connection was dropped
    response: JsonDict | None = None
    dropped: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def description(self) -> str | None:
        return None if self.response is None else self.response.get("description")


@dataclass
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class InlineAnswer:
    inline_query_id: str
    results: list[JsonDict]
    cache_time: int | None
    is_personal: bool
    next_offset: str | None
    button: JsonDict | None

    @property
    def result_ids(self) -> list[str]:
        return [result["id"] for result in self.results]


@dataclass
class PendingQuery:
    """A callback or inline query waiting for its one allowed answer."""

    query_id: str
    user: User
    kind: QueryKind
    payload: JsonDict
    answered: bool = False


@dataclass
class WebhookDelivery:
    update_id: int
    url: str
    headers: dict[str, str]
    status: int | None
    error: str | None = None
