"""Dates a message gives, and whether they fit an incident's date.

Look-alike incidents (two strikes on one port, the same town shelled twice) are told
apart by when they happened, and a message about an event nobody recorded often differs
from the recorded look-alike only in its date. A message can say "7 December 2021",
"2021-12-07", "in December 2021", "в декабре 2014 года", "у листопаді 2022 року",
"كانون الأول 2024", "in 2023", or "last Thursday" (relative to when it was sent).

Absolute dates are evidence for or against an incident; relative ones ("yesterday", "last
Thursday") only help to choose between look-alikes, never rule one out: an old photo
forwarded as "today's strike" is exactly the case the bot is for.

Runs on the case-folded text the matcher reads (`domain.normalize.clean`), in time
linear in its length: every pattern is anchored on a month name or a digit run.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

_SLACK: Final = dt.timedelta(days=2)
"""Reports of an event often carry the next day's date, or the day it was filed."""

_MIN_YEAR: Final = 1900
_MAX_YEAR: Final = 2100


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of days a message or an incident places an event in.

    `year` is False for a month or day named without a year ("on 7 December"), in which
    case `start` and `end` carry the month and day in an arbitrary year.
    """

    start: dt.date
    end: dt.date
    year: bool = True
    relative: bool = False

    def fits(self, incident: Span) -> bool:
        if not self.year:
            return _fits_without_year(self, incident)
        return self.start <= incident.end + _SLACK and incident.start <= self.end + _SLACK


def _fits_without_year(message: Span, incident: Span) -> bool:
    day = message.start
    year = incident.start.year
    while year <= incident.end.year:
        last = calendar.monthrange(year, day.month)[1]
        start = dt.date(year, day.month, min(message.start.day, last))
        end = dt.date(year, day.month, min(message.end.day, last))
        if start <= incident.end + _SLACK and incident.start <= end + _SLACK:
            return True
        year += 1
    return False


# --- month names ----------------------------------------------------------------------

_MONTHS: Final[tuple[tuple[int, str], ...]] = (
    (1, r"january|jan|январ[ьяеюё]|январём|січ(?:ень|ня|ні)|يناير|كانون الثاني|yanvar[a-z]{0,3}"),
    (2, r"february|feb|феврал[ьяею]|лют(?:ий|ого|ому)|فبراير|شباط|fevral[a-z]{0,3}"),
    (3, r"march|mar|март[ае]?|берез(?:ень|ня|ні)|مارس|آذار|اذار|mart[aey]?"),
    (4, r"april|apr|апрел[ьяею]|квіт(?:ень|ня|ні)|أبريل|ابريل|نيسان|aprel[a-z]{0,3}"),
    (5, r"may|ма[йяе]|трав(?:ень|ня|ні)|مايو|أيار|ايار|ma[ye]|maya"),
    (6, r"june|jun|июн[ьяею]|черв(?:ень|ня|ні)|يونيو|حزيران|iyun[a-z]{0,3}"),
    (7, r"july|jul|июл[ьяею]|лип(?:ень|ня|ні)|يوليو|تموز|iyul[a-z]{0,3}"),
    (8, r"august|aug|август[ае]?|серп(?:ень|ня|ні)|أغسطس|اغسطس|آب|avgust[aey]?"),
    (
        9,
        r"september|sept|sep|сентябр[ьяею]|верес(?:ень|ня|ні)|سبتمبر|أيلول|ايلول|sentyabr[a-z]{0,3}",
    ),
    (
        10,
        r"october|oct|октябр[ьяею]|жовт(?:ень|ня|ні)|أكتوبر|اكتوبر|تشرين الأول|تشرين الاول"
        r"|oktyabr[a-z]{0,3}",
    ),
    (11, r"november|nov|ноябр[ьяею]|листопад[аі]?|نوفمبر|تشرين الثاني|noyabr[a-z]{0,3}"),
    (
        12,
        r"december|dec|декабр[ьяею]|груд(?:ень|ня|ні)|ديسمبر|كانون الأول|كانون الاول"
        r"|dekabr[a-z]{0,3}",
    ),
)
_MONTH_ALTERNATION: Final = "|".join(f"(?P<m{number}>{names})" for number, names in _MONTHS)
_MONTH: Final = rf"(?<![^\W\d_])(?:{_MONTH_ALTERNATION})(?![^\W\d_])"
_DAY: Final = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|-?го|-?е|-?ого)?"
_YEAR: Final = r"(?P<year>(?:19|20)\d\d)(?!\d)"

# "may" is a verb as often as a month: as a month it needs a day or a year beside it.
_PATTERNS: Final = (
    (
        "iso",
        re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)-(?P<month>[01]?\d)-(?P<day>[0-3]?\d)(?!\d)"),
    ),
    (
        "dotted",
        re.compile(
            r"(?<![\d.])(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)\.(?P<year>(?:19|20)\d\d)(?!\d)"
        ),
    ),
    ("day month year", re.compile(rf"(?<!\d){_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}")),
    ("month day year", re.compile(rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}")),
    ("month year", re.compile(rf"{_MONTH}(?:\s+of)?,?\s+{_YEAR}")),
    ("day month", re.compile(rf"(?<![\d.]){_DAY}\s+(?:of\s+)?{_MONTH}")),
    ("month day", re.compile(rf"{_MONTH}\s+(?:the\s+)?{_DAY}(?![\d:.,]\d)")),
    ("in month", re.compile(rf"(?:\bin|\bв|\bво|\bу|\bв\s+начале|\bв\s+конце|في|خلال)\s+{_MONTH}")),
    (
        "year range",
        re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)\s*[-–/]\s*(?P<until>(?:19|20)?\d\d)(?!\d)"),
    ),
    (
        "year after",
        re.compile(
            rf"(?:\bin|\bsince|\bduring|\bof|\bfrom|\bв|\bс|\bу|\bз|\bіз|عام|سنة|في)\s+{_YEAR}"
        ),
    ),
    ("year before", re.compile(rf"{_YEAR}(?=\s*(?:г\.|г\b|года|году|год|року|рік|р\.|year\b))")),
)

_WEEKDAYS: Final = (
    (0, r"monday|понедельник|понеділок|الاثنين|الإثنين"),
    (1, r"tuesday|вторник|вівторок|الثلاثاء"),
    (2, r"wednesday|сред[ау]|середу|середа|الأربعاء|الاربعاء"),
    (3, r"thursday|четверг|четвер|الخميس"),
    (4, r"friday|пятниц[ау]|п'ятниц[юя]|الجمعة|الجمعه"),
    (5, r"saturday|суббот[ау]|субот[ау]|السبت"),
    (6, r"sunday|воскресенье|неділ[юя]|الأحد|الاحد"),
)
_WEEKDAY: Final = re.compile(
    r"(?<![^\W\d_])(?:"
    + "|".join(f"(?P<w{n}>{names})" for n, names in _WEEKDAYS)
    + r")(?![^\W\d_])"
)
_RELATIVE_DAYS: Final = (
    (re.compile(r"\b(?:today|this morning|tonight|this evening)\b|сегодня|сьогодні|اليوم"), 0),
    (re.compile(r"\b(?:yesterday|last night)\b|вчера|вчора|أمس|امس|البارحة"), 1),
    (re.compile(r"\bday before yesterday\b|позавчера|позавчора"), 2),
)


_DIGITS: Final = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _number(match: re.Match[str], name: str) -> int | None:
    value = match.groupdict().get(name)
    return int(value) if value else None


def _month(match: re.Match[str]) -> int | None:
    for number, _ in _MONTHS:
        if match.groupdict().get(f"m{number}"):
            return number
    return _number(match, "month")


def _day_span(year: int, month: int, day: int) -> Span | None:
    try:
        day_ = dt.date(year, month, day)
    except ValueError:
        return None
    return Span(day_, day_)


def _month_span(year: int, month: int) -> Span | None:
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    return Span(dt.date(year, month, 1), dt.date(year, month, last))


def _year_span(first: int, last: int) -> Span | None:
    if not _MIN_YEAR <= first <= last <= _MAX_YEAR:
        return None
    return Span(dt.date(first, 1, 1), dt.date(last, 12, 31))


def _span(kind: str, match: re.Match[str]) -> Span | None:
    year, month, day = _number(match, "year"), _month(match), _number(match, "day")
    if kind in ("iso", "dotted", "day month year", "month day year"):
        return _day_span(year, month, day) if year and month and day else None
    if kind == "month year":
        return _month_span(year, month) if year and month else None
    if kind in ("day month", "month day"):
        if not month or not day or not 1 <= day <= 31:
            return None
        # A leap year, so that 29 February can be held.
        start = _day_span(2000, month, day)
        return Span(start.start, start.end, year=False) if start else None
    if kind == "in month":
        whole = _month_span(2000, month) if month else None
        return Span(whole.start, whole.end, year=False) if whole else None
    if kind == "year range" and year:
        until = _number(match, "until") or 0
        if until < 100:
            until += year // 100 * 100
        return _year_span(year, until) if 0 <= until - year <= 10 else None
    if kind in ("year after", "year before") and year:
        return _year_span(year, year)
    return None


def dates_in(text: str, *, sent_on: dt.date | None = None) -> list[Span]:
    """The dates a (case-folded) message gives, each as the span of days it covers.

    Where two readings overlap ("7 December 2021" also holds "December 2021") only the
    most precise is kept. Relative dates need the day the message was sent.
    """
    text = text.translate(_DIGITS)
    found: list[tuple[int, int, Span]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end, _ in found):
                continue
            if kind == "in month" and match.group().endswith("may"):
                continue  # "in may" is as often "in may be": as a month it needs a number
            span = _span(kind, match)
            if span is not None:
                found.append((match.start(), match.end(), span))
    spans = [span for _, _, span in sorted(found, key=lambda item: item[0])]
    if sent_on is not None:
        spans.extend(_relative(text, sent_on))
    return spans


def _relative(text: str, sent_on: dt.date) -> list[Span]:
    spans = []
    for pattern, days_back in _RELATIVE_DAYS:
        if pattern.search(text):
            day = sent_on - dt.timedelta(days=days_back)
            spans.append(Span(day, day, relative=True))
    for match in _WEEKDAY.finditer(text):
        weekday = next(n for n, _ in _WEEKDAYS if match.group(f"w{n}"))
        back = (sent_on.weekday() - weekday) % 7 or 7
        day = sent_on - dt.timedelta(days=back)
        spans.append(Span(day, day, relative=True))
    return spans


def incident_span(start: dt.date | None, end: dt.date | None, note: str = "") -> Span | None:
    """When an incident happened, as far as it is recorded: its dates, or for an undated
    one the years its date note names ("the winter of 2022-2023"), or nothing."""
    if start is not None:
        return Span(start, end or start)
    years = [span for span in dates_in(note.casefold()) if span.year]
    if not years:
        bare = [int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", note)]
        if not bare:
            return None
        return _year_span(min(bare), max(bare))
    return Span(min(s.start for s in years), max(s.end for s in years))


def date_words(span: Span | None) -> str:
    """The span in English words, for the semantic model's passage and for buttons."""
    if span is None:
        return ""
    if span.start == span.end:
        return f"{span.start.day} {calendar.month_name[span.start.month]} {span.start.year}"
    if (span.start.year, span.start.month) == (span.end.year, span.end.month):
        return f"{calendar.month_name[span.start.month]} {span.start.year}"
    if span.start.year == span.end.year:
        return str(span.start.year)
    return f"{span.start.year}-{span.end.year}"
