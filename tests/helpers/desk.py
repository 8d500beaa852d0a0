"""Init data as Telegram signs it when someone opens the desk (a Mini App)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from bot.desk.auth import data_check_string, secret_key


def signed_init_data(
    bot_token: str,
    user_id: int,
    *,
    first_name: str = "Moderator",
    language_code: str = "en",
    auth_date: int | None = None,
    query_id: str = "AAHdF6IQAAAAAN0XohDhrOrc",
) -> str:
    fields = {
        "query_id": query_id,
        "user": json.dumps(
            {"id": user_id, "first_name": first_name, "language_code": language_code},
            separators=(",", ":"),
            ensure_ascii=False,
        ),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
    }
    fields["hash"] = hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode(fields)
