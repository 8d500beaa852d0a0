"""Writing text for Telegram: HTML with everything stored or typed escaped (and plain text
for the terminal), right-to-left layout for Arabic, and splitting at Telegram's 4096.

Every stored or user-supplied string passes through `Markup.text` (escaping) before it
reaches a message, so nothing anyone typed can ever render as markup.
"""

from __future__ import annotations

import html
import re
import unicodedata

from bot.i18n import is_right_to_left


class Markup:
    """HTML for Telegram's parse_mode=HTML."""

    def text(self, value: str) -> str:
        return html.escape(value, quote=False)

    def bold(self, value: str) -> str:
        return f"<b>{self.text(value)}</b>"

    def italic(self, value: str) -> str:
        return f"<i>{self.text(value)}</i>"

    def link(self, label: str, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            return self.text(label)
        return f'<a href="{html.escape(url, quote=True)}">{self.text(label)}</a>'


class PlainMarkup(Markup):
    """Plain text for a terminal: no escaping, no tags."""

    def text(self, value: str) -> str:
        return value

    def bold(self, value: str) -> str:
        return value

    def italic(self, value: str) -> str:
        return value

    def link(self, label: str, url: str) -> str:
        return f"{label} <{url}>" if url else label


HTML = Markup()


PLAIN = PlainMarkup()


def shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


FSI, PDI, RLM = "\u2068", "\u2069", "\u200f"


class IsolatingMarkup(Markup):
    """HTML for a right-to-left answer: every run that holds left-to-right letters or
    digits (a Latin name, "up to 40", a date) is set in its own direction isolate, so that
    it reads whole and in place inside the Arabic sentence around it."""

    def text(self, value: str) -> str:
        return isolated(value, super().text(value))


class IsolatingPlainMarkup(PlainMarkup):
    """Plain text for a right-to-left answer in a terminal, isolated the same way."""

    def text(self, value: str) -> str:
        return isolated(value, value)

    def bold(self, value: str) -> str:
        return self.text(value)

    def italic(self, value: str) -> str:
        return self.text(value)


def isolated(value: str, written: str) -> str:
    """`written` (the markup of `value`) in a direction isolate if `value` holds any
    left-to-right letter or digit."""
    if any(unicodedata.bidirectional(ch) in ("L", "EN", "AN") for ch in value):
        return f"{FSI}{written}{PDI}"
    return written


def right_to_left_lines(block: str) -> str:
    """Each line opened with a right-to-left mark, so that Telegram lays the line out from
    the right whatever it starts with (a mark glyph, a source's Latin name)."""
    return "\n".join(RLM + line for line in block.split("\n"))


def markup_for(language: str, fmt: Markup) -> Markup:
    if not is_right_to_left(language):
        return fmt
    return IsolatingPlainMarkup() if isinstance(fmt, PlainMarkup) else IsolatingMarkup()


def comma(language: str) -> str:
    """The list separators of the reader's script (Arabic has its own comma and semicolon)."""
    return "، " if is_right_to_left(language) else ", "


def semicolon(language: str) -> str:
    return "؛ " if is_right_to_left(language) else "; "


MESSAGE_LIMIT = 4096


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_message(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack blocks into messages of at most `limit`, never cutting through markup.

    Counting the HTML source is conservative: the text Telegram measures after parsing
    the tags is never longer.
    """
    messages: list[str] = []
    current = ""
    for block in blocks:
        pieces = [block] if telegram_length(block) <= limit else _split_block(block, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if telegram_length(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages or [""]


def _split_block(block: str, limit: int) -> list[str]:
    """A block too long for one message loses its formatting and is cut at spaces."""
    text = html.escape(html.unescape(re.sub(r"<[^>]+>", "", block)), quote=False)
    pieces = []
    while telegram_length(text) > limit:
        cut = _cut_point(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    # Find the longest prefix within the limit in UTF-16 units, then back off to a space
    # and out of any &entity; it would split.
    cut = min(len(text), limit)
    while telegram_length(text[:cut]) > limit:
        cut -= 1
    space = text.rfind(" ", 0, cut)
    if space > limit // 2:
        cut = space
    amp = text.rfind("&", 0, cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return max(cut, 1)
