"""Turning answers into Telegram messages: HTML text, keyboards, and splitting at 4096.

Every stored or user-supplied string passes through `Markup.text` (escaping) before it
reaches a message, so nothing anyone typed can ever render as markup. The same renderer
writes plain text for the terminal (`factcheck-bot check`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.callbacks import VIEWS, View
from bot.i18n import STANCE_MARKS, kind_word, stance_word, t
from domain.answer import Answer, CandidateSummary
from domain.model import (
    AccountView,
    DatePrecision,
    IncidentStatus,
    IncidentView,
    Stance,
    short_key,
)

MESSAGE_LIMIT = 4096
INLINE_DESCRIPTION_LIMIT = 200
SUMMARY_ACCOUNTS = 6


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


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None
    switch_inline: str | None = None


Keyboard = list[list[Button]]


def markup_json(keyboard: Keyboard) -> dict[str, Any] | None:
    """The Bot API's JSON for an inline keyboard, built directly: a reply's buttons as
    python-telegram-bot objects cost more to build and serialize than the reply itself."""
    if not keyboard:
        return None
    rows = []
    for row in keyboard:
        buttons = []
        for button in row:
            item: dict[str, Any] = {"text": button.label}
            if button.data is not None:
                item["callback_data"] = button.data
            if button.url is not None:
                item["url"] = button.url
            if button.switch_inline is not None:
                item["switch_inline_query_current_chat"] = button.switch_inline
            buttons.append(item)
        rows.append(buttons)
    return {"inline_keyboard": rows}


def inline_markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    button.label,
                    callback_data=button.data,
                    url=button.url,
                    switch_inline_query_current_chat=button.switch_inline,
                )
                for button in row
            ]
            for row in keyboard
        ]
    )


def shorten(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


# --- button data (formats in bot.callbacks) ---------------------------------------------


def view_data(view: View, incident: IncidentView, point_key: str | None) -> str:
    return callbacks.view(view, short_key(incident.key), _point_index(incident, point_key))


def pick_data(incident_key: str, point_index: int | None) -> str:
    return callbacks.pick(short_key(incident_key), point_index)


def feedback_data(incident: IncidentView, helpful: bool) -> str:
    return callbacks.feedback(short_key(incident.key), helpful)


def _point_index(incident: IncidentView, point_key: str | None) -> int | None:
    for n, point in enumerate(incident.points):
        if point.key == point_key:
            return n
    return None


# --- answers -----------------------------------------------------------------------------


def date_line(incident: IncidentView, language: str) -> str:
    start, end = incident.date_start, incident.date_end
    if start is None:
        return t(language, "date_unknown")
    match incident.date_precision:
        case DatePrecision.YEAR:
            text = str(start.year)
        case DatePrecision.MONTH:
            text = start.strftime("%Y-%m")
        case _:
            text = start.isoformat()
    if end and end != start:
        text += f" – {end.isoformat()}"
    return text


def _header(answer: Answer, language: str, fmt: Markup) -> list[str]:
    incident = answer.incident
    assert incident is not None
    title = (
        incident.translations[language].title
        if language in incident.translations
        else incident.title
    )
    where = ", ".join(part for part in (incident.place, incident.country) if part)
    lines = [f"🔎 {fmt.bold(title)}", fmt.text(f"📍 {where} · 🗓 {date_line(incident, language)}")]
    if incident.date_note and incident.date_start is None:
        lines.append(fmt.italic(incident.date_note))
    status_key = {
        IncidentStatus.CONTESTED: "status_contested",
        IncidentStatus.CORROBORATED: "status_corroborated",
        IncidentStatus.SINGLE_SOURCE: "status_single_source",
    }[incident.status]
    lines.append(fmt.text(t(language, status_key)))
    return ["\n".join(lines)]


def _figures(account: AccountView, fmt: Markup, point_key: str | None = None) -> str:
    figures = [f for f in account.figures if point_key is None or f.point_key == point_key]
    return "; ".join(f"{fmt.text(f.label)}: {fmt.bold(f.raw)}" for f in figures)


def _source_label(account: AccountView, language: str, fmt: Markup) -> str:
    return f"{fmt.bold(account.source.name)} ({fmt.text(kind_word(language, account.source.kind))})"


def _point_text(answer: Answer, language: str) -> str:
    assert answer.point is not None
    return answer.point.translations.get(language) or answer.point.text


def _asked_point(answer: Answer, language: str, fmt: Markup) -> list[str]:
    if answer.point is None:
        return []
    lines = [f"{fmt.text(t(language, 'asked_about'))}: {fmt.italic(_point_text(answer, language))}"]
    for stance in (Stance.ASSERTS, Stance.DISPUTES, Stance.PARTLY, Stance.SILENT):
        accounts = answer.accounts_taking(stance)
        if stance is Stance.SILENT:
            # Accounts with no recorded stance on the point are silent on it too.
            assert answer.incident is not None
            accounts = tuple(
                a for a in answer.incident.accounts if answer.stance_of(a) is Stance.SILENT
            )
        if not accounts:
            continue
        names = []
        for account in accounts:
            figures = _figures(account, fmt, answer.point.key)
            names.append(fmt.text(account.source.name) + (f" — {figures}" if figures else ""))
        word = stance_word(language, stance)
        lines.append(f"{STANCE_MARKS[stance]} {fmt.text(word)}: " + "; ".join(names))
    return ["\n".join(lines)]


def _account_block(
    answer: Answer, account: AccountView, number: int, language: str, fmt: Markup, *, full: bool
) -> str:
    stance = answer.stance_of(account)
    head = f"{number}. {_source_label(account, language, fmt)}"
    if stance is not None:
        head += f" — {STANCE_MARKS[stance]} {fmt.text(stance_word(language, stance))}"
    lines = [head]
    summary = account.summary if full else shorten(account.summary, 220)
    lines.append(fmt.text(summary))
    figures = _figures(account, fmt)
    if figures:
        lines.append(f"{fmt.text(t(language, 'figures'))}: {figures}")
    extra = []
    if account.published_on:
        extra.append(fmt.text(account.published_on.isoformat()))
    if account.url:
        extra.append(fmt.link("🔗 link", account.url))
    if extra:
        lines.append(" · ".join(extra))
    return "\n".join(lines)


def answer_blocks(
    answer: Answer, language: str, view: View = "summary", fmt: Markup = HTML
) -> list[str]:
    """The answer as a list of self-contained blocks (each with balanced markup)."""
    incident = answer.incident
    if incident is None:
        return [fmt.text(t(language, "no_record_short"))]
    blocks = _header(answer, language, fmt)
    if view == "summary":
        blocks += _asked_point(answer, language, fmt)
        blocks.append(fmt.bold(t(language, "accounts_heading")))
        shown = incident.accounts[:SUMMARY_ACCOUNTS]
        blocks += [
            _account_block(answer, a, n, language, fmt, full=False) for n, a in enumerate(shown, 1)
        ]
        if len(incident.accounts) > len(shown):
            blocks.append(
                fmt.italic(t(language, "more_accounts", count=len(incident.accounts) - len(shown)))
            )
    elif view == "accounts":
        blocks += _asked_point(answer, language, fmt)
        blocks.append(fmt.bold(t(language, "accounts_heading")))
        blocks += [
            _account_block(answer, a, n, language, fmt, full=True)
            for n, a in enumerate(incident.accounts, 1)
        ]
    elif view == "disputes":
        blocks.append(fmt.bold(t(language, "disputes_heading")))
        disagreements = answer.disagreements()
        if not disagreements:
            blocks.append(fmt.text(t(language, "no_disputes")))
        for item in disagreements:
            text = item.point.translations.get(language) or item.point.text
            lines = [fmt.italic(text)]
            lines.append(
                f"{STANCE_MARKS[Stance.ASSERTS]} {fmt.text(t(language, 'asserted_by'))}: "
                + "; ".join(_with_figures(a, item.point.key, fmt) for a in item.asserting)
            )
            lines.append(
                f"{STANCE_MARKS[Stance.DISPUTES]} {fmt.text(t(language, 'disputed_by'))}: "
                + "; ".join(_with_note(a, item.point.key, fmt) for a in item.disputing)
            )
            blocks.append("\n".join(lines))
    else:
        blocks.append(fmt.bold(t(language, "sources_heading")))
        seen: set[str] = set()
        for account in incident.accounts:
            source = account.source
            if source.key in seen:
                continue
            seen.add(source.key)
            lines = [f"• {_source_label(account, language, fmt)}"]
            if source.affiliation:
                lines.append(fmt.text(source.affiliation))
            if source.aliases:
                lines.append(fmt.italic(", ".join(source.aliases)))
            if source.homepage:
                lines.append(fmt.link(source.homepage, source.homepage))
            blocks.append("\n".join(lines))
    return blocks


def _with_figures(account: AccountView, point_key: str, fmt: Markup) -> str:
    figures = _figures(account, fmt, point_key)
    return fmt.text(account.source.name) + (f" ({figures})" if figures else "")


def _with_note(account: AccountView, point_key: str, fmt: Markup) -> str:
    note = next((s.note for s in account.stances if s.point_key == point_key and s.note), "")
    return fmt.text(account.source.name) + (f" — {fmt.italic(note)}" if note else "")


def answer_messages(answer: Answer, language: str, view: View = "summary") -> list[str]:
    return split_message(answer_blocks(answer, language, view))


def answer_keyboard(answer: Answer, language: str, view: View = "summary") -> Keyboard:
    incident = answer.incident
    if incident is None:
        return []
    point_key = answer.point.key if answer.point else None
    labels = {
        "summary": t(language, "btn_summary"),
        "accounts": t(language, "btn_accounts"),
        "disputes": t(language, "btn_disputes"),
        "sources": t(language, "btn_sources"),
    }
    row = [
        Button(labels[other], view_data(other, incident, point_key))
        for other in VIEWS
        if other != view
    ]
    feedback = [
        Button(t(language, "btn_helpful"), feedback_data(incident, True)),
        Button(t(language, "btn_not_helpful"), feedback_data(incident, False)),
    ]
    return [row, feedback]


def no_record_message(language: str, query_id: int | None) -> tuple[str, Keyboard]:
    if query_id is None:
        return HTML.text(t(language, "no_record_short")), []
    keyboard = [[Button(t(language, "notify_me"), callbacks.follow_up(query_id))]]
    return HTML.text(t(language, "no_record")), keyboard


def _common_start(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)  # the others lie between: their start is shared
    length = 0
    for a, b in zip(first, last, strict=False):
        if a != b:
            break
        length += 1
    return first[:length]


def candidate_labels(candidates: Sequence[CandidateSummary], width: int = 60) -> list[str]:
    """Button labels that say first what tells the candidates apart.

    Look-alikes share most of what they are: the place is shown where the candidates' places
    differ, the date where their dates do, and of titles that start alike, the part
    where they part ("… (north)", "… (south)") rather than their common beginning.
    """
    places = {c.place for c in candidates}
    dates = {c.when for c in candidates}
    labels = []
    for candidate in candidates:
        parts = []
        if len(places) > 1 and candidate.place:
            parts.append(candidate.place)
        if len(dates) > 1 and candidate.when:
            parts.append(candidate.when)
        # The longest beginning this title shares with another candidate's is left out.
        shared = max(
            (len(_common_start([candidate.title, other.title])) for other in candidates
             if other is not candidate),
            default=0,
        )  # fmt: skip
        cut = candidate.title.rfind(" ", 0, shared) + 1 if shared > 20 else 0
        parts.append("…" + candidate.title[cut:] if cut else candidate.title)
        labels.append(shorten(" · ".join(parts), width))
    return labels


def ambiguous_message(answer: Answer, language: str) -> tuple[str, Keyboard]:
    rows = [
        [Button(label, pick_data(c.incident_key, None))]
        for c, label in zip(answer.candidates, candidate_labels(answer.candidates), strict=True)
    ]
    rows.append([Button(t(language, "none_of_these"), callbacks.NONE_OF_THESE)])
    return HTML.text(t(language, "ambiguous")), rows


def inline_description(answer: Answer, language: str) -> str:
    """One line for an inline result: who asserts and who disputes the asked point."""
    incident = answer.incident
    if incident is None:
        return ""
    if answer.point is not None:
        asserting = answer.accounts_taking(Stance.ASSERTS)
        disputing = answer.accounts_taking(Stance.DISPUTES)
    else:
        items = answer.disagreements()
        asserting = items[0].asserting if items else ()
        disputing = items[0].disputing if items else ()
    text = t(
        language,
        "inline_summary",
        asserting=", ".join(a.source.name for a in asserting) or "—",
        disputing=", ".join(a.source.name for a in disputing) or "—",
    )
    return shorten(text, INLINE_DESCRIPTION_LIMIT)


# --- splitting ---------------------------------------------------------------------------


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
