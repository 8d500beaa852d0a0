"""What moderators type, turned into records — or into a message saying what is wrong.

Moderators work from a phone, so input is forgiving where it can be ("up to 40",
"2020-01", "Idlib, Idleb, Идлиб") and precise where it must be: every edit produces a new
IncidentView that is checked by the same rules as an imported dataset before it is saved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

from domain.dataset import check_incident, check_source
from domain.model import (
    AccountView,
    DatePrecision,
    FigureView,
    IncidentStatus,
    IncidentView,
    KnownMedia,
    KnownPost,
    PointView,
    SourceKind,
    SourceView,
    Stance,
    StanceView,
)
from domain.normalize import transliterate

SKIP_WORDS = frozenset({"-", "skip", "none", "no", "нет", "пропустить", "—"})


class InputError(ValueError):
    """Moderator input that cannot be saved; the message says what to fix."""


def is_skip(text: str) -> bool:
    return text.strip().lower() in SKIP_WORDS


def clean_text(text: str, *, field: str, limit: int, required: bool = True) -> str:
    value = " ".join(unicodedata.normalize("NFC", text).split())
    value = "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cf"))
    if required and not value:
        raise InputError(f"{field}: must not be empty")
    if len(value) > limit:
        raise InputError(f"{field}: {len(value)} characters, at most {limit} allowed")
    return value


def parse_list(text: str, *, field: str, limit: int = 200) -> tuple[str, ...]:
    """Comma-, semicolon- or line-separated names; duplicates dropped, order kept."""
    if is_skip(text):
        return ()
    items = [
        clean_text(part, field=field, limit=limit)
        for part in re.split(r"[,;\n]", text)
        if part.strip()
    ]
    return tuple(dict.fromkeys(items))


def slugify(text: str, taken: Iterable[str] = ()) -> str:
    """A stable id from a title: lower-case ASCII words joined by '-', unique among `taken`."""
    ascii_text = unicodedata.normalize("NFKD", transliterate(text.lower()))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text)
    base = "-".join(words)[:60].strip("-") or "item"
    taken_set = set(taken)
    slug, n = base, 2
    while slug in taken_set:
        slug = f"{base}-{n}"
        n += 1
    return slug


# --- figures and dates --------------------------------------------------------------------

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "hundred": 100, "a hundred": 100,
    "один": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "сто": 100,
}  # fmt: skip
_NUMBER = (
    r"(\d[\d\s,.]*\d|\d|"
    + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
    + ")"
)
_UP_TO = re.compile(rf"^(?:up to|as many as|no more than|до|не более)\s+{_NUMBER}\b", re.I)
_AT_LEAST = re.compile(
    rf"^(?:at least|more than|over|не менее|более|больше|по меньшей мере|свыше)\s+{_NUMBER}\b", re.I
)
_RANGE = re.compile(rf"^(?:from\s+|от\s+)?{_NUMBER}\s*(?:-|–|—|to|до)\s*{_NUMBER}\b", re.I)
_EXACT = re.compile(rf"^{_NUMBER}$", re.I)


def _number(text: str) -> int:
    text = text.strip().lower()
    if text in _NUMBER_WORDS:
        return _NUMBER_WORDS[text]
    return int(re.sub(r"[\s,.]", "", text))


def figure_bounds(raw: str) -> tuple[int | None, int | None]:
    """The bounds a phrase implies: "up to 40" → (None, 40), "30-40" → (30, 40).

    Vague phrases ("about 400", "dozens") imply no bounds; the phrase itself is kept
    either way, since that is what the source said.
    """
    text = raw.strip()
    if match := _UP_TO.match(text):
        return None, _number(match.group(1))
    if match := _AT_LEAST.match(text):
        return _number(match.group(1)), None
    if match := _RANGE.match(text):
        low, high = _number(match.group(1)), _number(match.group(2))
        return (low, high) if low <= high else (high, low)
    if match := _EXACT.match(text):
        value = _number(match.group(1))
        return value, value
    return None, None


def parse_figures(text: str, points: tuple[PointView, ...]) -> tuple[FigureView, ...]:
    """Figures one per line as "label: phrase", optionally "#N" to tie it to point N.

    Example: "Syrian soldiers killed: up to 40 #2".
    """
    if is_skip(text):
        return ()
    figures = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        point_key = None
        if tag := re.search(r"\s#(\d+)\s*$", line):
            index = int(tag.group(1)) - 1
            if not 0 <= index < len(points):
                raise InputError(f"figure line {number}: there is no point #{index + 1}")
            point_key = points[index].key
            line = line[: tag.start()]
        label, colon, raw = line.partition(":")
        if not colon or not raw.strip():
            raise InputError(
                f"figure line {number}: write it as 'what is counted: the source's words', "
                "e.g. 'soldiers killed: up to 40'"
            )
        phrase = clean_text(raw, field=f"figure line {number}", limit=100)
        low, high = figure_bounds(phrase)
        figures.append(
            FigureView(
                clean_text(label, field=f"figure line {number}", limit=200),
                phrase,
                low,
                high,
                point_key,
            )
        )
    return tuple(figures)


def parse_date(text: str) -> tuple[dt.date | None, dt.date | None, DatePrecision]:
    """ "2020-01-30", "2020-01", "2020", "2020-01-28..2020-01-30", or "unknown"."""
    value = text.strip().lower()
    if is_skip(value) or value in ("unknown", "неизвестно", "?"):
        return None, None, DatePrecision.UNKNOWN
    if ".." in value:
        first, last = (part.strip() for part in value.split("..", 1))
        start, _, _ = parse_date(first)
        end, _, _ = parse_date(last)
        if start is None or end is None or end < start:
            raise InputError("date: a range is 'YYYY-MM-DD..YYYY-MM-DD', start first")
        return start, end, DatePrecision.DAY
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = dt.date.fromisoformat(value)
            return day, day, DatePrecision.DAY
        if re.fullmatch(r"\d{4}-\d{2}", value):
            year, month = map(int, value.split("-"))
            return dt.date(year, month, 1), None, DatePrecision.MONTH
        if re.fullmatch(r"\d{4}", value):
            return dt.date(int(value), 1, 1), None, DatePrecision.YEAR
    except ValueError:
        pass
    raise InputError("date: use YYYY-MM-DD, YYYY-MM, YYYY, a range A..B, or 'unknown'")


def parse_url(text: str, *, field: str = "link") -> str | None:
    value = text.strip()
    if is_skip(value):
        return None
    if not re.fullmatch(r"https?://\S{3,2040}", value):
        raise InputError(f"{field}: must start with http:// or https:// and contain no spaces")
    return value


# --- building and changing incidents -------------------------------------------------------


def _checked(incident: IncidentView, known_sources: Iterable[str]) -> IncidentView:
    problems = check_incident(incident, known_sources)
    if problems:
        raise InputError("; ".join(str(p) if p.path else p.message for p in problems[:5]))
    return incident


def new_incident(
    *,
    key: str,
    title: str,
    summary: str,
    place: str,
    place_aliases: tuple[str, ...] = (),
    country: str = "",
    date: tuple[dt.date | None, dt.date | None, DatePrecision] = (
        None,
        None,
        DatePrecision.UNKNOWN,
    ),
    keywords: tuple[str, ...] = (),
    points: tuple[str, ...] = (),
) -> IncidentView:
    incident = IncidentView(
        key=key,
        title=clean_text(title, field="title", limit=300),
        summary=clean_text(summary, field="summary", limit=2000),
        place=clean_text(place, field="place", limit=200),
        place_aliases=place_aliases,
        country=clean_text(country, field="country", limit=100, required=False),
        date_start=date[0],
        date_end=date[1],
        date_precision=date[2],
        keywords=keywords,
        points=tuple(
            PointView(slugify(text, ()) or f"point-{n}", clean_text(text, field="point", limit=500))
            for n, text in enumerate(points, 1)
        ),
    )
    incident = _unique_point_keys(incident)
    return _checked(incident, ())


def _unique_point_keys(incident: IncidentView) -> IncidentView:
    seen: list[str] = []
    points = []
    for point in incident.points:
        key = slugify(point.key, seen)[:80]
        seen.append(key)
        points.append(dataclasses.replace(point, key=key))
    return dataclasses.replace(incident, points=tuple(points))


def add_point(incident: IncidentView, text: str) -> IncidentView:
    text = clean_text(text, field="point", limit=500)
    key = slugify(text, (p.key for p in incident.points))
    changed = dataclasses.replace(incident, points=(*incident.points, PointView(key, text)))
    return _checked(changed, (a.source.key for a in incident.accounts))


def add_account(
    incident: IncidentView,
    source: SourceView,
    *,
    summary: str,
    figures: tuple[FigureView, ...] = (),
    stances: dict[str, Stance] | None = None,
    url: str | None = None,
    published_on: dt.date | None = None,
    language: str | None = None,
) -> IncidentView:
    key = slugify(f"{source.key}-account", (a.key for a in incident.accounts))
    account = AccountView(
        key=key,
        source=source,
        summary=clean_text(summary, field="summary", limit=1500),
        published_on=published_on,
        url=url,
        language=language,
        figures=figures,
        stances=tuple(StanceView(point, stance) for point, stance in (stances or {}).items()),
    )
    changed = dataclasses.replace(incident, accounts=(*incident.accounts, account))
    changed = dataclasses.replace(changed, status=derived_status(changed))
    known = {a.source.key for a in changed.accounts}
    return _checked(changed, known)


def set_stance(
    incident: IncidentView, account_key: str, point_key: str, stance: Stance, note: str = ""
) -> IncidentView:
    account = next((a for a in incident.accounts if a.key == account_key), None)
    if account is None:
        raise InputError(f"no account {account_key!r} in incident {incident.key!r}")
    if incident.point(point_key) is None:
        raise InputError(f"no point {point_key!r} in incident {incident.key!r}")
    note = clean_text(note, field="note", limit=300, required=False)
    stances = [s for s in account.stances if s.point_key != point_key]
    stances.append(StanceView(point_key, stance, note))
    order = {p.key: n for n, p in enumerate(incident.points)}
    stances.sort(key=lambda s: order.get(s.point_key, 0))
    changed_account = dataclasses.replace(account, stances=tuple(stances))
    accounts = tuple(changed_account if a.key == account_key else a for a in incident.accounts)
    changed = dataclasses.replace(incident, accounts=accounts)
    changed = dataclasses.replace(changed, status=derived_status(changed))
    return _checked(changed, (a.source.key for a in accounts))


def derived_status(incident: IncidentView) -> IncidentStatus:
    """Contested when any point is both asserted and disputed; else by the number of sources."""
    for point in incident.points:
        if incident.accounts_with(point.key, Stance.ASSERTS) and incident.accounts_with(
            point.key, Stance.DISPUTES
        ):
            return IncidentStatus.CONTESTED
    sources = {a.source.key for a in incident.accounts}
    return IncidentStatus.CORROBORATED if len(sources) > 1 else IncidentStatus.SINGLE_SOURCE


EDITABLE_FIELDS = ("title", "summary", "place", "aliases", "country", "date", "keywords")


def edit_incident(incident: IncidentView, field: str, value: str) -> IncidentView:
    """One field changed from what a moderator typed; names of fields as in EDITABLE_FIELDS."""
    match field:
        case "title":
            changed = dataclasses.replace(
                incident, title=clean_text(value, field="title", limit=300)
            )
        case "summary":
            changed = dataclasses.replace(
                incident, summary=clean_text(value, field="summary", limit=2000)
            )
        case "place":
            changed = dataclasses.replace(
                incident, place=clean_text(value, field="place", limit=200)
            )
        case "aliases":
            changed = dataclasses.replace(
                incident, place_aliases=parse_list(value, field="aliases")
            )
        case "country":
            changed = dataclasses.replace(
                incident, country=clean_text(value, field="country", limit=100, required=False)
            )
        case "date":
            start, end, precision = parse_date(value)
            changed = dataclasses.replace(
                incident, date_start=start, date_end=end, date_precision=precision
            )
        case "keywords":
            changed = dataclasses.replace(
                incident, keywords=parse_list(value, field="keywords", limit=100)
            )
        case _:
            raise InputError(f"unknown field {field!r}; editable: {', '.join(EDITABLE_FIELDS)}")
    return _checked(changed, (a.source.key for a in incident.accounts))


def new_source(
    *,
    key: str,
    name: str,
    kind: str,
    affiliation: str = "",
    aliases: tuple[str, ...] = (),
    homepage: str | None = None,
) -> SourceView:
    try:
        source_kind = SourceKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in SourceKind)
        raise InputError(f"kind: {kind!r} is not one of {kinds}") from None
    source = SourceView(
        key=key,
        name=clean_text(name, field="name", limit=200),
        kind=source_kind,
        affiliation=clean_text(affiliation, field="affiliation", limit=300, required=False),
        aliases=aliases,
        homepage=homepage,
    )
    problems = check_source(source)
    if problems:
        raise InputError("; ".join(str(p) for p in problems[:5]))
    return source


ACCOUNT_FIELDS = ("summary", "url", "published", "figures")
SOURCE_FIELDS = ("name", "kind", "affiliation", "aliases", "homepage")


def _account(incident: IncidentView, account_key: str) -> AccountView:
    account = next((a for a in incident.accounts if a.key == account_key), None)
    if account is None:
        keys = ", ".join(a.key for a in incident.accounts) or "none"
        raise InputError(f"no account {account_key!r} in this incident (accounts: {keys})")
    return account


def edit_account(incident: IncidentView, account_key: str, field: str, value: str) -> IncidentView:
    account = _account(incident, account_key)
    match field:
        case "summary":
            changed = dataclasses.replace(
                account, summary=clean_text(value, field="summary", limit=1500)
            )
        case "url":
            changed = dataclasses.replace(account, url=parse_url(value))
        case "published":
            changed = dataclasses.replace(account, published_on=parse_date(value)[0])
        case "figures":
            changed = dataclasses.replace(account, figures=parse_figures(value, incident.points))
        case _:
            raise InputError(f"unknown field {field!r}; editable: {', '.join(ACCOUNT_FIELDS)}")
    accounts = tuple(changed if a.key == account_key else a for a in incident.accounts)
    return _checked(
        dataclasses.replace(incident, accounts=accounts), (a.source.key for a in accounts)
    )


def remove_account(incident: IncidentView, account_key: str) -> IncidentView:
    _account(incident, account_key)
    accounts = tuple(a for a in incident.accounts if a.key != account_key)
    changed = dataclasses.replace(incident, accounts=accounts)
    changed = dataclasses.replace(changed, status=derived_status(changed))
    return _checked(changed, (a.source.key for a in accounts))


def edit_source(source: SourceView, field: str, value: str) -> SourceView:
    match field:
        case "name":
            changed = dataclasses.replace(source, name=clean_text(value, field="name", limit=200))
        case "kind":
            return new_source(
                key=source.key,
                name=source.name,
                kind=value.strip().lower().replace(" ", "_"),
                affiliation=source.affiliation,
                aliases=source.aliases,
                homepage=source.homepage,
            )
        case "affiliation":
            changed = dataclasses.replace(
                source,
                affiliation=clean_text(value, field="affiliation", limit=300, required=False),
            )
        case "aliases":
            changed = dataclasses.replace(source, aliases=parse_list(value, field="aliases"))
        case "homepage":
            changed = dataclasses.replace(source, homepage=parse_url(value, field="homepage"))
        case _:
            raise InputError(f"unknown field {field!r}; editable: {', '.join(SOURCE_FIELDS)}")
    problems = check_source(changed)
    if problems:
        raise InputError("; ".join(str(p) for p in problems[:5]))
    return changed


MAX_MEDIA = 50


def add_media(incident: IncidentView, media: KnownMedia) -> IncidentView:
    """Record a photo or video with the incident; a file it already has is refused."""
    if not media.file_ids and not media.fingerprints:
        raise InputError("nothing to recognise this by: no file id and no picture")
    if len(incident.media) >= MAX_MEDIA:
        raise InputError(f"an incident keeps at most {MAX_MEDIA} photos and videos")
    known = {file_id for item in incident.media for file_id in item.file_ids}
    if known.intersection(media.file_ids):
        raise InputError("this file is already recorded for the incident")
    note = clean_text(media.note, field="note", limit=500, required=False)
    recorded = dataclasses.replace(media, note=note)
    changed = dataclasses.replace(incident, media=(*incident.media, recorded))
    return _checked(changed, (a.source.key for a in incident.accounts))


def add_post(incident: IncidentView, channel: str, message_id: int) -> IncidentView:
    post = KnownPost(channel, message_id)
    if post in incident.posts:
        raise InputError("this post is already recorded for the incident")
    changed = dataclasses.replace(incident, posts=(*incident.posts, post))
    return _checked(changed, (a.source.key for a in incident.accounts))
