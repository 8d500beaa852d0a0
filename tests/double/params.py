"""Request parameters: decoding the three body encodings and reading typed values.

Telegram accepts JSON bodies, urlencoded forms and multipart forms, plus query strings. In the
form encodings every value is a string and nested objects travel as JSON text, so each value is
interpreted by the type the method expects, not by how it looks.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web

from .validation import ApiError, bad_request, has_lone_surrogate

# Fields whose form-encoded value is JSON text. Used to make recorded calls readable.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "entities",
        "caption_entities",
        "results",
        "commands",
        "scope",
        "menu_button",
        "allowed_updates",
        "button",
        "media",
    }
)
INT_FIELDS = frozenset(
    {
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
    }
)
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "show_alert",
        "is_personal",
        "drop_pending_updates",
        "disable_content_type_detection",
        "allow_paid_broadcast",
    }
)


@dataclass(frozen=True)
class UploadedFile:
    filename: str | None
    content_type: str | None
    data: bytes


def _decode(raw: bytes) -> str:
    # Invalid UTF-8 survives as lone surrogates so the check below can refuse it like the server.
    return raw.decode("utf-8", "surrogateescape")


async def read_request(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    values: dict[str, Any] = {key: value for key, value in request.query.items()}
    files: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            payload = await part.read(decode=False)
            if part.filename is not None:
                files[part.name] = UploadedFile(
                    part.filename, part.headers.get("Content-Type"), bytes(payload)
                )
            else:
                values[part.name] = _decode(bytes(payload))
    else:
        body = await request.read()
        if content_type == "application/json":
            if body.strip():
                try:
                    decoded = json.loads(body)
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(decoded, dict):
                    raise bad_request("can't parse JSON object")
                values.update(decoded)
        elif body:
            values.update(parse_qsl(_decode(body), keep_blank_values=True))
    if any(_contains_lone_surrogate(value) for value in values.values()):
        raise bad_request("strings must be encoded in UTF-8")
    return values, files


def _contains_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return has_lone_surrogate(value)
    if isinstance(value, list):
        return any(_contains_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_lone_surrogate(item) for item in value.values())
    return False


def normalised(values: dict[str, Any]) -> dict[str, Any]:
    """A readable copy for the call log: JSON text decoded, numbers and flags typed."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str):
            if key in JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif key in INT_FIELDS or key == "chat_id":
                with contextlib.suppress(ValueError):
                    value = int(value)
            elif key in BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
        result[key] = value
    return result


class Params:
    """Typed access to one request's parameters."""

    def __init__(self, values: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None or name in self.files

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise bad_request(f'field "{name}" must be a String')
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def get_int(self, name: str, *, invalid: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(invalid or f'field "{name}" must be a valid Number')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(invalid or f'field "{name}" must be a valid Number')

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be a valid Number')
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return False

    def get_json(self, name: str, *, invalid: str) -> Any:
        """A nested object or array, given either directly (JSON bodies) or as JSON text."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(invalid) from None
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, bool):
            raise bad_request("chat not found")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None

    def require_int(self, name: str, *, missing: str) -> int:
        value = self.get_int(name, invalid=missing)
        if value is None:
            raise bad_request(missing)
        return value


def method_not_found() -> ApiError:
    return ApiError(404, "Not Found")
