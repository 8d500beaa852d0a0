"""Who opened the desk: Telegram's Mini App init data, checked as Telegram documents it.

The page receives `initData`, a query string Telegram signed for this bot: every field but
`hash`, sorted by name as `name=value` lines, HMAC-SHA256'd with the key
HMAC-SHA256("WebAppData", bot token). A request bears it in `Authorization: tma <data>`;
a forged or altered field changes the signature, and data older than INIT_DATA_MAX_AGE is
refused, so a leaked copy stops working. No cookie is set: a page on another site cannot
make a browser send the header, which is what makes the desk safe from cross-site
requests. Writes also carry a request id, and a request seen before is refused
(`db.repository.DeskRequests`, shared by every replica): a captured write cannot be sent
again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl

MAX_INIT_DATA: Final = 4096
CLOCK_SKEW: Final = 60
"""Seconds an auth_date may lie in the future (clocks differ a little)."""


class InitDataError(Exception):
    """The init data is missing, malformed, forged or too old; the message says which."""


@dataclass(frozen=True)
class DeskUser:
    id: int
    name: str
    language_code: str | None
    signature: str
    """The init data's hash: one desk session."""


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{name}={fields[name]}" for name in sorted(fields) if name != "hash")


def verify_init_data(
    raw: str, bot_token: str, *, max_age: int, now: float | None = None
) -> DeskUser:
    if not raw:
        raise InitDataError("no init data: open the desk from the bot")
    if len(raw) > MAX_INIT_DATA:
        raise InitDataError("init data too long")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise InitDataError("init data is not a query string") from error
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("a field appears twice")
    given = fields.get("hash", "")
    expected = hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InitDataError("the signature does not match")
    try:
        signed_at = int(fields["auth_date"])
    except (KeyError, ValueError) as error:
        raise InitDataError("no auth_date") from error
    moment = time.time() if now is None else now
    if moment - signed_at > max_age:
        raise InitDataError("the desk was opened too long ago: open it again")
    if signed_at - moment > CLOCK_SKEW:
        raise InitDataError("auth_date is in the future")
    try:
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as error:
        raise InitDataError("no user in the init data") from error
    name = " ".join(str(user.get(part, "")) for part in ("first_name", "last_name")).strip()
    language = user.get("language_code")
    return DeskUser(user_id, name[:200], language if isinstance(language, str) else None, given)
