"""The checks the Bot API applies to what a bot sends, as pure functions.

Error descriptions follow the real server where its wording is known. Where the real server is
lenient but the Bot API documentation asks for something (escaping every bare ``&`` and ``>`` in
HTML), the double enforces the documentation, because code that relies on the leniency breaks
the first time the text contains something that looks like a tag or an entity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_INLINE_KEYBOARD_BUTTONS = 100
MAX_BOT_COMMANDS = 100

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

JsonDict = dict[str, Any]


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description, optional parameters."""

    def __init__(
        self, error_code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def to_json(self) -> JsonDict:
        body: JsonDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units, so most emoji count as two."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _byte_offset(source: str, index: int) -> int:
    # The real parser reports positions as byte offsets into the UTF-8 source.
    return len(source[:index].encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------------------------
# HTML parse mode


class HtmlParseError(ValueError):
    """The text after "can't parse entities: " in the server's error description."""


@dataclass(frozen=True)
class FormattedText:
    """Text as a recipient sees it, with entities measured in UTF-16 code units."""

    text: str
    entities: list[JsonDict] = field(default_factory=list)


SUPPORTED_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_STYLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_CHAR_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHAR_REF = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,6}));")
_TAG_SPACE = " \t\r\n\f\v"
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_LINK_SCHEME = re.compile(r"^(https?|tg|ton|ftp|mailto)://", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*(\.[A-Za-z0-9\-]+)+([/?#:].*)?$")


def _decode_char_ref(source: str, index: int) -> tuple[str, int] | None:
    match = _CHAR_REF.match(source, index)
    if match is None:
        return None
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_CHAR_REFS[named], match.end()
    code = int(decimal, 10) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    byte_offset: int
    start: int  # UTF-16 offset in the output text
    text_start: int  # index into the output character list, to recover a link's own text
    argument: str = ""
    expandable: bool = False
    inner_code: JsonDict | None = None


def _link_url(candidate: str) -> str | None:
    candidate = candidate.strip()
    if _LINK_SCHEME.match(candidate):
        return candidate
    if _BARE_DOMAIN.match(candidate):
        return f"http://{candidate}"
    return None


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.out: list[str] = []
        self.out_utf16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JsonDict] = []

    def error(self, message: str) -> HtmlParseError:
        return HtmlParseError(message)

    def run(self) -> FormattedText:
        source = self.source
        while self.pos < len(source):
            ch = source[self.pos]
            if ch == "&":
                self._char_ref()
            elif ch == ">":
                raise self.error(
                    f'Unescaped ">" at byte offset {_byte_offset(source, self.pos)}; '
                    "write it as &gt;"
                )
            elif ch == "<":
                if source.startswith("</", self.pos):
                    self._end_tag()
                else:
                    self._start_tag()
            else:
                self._emit(ch)
                self.pos += 1
        if self.stack:
            raise self.error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return FormattedText("".join(self.out), self.entities)

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.out_utf16 += utf16_len(text)

    def _char_ref(self) -> None:
        decoded = _decode_char_ref(self.source, self.pos)
        if decoded is None:
            raise self.error(
                f'Unescaped "&" at byte offset {_byte_offset(self.source, self.pos)}; '
                "write it as &amp; (only &lt; &gt; &amp; &quot; and numeric references "
                "are recognised)"
            )
        char, self.pos = decoded
        self._emit(char)

    def _skip_space(self) -> None:
        while self.pos < len(self.source) and self.source[self.pos] in _TAG_SPACE:
            self.pos += 1

    def _at_end(self) -> bool:
        return self.pos >= len(self.source)

    def _start_tag(self) -> None:
        source = self.source
        begin = self.pos
        at = _byte_offset(source, begin)
        self.pos += 1
        while not self._at_end() and source[self.pos] not in _TAG_SPACE + ">":
            self.pos += 1
        if self._at_end():
            raise self.error(f"Unclosed start tag at byte offset {at}")
        name = source[begin + 1 : self.pos].lower()
        if name not in SUPPORTED_HTML_TAGS:
            raise self.error(f'Unsupported start tag "{name}" at byte offset {at}')

        attributes: dict[str, str] = {}
        while True:
            self._skip_space()
            if self._at_end():
                raise self.error(f"Unclosed start tag at byte offset {at}")
            if source[self.pos] == ">":
                self.pos += 1
                break
            attr_begin = self.pos
            while not self._at_end() and source[self.pos] not in _TAG_SPACE + "=>":
                self.pos += 1
            attr_name = source[attr_begin : self.pos].lower()
            if not attr_name:
                raise self.error(f'Empty attribute name in the tag "{name}" at byte offset {at}')
            self._skip_space()
            if self._at_end():
                raise self.error(f"Unclosed start tag at byte offset {at}")
            if source[self.pos] != "=":
                if name == "blockquote" and attr_name == "expandable":
                    attributes[attr_name] = ""
                    continue
                raise self.error(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{name}" at byte offset {at}'
                )
            self.pos += 1
            self._skip_space()
            if self._at_end():
                raise self.error(f'Unclosed start tag "{name}" at byte offset {at}')
            attributes[attr_name] = self._attribute_value(at)

        tag = _OpenTag(name, at, self.out_utf16, len(self.out))
        if name == "a":
            tag.argument = attributes.get("href", "")
        elif name == "span":
            if attributes.get("class") != "tg-spoiler":
                raise self.error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        elif name == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise self.error("Invalid custom emoji identifier specified")
            tag.argument = emoji_id
        elif name == "code":
            css_class = attributes.get("class", "")
            if css_class.startswith("language-"):
                tag.argument = css_class.removeprefix("language-")
        elif name == "blockquote":
            tag.expandable = "expandable" in attributes
        self.stack.append(tag)

    def _attribute_value(self, tag_at: int) -> str:
        source = self.source
        quote = source[self.pos]
        if quote not in "'\"":
            token_begin = self.pos
            match = _NAME_TOKEN.match(source, self.pos)
            self.pos = match.end() if match else self.pos
            if self._at_end() or source[self.pos] not in _TAG_SPACE + ">":
                raise self.error(
                    "Unexpected end of name token at byte offset "
                    f"{_byte_offset(source, token_begin)}"
                )
            return source[token_begin : self.pos].lower()
        self.pos += 1
        value: list[str] = []
        while not self._at_end() and source[self.pos] != quote:
            if source[self.pos] == "&":
                decoded = _decode_char_ref(source, self.pos)
                if decoded is None:
                    raise self.error(
                        f'Unescaped "&" at byte offset {_byte_offset(source, self.pos)}; '
                        "write it as &amp;"
                    )
                char, self.pos = decoded
                value.append(char)
                continue
            value.append(source[self.pos])
            self.pos += 1
        if self._at_end():
            raise self.error(f"Unclosed start tag at byte offset {tag_at}")
        self.pos += 1
        return "".join(value)

    def _end_tag(self) -> None:
        source = self.source
        begin = self.pos
        at = _byte_offset(source, begin)
        if not self.stack:
            raise self.error(f"Unexpected end tag at byte offset {at}")
        self.pos += 2
        while not self._at_end() and source[self.pos] not in _TAG_SPACE + ">":
            self.pos += 1
        end_name = source[begin + 2 : self.pos].lower()
        self._skip_space()
        if self._at_end() or source[self.pos] != ">":
            raise self.error(f"Unclosed end tag at byte offset {at}")
        self.pos += 1
        tag = self.stack.pop()
        # Like the real parser, "</>" closes whatever is open.
        if end_name and end_name != tag.name:
            raise self.error(
                f'Unmatched end tag at byte offset {at}, expected "</{tag.name}>", '
                f'found "</{end_name}>"'
            )
        self._close(tag)

    def _close(self, tag: _OpenTag) -> None:
        length = self.out_utf16 - tag.start
        entity: JsonDict = {"offset": tag.start, "length": length}
        if tag.name in _STYLE_ENTITY:
            entity["type"] = _STYLE_ENTITY[tag.name]
        elif tag.name == "a":
            url = _link_url(tag.argument or "".join(self.out[tag.text_start :]))
            if url is None:
                # The real server drops links it cannot make sense of instead of failing.
                return
            entity.update(type="text_link", url=url)
        elif tag.name == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.expandable else "blockquote"
        elif tag.name == "code":
            entity["type"] = "code"
            parent = self.stack[-1] if self.stack else None
            if parent is not None and parent.name == "pre" and parent.start == tag.start:
                # <pre><code class="language-x"> is how HTML names the language of a pre block;
                # it becomes one pre entity when the code spans the whole block.
                parent.inner_code = {**entity, "language": tag.argument}
                return
        elif tag.name == "pre":
            entity["type"] = "pre"
            inner = tag.inner_code
            if inner is not None:
                if inner["length"] == length:
                    if inner["language"]:
                        entity["language"] = inner["language"]
                else:
                    inner.pop("language")
                    if inner["length"]:
                        self.entities.append(inner)
        if length > 0:
            self.entities.append(entity)


def parse_html(source: str) -> FormattedText:
    """Parse Telegram-flavoured HTML into plain text plus entities.

    Raises HtmlParseError with the text that follows "can't parse entities: ".
    """
    return _HtmlParser(source).run()


# --------------------------------------------------------------------------------------------
# Message text and captions


def _trim(parsed: FormattedText) -> FormattedText:
    # The server strips surrounding whitespace before measuring and storing a text.
    text = parsed.text
    stripped_left = text.lstrip()
    shift = utf16_len(text[: len(text) - len(stripped_left)])
    result = stripped_left.rstrip()
    total = utf16_len(result)
    entities: list[JsonDict] = []
    for entity in parsed.entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(result, entities)


def normalise_parse_mode(parse_mode: str | None) -> str | None:
    if parse_mode is None or parse_mode == "":
        return None
    if parse_mode.lower() == "html":
        return "HTML"
    if parse_mode.lower() in ("markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode: the double supports HTML only")
    raise bad_request("unsupported parse_mode")


def format_text(
    text: str,
    parse_mode: str | None,
    *,
    limit: int,
    too_long: str,
    empty: str | None,
    entities: Any = None,
) -> FormattedText:
    """Validate and parse a message text or caption the way the server does.

    ``empty`` is the error description for a text that is empty after parsing, or None when an
    empty result is allowed (captions).
    """
    if has_lone_surrogate(text):
        raise bad_request("strings must be encoded in UTF-8")
    mode = normalise_parse_mode(parse_mode)
    if mode == "HTML":
        try:
            parsed = parse_html(text)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        parsed = FormattedText(text, _explicit_entities(entities, text))
    parsed = _trim(parsed)
    if not parsed.text and empty is not None:
        raise bad_request(empty)
    if utf16_len(parsed.text) > limit:
        raise bad_request(too_long)
    return parsed


def _explicit_entities(entities: Any, text: str) -> list[JsonDict]:
    if entities is None:
        return []
    if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    checked: list[JsonDict] = []
    for entity in entities:
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(entity.get("type"), str):
            raise bad_request('can\'t parse MessageEntity: Field "type" must be of type String')
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            raise bad_request("can't parse MessageEntity: offset and length must be integers")
        if length > 0 and offset + length <= total:
            checked.append(dict(entity))
    return checked


def message_text(text: Any, parse_mode: str | None, entities: Any = None) -> FormattedText:
    if text is None or text == "":
        raise bad_request("message text is empty")
    if not isinstance(text, str):
        raise bad_request("message text must be a String")
    return format_text(
        text,
        parse_mode,
        limit=MAX_MESSAGE_LENGTH,
        too_long="message is too long",
        empty="message text is empty",
        entities=entities,
    )


def caption_text(caption: Any, parse_mode: str | None, entities: Any = None) -> FormattedText:
    if caption is None:
        return FormattedText("")
    if not isinstance(caption, str):
        raise bad_request("caption must be a String")
    return format_text(
        caption,
        parse_mode,
        limit=MAX_CAPTION_LENGTH,
        too_long="message caption is too long",
        empty=None,
        entities=entities,
    )


def callback_answer_text(text: Any) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise bad_request("text must be a String")
    if has_lone_surrogate(text):
        raise bad_request("strings must be encoded in UTF-8")
    if utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    return text


# --------------------------------------------------------------------------------------------
# Keyboards

INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "web_app",
)
_OBJECT_ACTIONS = frozenset(
    {"login_url", "web_app", "copy_text", "switch_inline_query_chosen_chat"}
)
_BUTTON_URL = re.compile(r"^(https?|tg)://[^\s]+$", re.IGNORECASE)


def validate_callback_data(data: Any) -> str:
    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8", "surrogatepass")) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")
    return data


def _button_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def validate_inline_button(button: Any) -> JsonDict:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in INLINE_BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _button_error(
            "exactly one of the optional fields must be used, got " + ", ".join(actions)
        )
    action = actions[0]
    value = button[action]
    if action == "callback_data":
        validate_callback_data(value)
    elif action == "url":
        if not isinstance(value, str) or not _BUTTON_URL.match(value):
            raise bad_request("BUTTON_URL_INVALID")
    elif action in ("switch_inline_query", "switch_inline_query_current_chat"):
        if not isinstance(value, str):
            raise _button_error(f'Field "{action}" must be of type String')
    elif action in _OBJECT_ACTIONS and not isinstance(value, dict):
        raise _button_error(f'Field "{action}" must be of type Object')
    elif action == "web_app" and not str(value.get("url", "")).startswith("https://"):
        # Telegram opens Mini Apps over HTTPS only.
        raise bad_request("BUTTON_TYPE_INVALID")
    return button


def validate_inline_keyboard(markup: Any) -> JsonDict:
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        raise bad_request('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    total = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request(
                'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for button in row:
            validate_inline_button(button)
            total += 1
    if total > MAX_INLINE_KEYBOARD_BUTTONS:
        raise bad_request("reply markup is too long")
    return markup


def validate_reply_markup(markup: Any, *, inline_only: bool = False) -> JsonDict:
    """Check any reply_markup; editing methods and inline results allow inline keyboards only."""
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return validate_inline_keyboard(markup)
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('Field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text.strip():
                    raise bad_request("can't parse keyboard button: text must be non-empty")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def keyboard_callback_data(markup: JsonDict | None) -> list[str]:
    """Every callback_data on an inline keyboard, in reading order."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        button["callback_data"]
        for row in markup["inline_keyboard"]
        for button in row
        if isinstance(button, dict) and button.get("callback_data") is not None
    ]


# --------------------------------------------------------------------------------------------
# Inline mode

INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)


def _validate_input_message_content(content: Any) -> None:
    if not isinstance(content, dict):
        raise bad_request(
            'can\'t parse inline query result: Field "input_message_content" must be of type Object'
        )
    if "message_text" in content:
        message_text(
            content.get("message_text"), content.get("parse_mode"), content.get("entities")
        )


def validate_inline_results(results: Any) -> list[JsonDict]:
    if not isinstance(results, list):
        raise bad_request("can't parse JSON encoded inline query results")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, dict):
            raise bad_request(
                "can't parse inline query result: InlineQueryResult must be an Object"
            )
        if result.get("type") not in INLINE_RESULT_TYPES:
            raise bad_request("RESULT_TYPE_INVALID")
        result_id = result.get("id")
        id_bytes = (
            len(result_id.encode("utf-8", "surrogatepass")) if isinstance(result_id, str) else 0
        )
        if not isinstance(result_id, str) or not 1 <= id_bytes <= MAX_INLINE_RESULT_ID_BYTES:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if result["type"] == "article":
            title = result.get("title")
            if not isinstance(title, str) or not title.strip():
                raise bad_request(
                    'can\'t parse inline query result: Field "title" must be of type String'
                )
            _validate_input_message_content(result.get("input_message_content"))
        elif result.get("input_message_content") is not None:
            _validate_input_message_content(result["input_message_content"])
        if result.get("caption") is not None:
            caption_text(result["caption"], result.get("parse_mode"))
        if result.get("reply_markup") is not None:
            validate_reply_markup(result["reply_markup"], inline_only=True)
    return results


# --------------------------------------------------------------------------------------------
# Bot commands

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


def validate_bot_commands(commands: Any) -> list[JsonDict]:
    if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
        raise bad_request("can't parse BotCommand array JSON object")
    if len(commands) > MAX_BOT_COMMANDS:
        raise bad_request("too many commands specified")
    names: set[str] = set()
    for command in commands:
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if name in names:
            raise bad_request("BOT_COMMAND_INVALID")
        names.add(name)
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": c["command"], "description": c["description"]} for c in commands]


# --------------------------------------------------------------------------------------------
# Entities Telegram detects in what users type

_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")
_URL = re.compile(r"(?<![\w@])(?:https?://)[^\s<>\"]+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")


def _span_entity(text: str, kind: str, start: int, end: int) -> JsonDict:
    offset = utf16_len(text[:start])
    return {"type": kind, "offset": offset, "length": utf16_len(text[start:end])}


def detect_entities(text: str) -> list[JsonDict]:
    """Bot commands, mentions, hashtags and URLs, as the server marks them in user messages."""
    found: list[JsonDict] = []
    for kind, pattern in (
        ("bot_command", _BOT_COMMAND),
        ("mention", _MENTION),
        ("hashtag", _HASHTAG),
        ("url", _URL),
    ):
        found.extend(_span_entity(text, kind, m.start(), m.end()) for m in pattern.finditer(text))
    return _drop_overlaps(found)


def _drop_overlaps(entities: Iterable[JsonDict]) -> list[JsonDict]:
    # A mention inside a URL or a command's @botname is not an entity of its own.
    kept: list[JsonDict] = []
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        if kept and entity["offset"] < kept[-1]["offset"] + kept[-1]["length"]:
            continue
        kept.append(entity)
    return kept
