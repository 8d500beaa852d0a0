"""The vocabulary of the product, as plain Python types.

Storage (`db/`) maps these onto tables; the matcher and the answer builder work on
them without knowing where they came from. Nothing here imports a database or Telegram.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum


class SourceKind(StrEnum):
    GOVERNMENT = "government"
    STATE_MEDIA = "state_media"
    ARMED_GROUP = "armed_group"
    INDEPENDENT_MONITOR = "independent_monitor"
    NEWS_AGENCY = "news_agency"
    NGO = "ngo"
    OTHER = "other"


class Stance(StrEnum):
    """What one account says about one point of an incident."""

    ASSERTS = "asserts"
    DISPUTES = "disputes"
    PARTLY = "partly"
    SILENT = "silent"


class DatePrecision(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    UNKNOWN = "unknown"


class IncidentStatus(StrEnum):
    SINGLE_SOURCE = "single_source"
    CORROBORATED = "corroborated"
    CONTESTED = "contested"


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"


class QueueStatus(StrEnum):
    OPEN = "open"
    LINKED = "linked"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class NameGroup:
    """One name and the other spellings and scripts it goes by."""

    name: str
    aliases: tuple[str, ...] = ()

    @property
    def variants(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


RECORD_LANGUAGE = "en"
"""The language moderators write records in; their translations into other languages
are kept beside each text (`translations`, keyed by language code)."""


@dataclass(frozen=True)
class Translation:
    """An incident's own texts in another language; an empty field is not translated."""

    title: str
    summary: str = ""
    place: str = ""
    country: str = ""
    date_note: str = ""


@dataclass(frozen=True)
class SourceTranslation:
    name: str
    affiliation: str = ""


@dataclass(frozen=True)
class SourceView:
    key: str
    name: str
    kind: SourceKind
    affiliation: str = ""
    aliases: tuple[str, ...] = ()
    homepage: str | None = None
    version: int = 1
    translations: dict[str, SourceTranslation] = field(default_factory=dict)


@dataclass(frozen=True)
class FigureView:
    """A number exactly as one source gave it: the phrase, plus the bounds it implies."""

    label: str
    raw: str
    min: int | None = None
    max: int | None = None
    point_key: str | None = None
    translations: dict[str, str] = field(default_factory=dict)
    """The label (what is counted) in other languages; `raw` stays as the source gave it."""


@dataclass(frozen=True)
class StanceView:
    point_key: str
    stance: Stance
    note: str = ""
    translations: dict[str, str] = field(default_factory=dict)
    """The note in other languages."""


@dataclass(frozen=True)
class PointView:
    key: str
    text: str
    translations: dict[str, str] = field(default_factory=dict)
    version: int = 1


@dataclass(frozen=True)
class AccountView:
    key: str
    source: SourceView
    summary: str
    published_on: dt.date | None = None
    url: str | None = None
    language: str | None = None
    figures: tuple[FigureView, ...] = ()
    stances: tuple[StanceView, ...] = ()
    version: int = 1
    translations: dict[str, str] = field(default_factory=dict)
    """The summary in other languages."""

    def stance_on(self, point_key: str) -> Stance:
        for stance in self.stances:
            if stance.point_key == point_key:
                return stance.stance
        return Stance.SILENT


@dataclass(frozen=True)
class KnownPost:
    """A channel post recorded as carrying an incident, so that a forward of it matches exactly.

    `channel` is either "@username" or the numeric chat id as text ("-100…").
    """

    channel: str
    message_id: int


class MediaKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    """A video or animation: known by its file, and by its thumbnail and cover."""
    DOCUMENT = "document"
    """A picture sent as a file."""


class MediaRoute(StrEnum):
    """How a photo or video someone sent was recognised, as the answer tells them."""

    FILE = "file"
    """The very file recorded with the incident (Telegram's id for it)."""
    NEAR_COPY = "near_copy"
    """A recompressed, resized, cropped or captioned copy of a recorded picture."""
    TEXT = "text"
    """Not recognised as a picture: the text read from it, with its caption, matched."""


@dataclass(frozen=True)
class KnownMedia:
    """A photo or video recorded with an incident, known without keeping the file.

    `file_ids` are Telegram's `file_unique_id`s (the same for a file however often it is
    forwarded, and one per size of a photo); `fingerprints` the perceptual hashes of its
    pictures (`domain.media.pictures`); `note` a moderator's word on where it first
    appeared, which an answer repeats.
    """

    kind: MediaKind
    file_ids: tuple[str, ...] = ()
    fingerprints: tuple[int, ...] = ()
    size: int | None = None
    width: int | None = None
    height: int | None = None
    note: str = ""


@dataclass(frozen=True)
class SentMedia:
    """A photo, video or picture file someone sent, as the checker reads it: Telegram's
    ids for its files, the pictures fetched (the photo; a video's thumbnail and cover),
    and its caption."""

    file_ids: tuple[str, ...]
    pictures: tuple[bytes, ...]
    caption: str = ""


@dataclass(frozen=True)
class IncidentView:
    """An incident with everything recorded about it, ready to answer with."""

    key: str
    title: str
    summary: str
    place: str
    place_aliases: tuple[str, ...] = ()
    country: str = ""
    region: str = ""
    date_start: dt.date | None = None
    date_end: dt.date | None = None
    date_precision: DatePrecision = DatePrecision.UNKNOWN
    date_note: str = ""
    status: IncidentStatus = IncidentStatus.SINGLE_SOURCE
    keywords: tuple[str, ...] = ()
    names: tuple[NameGroup, ...] = ()
    translations: dict[str, Translation] = field(default_factory=dict)
    points: tuple[PointView, ...] = ()
    accounts: tuple[AccountView, ...] = ()
    phrases: tuple[str, ...] = ()
    posts: tuple[KnownPost, ...] = ()
    media: tuple[KnownMedia, ...] = ()
    version: int = 1

    def point(self, key: str) -> PointView | None:
        return next((p for p in self.points if p.key == key), None)

    def accounts_with(self, point_key: str, stance: Stance) -> tuple[AccountView, ...]:
        return tuple(a for a in self.accounts if a.stance_on(point_key) is stance)


def short_key(key: str) -> str:
    """A fixed-length token for an incident key, short enough for Telegram button data."""
    digest = hashlib.blake2s(key.encode("utf-8"), digest_size=8).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


# --- what the matcher indexes ------------------------------------------------------------


class TextKind(StrEnum):
    TITLE = "title"
    SUMMARY = "summary"
    PLACE = "place"
    KEYWORD = "keyword"
    NAME = "name"
    POINT = "point"
    ACCOUNT = "account"
    SOURCE = "source"
    PHRASE = "phrase"


@dataclass(frozen=True)
class MatchText:
    kind: TextKind
    text: str
    point_key: str | None = None


@dataclass(frozen=True)
class IncidentDocument:
    """Every text an incident can be found by, the names it treats as the same, and where
    and when it happened (what tells it from a look-alike)."""

    incident_key: str
    texts: tuple[MatchText, ...]
    name_groups: tuple[NameGroup, ...] = ()
    places: tuple[str, ...] = ()
    """Its place, the place's aliases, its region and country."""
    countries: tuple[str, ...] = ()
    date_start: dt.date | None = None
    date_end: dt.date | None = None
    date_note: str = ""


def document_for(incident: IncidentView) -> IncidentDocument:
    """Collect everything an incident can be recognised by into one matcher document."""
    texts: list[MatchText] = [
        MatchText(TextKind.TITLE, incident.title),
        MatchText(TextKind.SUMMARY, incident.summary),
    ]
    translated_places: list[str] = []
    for translation in incident.translations.values():
        texts.append(MatchText(TextKind.TITLE, translation.title))
        if translation.summary:
            texts.append(MatchText(TextKind.SUMMARY, translation.summary))
        translated_places += [translation.place, translation.country]
    places = (
        incident.place,
        *incident.place_aliases,
        incident.country,
        incident.region,
        *(name for name in translated_places if name),
    )
    texts.extend(MatchText(TextKind.PLACE, name) for name in places if name)
    texts.extend(MatchText(TextKind.KEYWORD, word) for word in incident.keywords)
    for group in incident.names:
        texts.extend(MatchText(TextKind.NAME, name) for name in group.variants)
    for point in incident.points:
        texts.append(MatchText(TextKind.POINT, point.text, point.key))
        texts.extend(MatchText(TextKind.POINT, t, point.key) for t in point.translations.values())
    sources_seen: set[str] = set()
    for account in incident.accounts:
        texts.append(MatchText(TextKind.ACCOUNT, account.summary))
        texts.extend(MatchText(TextKind.ACCOUNT, s) for s in account.translations.values())
        if account.source.key not in sources_seen:
            sources_seen.add(account.source.key)
            source = account.source
            names = (source.name, *source.aliases, *(t.name for t in source.translations.values()))
            texts.extend(MatchText(TextKind.SOURCE, name) for name in names)
    texts.extend(MatchText(TextKind.PHRASE, phrase) for phrase in incident.phrases)

    groups: list[NameGroup] = [NameGroup(incident.place, incident.place_aliases)]
    groups.extend(incident.names)
    groups.extend(
        NameGroup(a.source.name, a.source.aliases) for a in incident.accounts if a.source.aliases
    )
    return IncidentDocument(
        incident_key=incident.key,
        texts=tuple(t for t in texts if t.text.strip()),
        name_groups=tuple(g for g in groups if g.aliases),
        places=tuple(name for name in places if name.strip()),
        countries=(incident.country,) if incident.country else (),
        date_start=incident.date_start,
        date_end=incident.date_end,
        date_note=incident.date_note,
    )
