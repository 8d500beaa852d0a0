"""Tables. Each reads like the domain: a source gives accounts of incidents, an account
takes a stance on each point of its incident, and figures stay exactly as a source gave them.

Rows are never hard-deleted by moderators: `deleted_at` hides them and undo clears it.
Every editable row has a `version` that each update increments, so an edit based on a
stale read is refused (see `db.repository.ConflictError`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from domain.model import (
    DatePrecision,
    IncidentStatus,
    QueueStatus,
    Role,
    SourceKind,
    Stance,
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend.

    SQLite keeps no time zone and hands back naive values while PostgreSQL hands back
    aware ones; normalising here means the rest of the code compares them safely.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


def _optional_time() -> Any:
    return Field(default=None, sa_type=UTCDateTime)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: SourceKind = Field(sa_type=String(32))
    affiliation: str = Field(default="", max_length=300)
    aliases: list[str] = _json_list()
    homepage: str | None = Field(default=None, max_length=2048)
    # {"ar": {"name": ..., "affiliation": ...}}
    translations: dict[str, Any] = _json_dict()
    version: int = Field(default=1)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()
    deleted_at: dt.datetime | None = _optional_time()


class Incident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True, index=True)
    title: str = Field(max_length=300)
    summary: str = Field(max_length=2000)
    place: str = Field(max_length=200)
    place_aliases: list[str] = _json_list()
    country: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=200)
    date_start: dt.date | None = None
    date_end: dt.date | None = None
    date_precision: DatePrecision = Field(default=DatePrecision.UNKNOWN, sa_type=String(16))
    date_note: str = Field(default="", max_length=300)
    status: IncidentStatus = Field(default=IncidentStatus.SINGLE_SOURCE, sa_type=String(16))
    keywords: list[str] = _json_list()
    # Named actors and the other spellings they go by: [{"name": ..., "aliases": [...]}].
    names: list[dict[str, Any]] = _json_list()
    # {"ru": {"title": ..., "summary": ..., "place": ..., "country": ..., "date_note": ...}}
    translations: dict[str, Any] = _json_dict()
    version: int = Field(default=1)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()
    deleted_at: dt.datetime | None = _optional_time()


class Point(SQLModel, table=True):
    """One specific claim inside an incident, e.g. "up to 40 Syrian soldiers killed"."""

    __table_args__ = (UniqueConstraint("incident_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=80)
    position: int = 0
    text: str = Field(max_length=500)
    translations: dict[str, Any] = _json_dict()
    version: int = Field(default=1)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()
    deleted_at: dt.datetime | None = _optional_time()


class Account(SQLModel, table=True):
    """What one source said about one incident, in our own summary."""

    __table_args__ = (UniqueConstraint("incident_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    source_id: int = Field(foreign_key="source.id", index=True)
    key: str = Field(max_length=80)
    position: int = 0
    summary: str = Field(max_length=1500)
    published_on: dt.date | None = None
    url: str | None = Field(default=None, max_length=2048)
    language: str | None = Field(default=None, max_length=16)
    # The summary in other languages: {"uk": ...}
    translations: dict[str, Any] = _json_dict()
    version: int = Field(default=1)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()
    deleted_at: dt.datetime | None = _optional_time()


class Figure(SQLModel, table=True):
    """A number as the source phrased it ("up to 40") with the bounds it implies."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    point_id: int | None = Field(default=None, foreign_key="point.id", ondelete="SET NULL")
    position: int = 0
    label: str = Field(max_length=200)
    raw: str = Field(max_length=100)
    min_value: int | None = Field(default=None, sa_type=BigInteger)
    max_value: int | None = Field(default=None, sa_type=BigInteger)
    # The label in other languages; `raw` stays as the source gave it.
    translations: dict[str, Any] = _json_dict()


class AccountStance(SQLModel, table=True):
    """An account's stance on one point: asserts, disputes, partly or silent."""

    __tablename__ = "account_stance"
    __table_args__ = (
        UniqueConstraint("account_id", "point_id"),
        Index("ix_account_stance_point_stance", "point_id", "stance"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    point_id: int = Field(foreign_key="point.id", ondelete="CASCADE")
    stance: Stance = Field(sa_type=String(16))
    note: str = Field(default="", max_length=300)
    translations: dict[str, Any] = _json_dict()


class MatchPhrase(SQLModel, table=True):
    """Wording users sent that a moderator linked to an incident; matched like its title."""

    __tablename__ = "match_phrase"
    __table_args__ = (UniqueConstraint("incident_id", "text"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    text: str = Field(max_length=500)
    position: int = 0
    added_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: dt.datetime = _created()


class KnownPostRecord(SQLModel, table=True):
    """A channel post known to carry an incident: a forward of it matches exactly."""

    __tablename__ = "known_post"
    __table_args__ = (UniqueConstraint("channel", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=40)
    message_id: int = Field(sa_type=BigInteger)
    position: int = 0


class KnownMediaRecord(SQLModel, table=True):
    """A photo or video recorded with an incident: Telegram's ids for the file and the
    fingerprints of its pictures, never the file itself (`domain.model.KnownMedia`)."""

    __tablename__ = "known_media"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    file_ids: list[str] = _json_list()
    fingerprints: list[str] = _json_list()
    """256-bit fingerprints as 64 hexadecimal digits each."""
    size: int | None = Field(default=None, sa_type=BigInteger)
    width: int | None = None
    height: int | None = None
    note: str = Field(default="", max_length=500)
    position: int = 0


class Moderator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    role: Role = Field(default=Role.MODERATOR, sa_type=String(16))
    display_name: str = Field(default="", max_length=200)
    added_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: dt.datetime = _created()
    removed_at: dt.datetime | None = _optional_time()


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, with the record before and after."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    actor_label: str = Field(default="", max_length=200)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_key: str = Field(max_length=200)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class UnmatchedQuery(SQLModel, table=True):
    """A claim nobody could match, counted once per distinct normalized wording."""

    __tablename__ = "unmatched_query"

    id: int | None = Field(default=None, primary_key=True)
    normalized_text: str = Field(max_length=500, unique=True, index=True)
    sample_text: str = Field(max_length=1000)
    times_asked: int = 1
    first_asked_at: dt.datetime = _created()
    last_asked_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    status: QueueStatus = Field(default=QueueStatus.OPEN, sa_type=String(16), index=True)
    linked_incident_id: int | None = Field(
        default=None, foreign_key="incident.id", ondelete="SET NULL"
    )
    resolved_by: int | None = Field(default=None, sa_type=BigInteger)
    resolved_at: dt.datetime | None = _optional_time()
    judged_wrong: str | None = Field(default=None, max_length=200)
    """Set when the bot did answer, with this incident, and someone pressed Not helpful:
    the match or the record needs a look. None for a claim nothing matched."""


class UnmatchedAsker(SQLModel, table=True):
    """Someone who sent an unmatched claim, and whether they want to hear back."""

    __tablename__ = "unmatched_asker"
    __table_args__ = (UniqueConstraint("query_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    query_id: int = Field(foreign_key="unmatched_query.id", index=True, ondelete="CASCADE")
    user_id: int = Field(sa_type=BigInteger)
    chat_id: int = Field(sa_type=BigInteger)
    language: str | None = Field(default=None, max_length=16)
    wants_follow_up: bool = False
    asked_at: dt.datetime = _created()
    notified_at: dt.datetime | None = _optional_time()


class Feedback(SQLModel, table=True):
    """One user's verdict on whether an answer about an incident helped."""

    __table_args__ = (UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    user_id: int = Field(sa_type=BigInteger)
    helpful: bool
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()


class UserPreference(SQLModel, table=True):
    """Per-user settings chosen in the chat, such as the reply language from /lang."""

    __tablename__ = "user_preference"

    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    language: str | None = Field(default=None, max_length=16)
    updated_at: dt.datetime = _created()


class IncidentChange(SQLModel, table=True):
    """One row per write to an incident, so every bot process can refresh its index."""

    __tablename__ = "incident_change"

    id: int | None = Field(default=None, primary_key=True)
    incident_key: str = Field(max_length=80)
    at: dt.datetime = _created()


class InboxUpdate(SQLModel, table=True):
    """A Telegram update, written down when it arrives and marked done once handled.

    Written before Telegram is told the update arrived, so an update in hand when the
    process dies is handled after the restart; its id also makes an update delivered
    twice (Telegram retries webhooks) the same row, answered once.
    """

    __tablename__ = "update_inbox"

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # When a process last vouched for it (it renews this while working on it); one that
    # died leaves it old, and another process takes it over.
    claimed_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Take-overs so far: an update that keeps killing its process is given up after a few.
    attempts: int = 0
    done_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        # The take-over query reads only the few unfinished rows, never the finished mass.
        Index(
            "ix_update_inbox_unfinished",
            "claimed_at",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )


class RateWindow(SQLModel, table=True):
    """Checks one user asked for in one minute, shared by every bot process."""

    __tablename__ = "rate_window"

    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    window: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    count: int = 0


class FormDraft(SQLModel, table=True):
    """A moderator's guided form in progress: which form, what it was opened on, and the
    answers so far exactly as typed. Kept in the database so that a restart, or the next
    answer reaching another replica, continues the form where it was."""

    __tablename__ = "form_draft"

    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    chat_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class PendingUpload(SQLModel, table=True):
    """A dataset file a moderator sent, validated and waiting for their Import button.

    Telegram's file id, not the file: any process can download it again when the button
    is pressed."""

    __tablename__ = "pending_upload"

    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    chat_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    file_id: str = Field(max_length=300)
    file_name: str = Field(max_length=300)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeskRequest(SQLModel, table=True):
    """A change made from the desk, by its request id: the same id again is a replay.

    Kept in the database so that every replica refuses it, for as long as the init data
    that carried it stays valid (pruned after that)."""

    __tablename__ = "desk_request"

    user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    request_id: str = Field(max_length=100, primary_key=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class IncidentVector(SQLModel, table=True):
    """An incident's embedding for the semantic stage of matching, by the model that made it.

    Computed once when the incident is written (or when a new model first sees it), never
    at every start: `digest` names the passage it was computed from, so an edit that
    changes the passage makes it stale, and another model's vectors never mix with this
    one's. The vector is float32 bytes: a plain column that every database has.
    """

    __tablename__ = "incident_vector"

    incident_key: str = Field(max_length=80, primary_key=True)
    model: str = Field(max_length=120, primary_key=True)
    digest: str = Field(max_length=32)
    vector: bytes = Field(sa_type=LargeBinary)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
