"""The buttons under the bot's messages: answers' views and feedback, "which one?",
"tell me when it's answered", as Telegram's JSON or as python-telegram-bot objects. The
data each button carries is written by `bot.callbacks`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot import callbacks
from bot import messages as msg
from bot.callbacks import VIEWS, View
from bot.i18n import t
from bot.localized import local
from bot.markup import HTML, shorten
from bot.pages import page_url
from domain.answer import Answer, CandidateSummary
from domain.model import (
    RECORD_LANGUAGE,
    IncidentView,
    short_key,
)


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None
    switch_inline: str | None = None
    web_app: str | None = None
    """A Mini App's https address, opened inside Telegram."""


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
            if button.web_app is not None:
                item["web_app"] = {"url": button.web_app}
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
                    web_app=WebAppInfo(button.web_app) if button.web_app else None,
                )
                for button in row
            ]
            for row in keyboard
        ]
    )


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


def answer_keyboard(
    answer: Answer, language: str, view: View = "summary", *, page_base: str = ""
) -> Keyboard:
    """The views not shown, feedback, and — where incidents have public pages
    (`WEB_BASE_URL`) — a link to the incident's full record in the reader's language."""
    incident = answer.incident
    if incident is None:
        return []
    point_key = answer.point.key if answer.point else None
    labels = {
        "summary": t(language, msg.BTN_SUMMARY),
        "accounts": t(language, msg.BTN_ACCOUNTS),
        "disputes": t(language, msg.BTN_DISPUTES),
        "sources": t(language, msg.BTN_SOURCES),
    }
    row = [
        Button(labels[other], view_data(other, incident, point_key))
        for other in VIEWS
        if other != view
    ]
    feedback = [
        Button(t(language, msg.BTN_HELPFUL), feedback_data(incident, True)),
        Button(t(language, msg.BTN_NOT_HELPFUL), feedback_data(incident, False)),
    ]
    keyboard = [row, feedback]
    if page_base:
        link = page_url(page_base, incident.key, language)
        keyboard.append([Button(t(language, msg.FULL_RECORD), url=link)])
    return keyboard


def no_record_message(language: str, query_id: int | None) -> tuple[str, Keyboard]:
    if query_id is None:
        return HTML.text(t(language, msg.NO_RECORD_SHORT)), []
    keyboard = [[Button(t(language, msg.NOTIFY_ME), callbacks.follow_up(query_id))]]
    return HTML.text(t(language, msg.NO_RECORD)), keyboard


def _common_start(texts: Sequence[str]) -> str:
    first, last = min(texts), max(texts)  # the others lie between: their start is shared
    length = 0
    for a, b in zip(first, last, strict=False):
        if a != b:
            break
        length += 1
    return first[:length]


def candidate_labels(
    candidates: Sequence[CandidateSummary], language: str = RECORD_LANGUAGE, width: int = 60
) -> list[str]:
    """Button labels that say first what tells the candidates apart.

    Look-alikes share most of what they are: the place is shown where the candidates' places
    differ, the date where their dates do, and of titles that start alike, the part
    where they part ("… (north)", "… (south)") rather than their common beginning.
    """
    titles = {
        id(c): local(language, c.title, {k: v.title for k, v in c.translations.items()})
        for c in candidates
    }
    places_of = {
        id(c): local(language, c.place, {k: v.place for k, v in c.translations.items()})
        for c in candidates
    }
    places = set(places_of.values())
    dates = {c.when for c in candidates}
    labels = []
    for candidate in candidates:
        parts = []
        title = titles[id(candidate)]
        if len(places) > 1 and candidate.place:
            parts.append(places_of[id(candidate)])
        if len(dates) > 1 and candidate.when:
            parts.append(candidate.when)
        # The longest beginning this title shares with another candidate's is left out.
        shared = max(
            (len(_common_start([title, titles[id(other)]])) for other in candidates
             if other is not candidate),
            default=0,
        )  # fmt: skip
        cut = title.rfind(" ", 0, shared) + 1 if shared > 20 else 0
        parts.append("…" + title[cut:] if cut else title)
        labels.append(shorten(" · ".join(parts), width))
    return labels


def ambiguous_message(answer: Answer, language: str) -> tuple[str, Keyboard]:
    rows = [
        [Button(label, pick_data(c.incident_key, None))]
        for c, label in zip(
            answer.candidates, candidate_labels(answer.candidates, language), strict=True
        )
    ]
    rows.append([Button(t(language, msg.NONE_OF_THESE), callbacks.NONE_OF_THESE)])
    return HTML.text(t(language, msg.AMBIGUOUS)), rows
