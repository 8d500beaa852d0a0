"""Every word the desk page shows is in the catalogues, so a moderator reads the desk in
their language: a word added to the page but not to `bot/desk/strings.py` fails here."""

from __future__ import annotations

import re
from pathlib import Path

from bot.desk.strings import DESK_WORDS

STATIC = Path(__file__).resolve().parents[2] / "bot" / "desk" / "static"


def test_every_word_of_the_page_can_be_translated() -> None:
    page = (STATIC / "desk.html").read_text(encoding="utf-8")
    script = (STATIC / "desk.js").read_text(encoding="utf-8")
    shown = set(re.findall(r'data-t(?:-placeholder)?="([^"]*)"', page))
    shown |= set(re.findall(r'\bT\("((?:[^"\\]|\\.)*)"', script))
    assert shown, "the page marks no words"
    assert shown - set(DESK_WORDS) == set()
