"""Checking Telegram's Mini App init data: who opened the desk, and nobody else."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.desk.auth import InitDataError, verify_init_data
from tests.helpers.desk import signed_init_data

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
HOUR = 3600


def _fields(raw: str) -> dict[str, str]:
    return dict(parse_qsl(raw, keep_blank_values=True))


def test_init_data_signed_for_this_bot_names_the_user() -> None:
    user = verify_init_data(signed_init_data(TOKEN, 4242, first_name="Olena"), TOKEN, max_age=HOUR)
    assert (user.id, user.name, user.language_code) == (4242, "Olena", "en")


def test_init_data_signed_for_another_bot_is_refused() -> None:
    other = signed_init_data("654321:ZYX-other-token-00000000000000000", 4242)
    with pytest.raises(InitDataError, match="signature"):
        verify_init_data(other, TOKEN, max_age=HOUR)


def test_another_users_id_put_into_signed_data_is_refused() -> None:
    fields = _fields(signed_init_data(TOKEN, 4242))
    fields["user"] = fields["user"].replace("4242", "900")
    with pytest.raises(InitDataError, match="signature"):
        verify_init_data(urlencode(fields), TOKEN, max_age=HOUR)


def test_stale_and_future_init_data_are_refused() -> None:
    old = signed_init_data(TOKEN, 4242, auth_date=int(time.time()) - HOUR - 5)
    with pytest.raises(InitDataError, match="too long ago"):
        verify_init_data(old, TOKEN, max_age=HOUR)
    ahead = signed_init_data(TOKEN, 4242, auth_date=int(time.time()) + 600)
    with pytest.raises(InitDataError, match="future"):
        verify_init_data(ahead, TOKEN, max_age=HOUR)


@pytest.mark.parametrize(
    "raw",
    ["", "hash=", "user=%7B%7D&auth_date=1&auth_date=2&hash=00", "a" * 5000, "%%%"],
)
def test_malformed_init_data_is_refused(raw: str) -> None:
    with pytest.raises(InitDataError):
        verify_init_data(raw, TOKEN, max_age=HOUR)
