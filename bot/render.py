"""Answers as Telegram messages, in the reader's language: the incident, who asserts and
who disputes the asked point, every account with its figures as given, the disputes, the
sources. Text is written through `bot.markup` (escaped; right to left for Arabic) and
stored texts through `bot.localized` (translated, or marked as not)."""

from __future__ import annotations

from bot import messages as msg
from bot.callbacks import View
from bot.i18n import is_right_to_left, t, tn, tp
from bot.localized import incident_text, local, point_text, source_name
from bot.markup import (
    HTML,
    Markup,
    comma,
    markup_for,
    right_to_left_lines,
    semicolon,
    shorten,
    split_message,
)
from domain.answer import Answer
from domain.model import (
    AccountView,
    DatePrecision,
    IncidentStatus,
    IncidentView,
    MediaRoute,
    Stance,
)

STANCE_MARKS = {
    Stance.ASSERTS: "✅",
    Stance.DISPUTES: "❌",
    Stance.PARTLY: "◐",
    Stance.SILENT: "…",
}
INLINE_DESCRIPTION_LIMIT = 200
SUMMARY_ACCOUNTS = 6


# --- button data (formats in bot.callbacks) ---------------------------------------------


# --- the reader's language ---------------------------------------------------------------


# --- answers -----------------------------------------------------------------------------


def date_line(incident: IncidentView, language: str) -> str:
    start, end = incident.date_start, incident.date_end
    if start is None:
        return t(language, msg.DATE_UNKNOWN)
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


_STATUS = {
    IncidentStatus.CONTESTED: msg.STATUS_CONTESTED,
    IncidentStatus.CORROBORATED: msg.STATUS_CORROBORATED,
    IncidentStatus.SINGLE_SOURCE: msg.STATUS_SINGLE_SOURCE,
}


def _header(answer: Answer, language: str, fmt: Markup) -> list[str]:
    incident = answer.incident
    assert incident is not None
    title = incident_text(incident, language, "title")
    where = comma(language).join(
        incident_text(incident, language, name)
        for name in ("place", "country")
        if getattr(incident, name)
    )
    lines = [
        f"🔎 {fmt.bold(title)}",
        f"📍 {fmt.text(where)} · 🗓 {fmt.text(date_line(incident, language))}",
    ]
    if incident.date_note and incident.date_start is None:
        lines.append(fmt.italic(incident_text(incident, language, "date_note")))
    lines.append(fmt.text(t(language, _STATUS[incident.status])))
    if answer.route is not None:
        lines.append(fmt.text(t(language, _ROUTE[answer.route])))
        if answer.media is not None and answer.media.note and answer.route is not MediaRoute.TEXT:
            lines.append(fmt.italic(t(language, msg.MEDIA_NOTE, note=answer.media.note)))
    return ["\n".join(lines)]


_ROUTE = {
    MediaRoute.FILE: msg.MEDIA_FILE,
    MediaRoute.NEAR_COPY: msg.MEDIA_NEAR_COPY,
    MediaRoute.TEXT: msg.MEDIA_TEXT,
}


def _figures(account: AccountView, language: str, fmt: Markup, point_key: str | None = None) -> str:
    """Each figure's label in the reader's language beside the source's own phrase,
    which is never translated away."""
    figures = [f for f in account.figures if point_key is None or f.point_key == point_key]
    return semicolon(language).join(
        f"{fmt.text(local(language, f.label, f.translations))}: {fmt.bold(f.raw)}" for f in figures
    )


def _source_label(account: AccountView, language: str, fmt: Markup) -> str:
    kind = tp(language, msg.KINDS[account.source.kind])
    return f"{fmt.bold(source_name(account.source, language))} ({fmt.text(kind)})"


def _stance_word(language: str, stance: Stance) -> str:
    return tp(language, msg.STANCES[stance])


def _asked_point(answer: Answer, language: str, fmt: Markup) -> list[str]:
    if answer.point is None:
        return []
    asked = fmt.italic(point_text(answer.point, language))
    lines = [f"{fmt.text(t(language, msg.ASKED_ABOUT))}: {asked}"]
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
            figures = _figures(account, language, fmt, answer.point.key)
            name = fmt.text(source_name(account.source, language))
            names.append(name + (f" — {figures}" if figures else ""))
        word = _stance_word(language, stance)
        lines.append(f"{STANCE_MARKS[stance]} {fmt.text(word)}: " + semicolon(language).join(names))
    return ["\n".join(lines)]


def _account_block(
    answer: Answer, account: AccountView, number: int, language: str, fmt: Markup, *, full: bool
) -> str:
    stance = answer.stance_of(account)
    head = f"{fmt.text(f'{number}.')} {_source_label(account, language, fmt)}"
    if stance is not None:
        head += f" — {STANCE_MARKS[stance]} {fmt.text(_stance_word(language, stance))}"
    lines = [head]
    summary = local(language, account.summary, account.translations)
    lines.append(fmt.text(summary if full else shorten(summary, 220)))
    figures = _figures(account, language, fmt)
    if figures:
        lines.append(f"{fmt.text(t(language, msg.FIGURES))}: {figures}")
    extra = []
    if account.published_on:
        extra.append(fmt.text(account.published_on.isoformat()))
    if account.url:
        extra.append(fmt.link(t(language, msg.LINK), account.url))
    if extra:
        lines.append(" · ".join(extra))
    return "\n".join(lines)


def answer_blocks(
    answer: Answer, language: str, view: View = "summary", fmt: Markup = HTML
) -> list[str]:
    """The answer as a list of self-contained blocks (each with balanced markup), in the
    reader's language, laid out right to left for a right-to-left one."""
    blocks = _answer_blocks(answer, language, view, markup_for(language, fmt))
    if is_right_to_left(language):
        blocks = [right_to_left_lines(block) for block in blocks]
    return blocks


def _answer_blocks(answer: Answer, language: str, view: View, fmt: Markup) -> list[str]:
    incident = answer.incident
    if incident is None:
        return [fmt.text(t(language, msg.NO_RECORD_SHORT))]
    blocks = _header(answer, language, fmt)
    if view == "summary":
        blocks += _asked_point(answer, language, fmt)
        blocks.append(fmt.bold(t(language, msg.ACCOUNTS_HEADING)))
        shown = incident.accounts[:SUMMARY_ACCOUNTS]
        blocks += [
            _account_block(answer, a, n, language, fmt, full=False) for n, a in enumerate(shown, 1)
        ]
        if len(incident.accounts) > len(shown):
            more = tn(language, msg.MORE_ACCOUNTS, len(incident.accounts) - len(shown))
            blocks.append(fmt.italic(more))
    elif view == "accounts":
        blocks += _asked_point(answer, language, fmt)
        blocks.append(fmt.bold(t(language, msg.ACCOUNTS_HEADING)))
        blocks += [
            _account_block(answer, a, n, language, fmt, full=True)
            for n, a in enumerate(incident.accounts, 1)
        ]
    elif view == "disputes":
        blocks.append(fmt.bold(t(language, msg.DISPUTES_HEADING)))
        disagreements = answer.disagreements()
        if not disagreements:
            blocks.append(fmt.text(t(language, msg.NO_DISPUTES)))
        for item in disagreements:
            lines = [fmt.italic(point_text(item.point, language))]
            lines.append(
                f"{STANCE_MARKS[Stance.ASSERTS]} {fmt.text(t(language, msg.ASSERTED_BY))}: "
                + semicolon(language).join(
                    _with_figures(a, item.point.key, language, fmt) for a in item.asserting
                )
            )
            lines.append(
                f"{STANCE_MARKS[Stance.DISPUTES]} {fmt.text(t(language, msg.DISPUTED_BY))}: "
                + semicolon(language).join(
                    _with_note(a, item.point.key, language, fmt) for a in item.disputing
                )
            )
            blocks.append("\n".join(lines))
    else:
        blocks.append(fmt.bold(t(language, msg.SOURCES_HEADING)))
        seen: set[str] = set()
        for account in incident.accounts:
            source = account.source
            if source.key in seen:
                continue
            seen.add(source.key)
            lines = [f"• {_source_label(account, language, fmt)}"]
            if source.affiliation:
                affiliations = {k: v.affiliation for k, v in source.translations.items()}
                lines.append(fmt.text(local(language, source.affiliation, affiliations)))
            if source.aliases:
                lines.append(fmt.italic(", ".join(source.aliases)))
            if source.homepage:
                lines.append(fmt.link(source.homepage, source.homepage))
            blocks.append("\n".join(lines))
    return blocks


def _with_figures(account: AccountView, point_key: str, language: str, fmt: Markup) -> str:
    figures = _figures(account, language, fmt, point_key)
    name = fmt.text(source_name(account.source, language))
    return name + (f" ({figures})" if figures else "")


def _with_note(account: AccountView, point_key: str, language: str, fmt: Markup) -> str:
    found = next((s for s in account.stances if s.point_key == point_key and s.note), None)
    name = fmt.text(source_name(account.source, language))
    if found is None:
        return name
    return f"{name} — {fmt.italic(local(language, found.note, found.translations))}"


def answer_messages(answer: Answer, language: str, view: View = "summary") -> list[str]:
    return split_message(answer_blocks(answer, language, view))


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
        msg.INLINE_SUMMARY,
        asserting=comma(language).join(source_name(a.source, language) for a in asserting) or "—",
        disputing=comma(language).join(source_name(a.source, language) for a in disputing) or "—",
    )
    return shorten(text, INLINE_DESCRIPTION_LIMIT)


# --- splitting ---------------------------------------------------------------------------
