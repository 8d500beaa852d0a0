"""Storage on both backends: the reference case round-trips, bad input changes nothing,
and concurrent edits conflict instead of overwriting each other."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import io
import json
from typing import Any

import pytest
import sqlalchemy

from db import migrate
from db.database import Database
from db.datasets import export_claim_review, export_dataset, import_dataset
from db.repository import Actor, ConflictError, RepositoryError
from domain import dataset, moderation
from domain.dataset import SAMPLE_PATH
from domain.model import IncidentView, MediaKind, Stance
from domain.sample import REFERENCE_INCIDENT_KEY
from tests.helpers.storage import queue_claim

MODERATOR = Actor(1001, "moderator one")


def opener(data: dict[str, Any] | bytes) -> dataset.Opener:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return lambda: io.BytesIO(raw)


def sample() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    return loaded


async def export(db: Database) -> dict[str, Any]:
    out = io.StringIO()
    await export_dataset(db.repository, out)
    exported: dict[str, Any] = json.loads(out.getvalue())
    exported.pop("exported_at")
    return exported


async def import_sample(db: Database) -> None:
    await import_dataset(db.repository, opener(SAMPLE_PATH.read_bytes()), MODERATOR)


def without_versions(view: IncidentView) -> IncidentView:
    accounts = tuple(
        dataclasses.replace(a, version=1, source=dataclasses.replace(a.source, version=1))
        for a in view.accounts
    )
    points = tuple(dataclasses.replace(p, version=1) for p in view.points)
    return dataclasses.replace(view, version=1, accounts=accounts, points=points)


async def test_reference_case_round_trips(database: Database) -> None:
    await import_sample(database)
    stored = await database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    _, (expected,) = dataset.sample_dataset()
    assert stored is not None
    assert without_versions(stored) == expected
    assert await export(database) == sample()


async def test_stored_stances_say_which_accounts_dispute_a_point(database: Database) -> None:
    await import_sample(database)
    stored = await database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None

    def keys(point: str, stance: Stance) -> list[str]:
        return [a.key for a in stored.accounts_with(point, stance)]

    assert keys("soldiers-killed", Stance.DISPUTES) == ["nlf-spokesman", "sohr-count"]
    assert keys("soldiers-killed", Stance.ASSERTS) == ["mod-statement"]
    assert keys("attack-launched", Stance.ASSERTS) == ["mod-statement", "state-media-report"]
    assert keys("attack-launched", Stance.DISPUTES) == ["nlf-spokesman", "sohr-count"]
    assert keys("settlements-seized", Stance.PARTLY) == ["state-media-report"]


async def test_reimporting_the_same_file_changes_nothing(database: Database) -> None:
    await import_sample(database)
    before = await database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    audit_before = await database.audit.latest(100)
    result = await import_dataset(database.repository, opener(sample()), MODERATOR)
    assert result.incidents.created == result.incidents.updated == []
    assert result.incidents.unchanged == 1
    assert result.sources.unchanged == 4
    assert await database.repository.get_incident(REFERENCE_INCIDENT_KEY) == before
    assert len(await database.audit.latest(100)) == len(audit_before)


async def test_reimporting_a_changed_file_updates_and_audits(database: Database) -> None:
    await import_sample(database)
    data = sample()
    data["incidents"][0]["accounts"][3]["summary"] = "Counted about 400 air strikes."
    result = await import_dataset(database.repository, opener(data), MODERATOR)
    assert result.incidents.updated == [REFERENCE_INCIDENT_KEY]
    stored = await database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and stored.version == 2
    assert stored.accounts[3].summary == "Counted about 400 air strikes."
    event = (await database.audit.latest(1))[0]
    assert (event.action, event.entity, event.entity_key) == ("import", "dataset", "dataset")
    update = next(e for e in await database.audit.latest(10) if e.action == "update")
    assert update.actor_id == MODERATOR.user_id
    assert update.before is not None and update.after is not None
    assert update.before["accounts"][3]["summary"] != update.after["accounts"][3]["summary"]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d["incidents"][0].pop("summary"),
        lambda d: d["incidents"][0]["accounts"][0].update(source="unknown-source"),
        lambda d: d["incidents"][0]["accounts"][0]["stances"][0].update(point="elsewhere"),
        lambda d: d["incidents"][0]["accounts"][0]["figures"][0].update(max="forty"),
    ],
    ids=["missing-field", "unknown-source", "foreign-point", "wrong-type"],
)
async def test_bad_dataset_leaves_the_database_unchanged(database: Database, spoil: Any) -> None:
    await import_sample(database)
    before = await export(database)
    data = sample()
    data["incidents"][0]["title"] = "A changed title that must not land"
    spoil(data)
    with pytest.raises(dataset.DatasetInvalid) as refused:
        await import_dataset(database.repository, opener(data), MODERATOR)
    assert refused.value.report.error_count == 1
    assert await export(database) == before


async def test_junk_upload_leaves_the_database_unchanged(database: Database) -> None:
    await import_sample(database)
    before = await export(database)
    with pytest.raises(dataset.DatasetInvalid):
        await import_dataset(database.repository, opener(b"\x00junk" * 200_000), MODERATOR)
    assert await export(database) == before


def synthetic_dataset(count: int) -> dict[str, Any]:
    data = sample()
    template = data["incidents"][0]
    incidents = []
    for n in range(count):
        incident = json.loads(json.dumps(template))
        incident["id"] = f"synthetic-{n}"
        incident["title"] = f"Synthetic incident number {n}"
        incidents.append(incident)
    data["incidents"] = incidents
    return data


async def test_a_failure_part_way_through_an_import_writes_nothing(database: Database) -> None:
    await import_sample(database)
    before = await export(database)

    def fail_after_first_batch(done: int, total: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        await import_dataset(
            database.repository,
            opener(synthetic_dataset(600)),
            MODERATOR,
            progress=fail_after_first_batch,
        )
    assert await export(database) == before
    assert await database.repository.count_incidents() == 1


async def test_second_writer_gets_a_conflict_not_a_lost_update(database: Database) -> None:
    await import_sample(database)
    repo = database.repository
    first = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    second = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert first is not None and second is not None
    saved = await repo.save_incident(
        moderation.edit_incident(first, "title", "Title from the first moderator"),
        Actor(1, "a"),
        expected_version=first.version,
    )
    assert saved.version == first.version + 1
    with pytest.raises(ConflictError) as conflict:
        await repo.save_incident(
            moderation.edit_incident(second, "title", "Title from the second moderator"),
            Actor(2, "b"),
            expected_version=second.version,
        )
    assert (conflict.value.expected, conflict.value.current) == (1, 2)
    assert "changed by someone else" in str(conflict.value)
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and stored.title == "Title from the first moderator"


async def test_simultaneous_edits_let_exactly_one_through(database: Database) -> None:
    await import_sample(database)
    repo = database.repository
    current = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert current is not None

    async def edit(n: int) -> str:
        try:
            await repo.save_incident(
                moderation.edit_incident(current, "title", f"T{n}"),
                Actor(n, ""),
                expected_version=current.version,
            )
        except ConflictError:
            return "conflict"
        return f"T{n}"

    results = await asyncio.gather(*(edit(n) for n in range(4)))
    winners = [r for r in results if r != "conflict"]
    assert len(winners) == 1
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and stored.title == winners[0] and stored.version == 2


async def test_soft_delete_hides_and_undo_restores(database: Database) -> None:
    await import_sample(database)
    repo = database.repository
    await repo.set_incident_deleted(REFERENCE_INCIDENT_KEY, True, MODERATOR)
    assert await repo.get_incident(REFERENCE_INCIDENT_KEY) is None
    assert await repo.count_incidents() == 0
    assert (await export(database))["incidents"] == []
    await repo.set_incident_deleted(REFERENCE_INCIDENT_KEY, False, MODERATOR)
    restored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert restored is not None and len(restored.accounts) == 4
    actions = [e.action for e in await database.audit.latest(2)]
    assert actions == ["restore", "delete"]


async def test_forwarded_posts_recorded_for_an_incident_are_found(database: Database) -> None:
    data = sample()
    data["incidents"][0]["posts"] = [{"channel": "@example_news", "message_id": 4242}]
    await import_dataset(database.repository, opener(data), MODERATOR)
    repo = database.repository
    assert await repo.incident_for_post("@example_news", 4242) == REFERENCE_INCIDENT_KEY
    assert await repo.incident_for_post("@example_news", 4243) is None


async def test_photos_and_videos_recorded_with_an_incident_are_kept_and_listed(
    database: Database,
) -> None:
    data = sample()
    fingerprint = "0f" * 32
    data["incidents"][0]["media"] = [
        {
            "kind": "video",
            "file_ids": ["BAADvideo", "AQADthumb"],
            "fingerprints": [fingerprint],
            "size": 5_000_000_000,
            "width": 1280,
            "height": 720,
            "note": "first published in 2016",
        }
    ]
    await import_dataset(database.repository, opener(data), MODERATOR)
    repo = database.repository
    incident = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert incident is not None
    (media,) = incident.media
    assert media.kind is MediaKind.VIDEO
    assert media.file_ids == ("BAADvideo", "AQADthumb")
    assert media.fingerprints == (int(fingerprint, 16),)
    assert media.size == 5_000_000_000  # past 32 bits: a long video
    assert [key async for key, _ in repo.iter_media()] == [REFERENCE_INCIDENT_KEY]
    assert (await export(database))["incidents"][0]["media"] == data["incidents"][0]["media"]
    await repo.set_incident_deleted(REFERENCE_INCIDENT_KEY, True, MODERATOR)
    assert [key async for key, _ in repo.iter_media()] == []


async def test_claim_review_export_names_who_asserts_and_disputes(database: Database) -> None:
    await import_sample(database)
    out = io.StringIO()
    count = await export_claim_review(database.repository, out, "Example Desk")
    reviews = json.loads(out.getvalue())
    # Five points, each reviewed in English and in its ru, uk and ar translations.
    assert count == len(reviews) == 20
    killed = next(r for r in reviews if r["identifier"].endswith("#soldiers-killed"))
    assert killed["@type"] == "ClaimReview" and killed["inLanguage"] == "en"
    in_arabic = next(r for r in reviews if r["identifier"].endswith("#soldiers-killed@ar"))
    assert in_arabic["inLanguage"] == "ar"
    assert in_arabic["claimReviewed"] == "قُتل ما يصل إلى 40 جنديًا سوريًا"
    assert killed["claimReviewed"] == "Up to 40 Syrian soldiers were killed"
    assert killed["reviewRating"]["alternateName"].startswith(
        "Asserted by 1 source(s), disputed by 2"
    )
    assert [a["author"]["name"] for a in killed["itemReviewed"]["appearance"]] == [
        "Russian Ministry of Defence"
    ]


async def test_claim_review_export_can_be_embedded_in_a_script_element(
    database: Database,
) -> None:
    data = sample()
    point = data["incidents"][0]["points"][0]
    point["text"] = "Rebels </script><script>alert(1)</script> attacked & <!-- won"
    await import_dataset(database.repository, opener(data), MODERATOR)
    out = io.StringIO()
    await export_claim_review(database.repository, out, "Example Desk")
    text = out.getvalue()
    # Nothing in it can end or open markup when it sits inside <script type="ld+json">.
    assert "<" not in text and ">" not in text and "&" not in text
    reviews = json.loads(text)
    assert any(r["claimReviewed"] == point["text"] for r in reviews)  # the same text read back


async def test_timestamps_come_back_in_utc_on_every_backend(database: Database) -> None:
    await import_sample(database)
    event = (await database.audit.latest(1))[0]
    assert event.at.tzinfo is not None and event.at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_schema_is_at_the_latest_migration(database: Database) -> None:
    assert await migrate.current_revision(database.engine) == migrate.head_revision()


async def test_fresh_embedded_database_starts_with_the_sample(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path}/fresh.db")
    try:
        loaded = await db.prepare()
        assert loaded is not None and loaded.incidents.created == [REFERENCE_INCIDENT_KEY]
        assert await db.prepare() is None  # not a fresh database any more
        assert await db.repository.count_incidents() == 1
    finally:
        await db.close()


async def test_sample_is_not_reloaded_after_moderators_deleted_it(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path}/fresh.db")
    try:
        await db.prepare()
        await db.repository.set_incident_deleted(REFERENCE_INCIDENT_KEY, True, MODERATOR)
        await db.close()
        db = Database(f"sqlite:///{tmp_path}/fresh.db")
        assert await db.prepare() is None
        assert await db.repository.count_incidents() == 0
    finally:
        await db.close()


async def test_whole_incident_saves_conflict_when_stale(database: Database) -> None:

    await import_sample(database)
    repo = database.repository
    read_by_a = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    read_by_b = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert read_by_a is not None and read_by_b is not None
    saved = await repo.save_incident(
        moderation.add_point(read_by_a, "A hospital was hit"), Actor(1, "a"), expected_version=1
    )
    assert saved.version == 2 and saved.points[-1].text == "A hospital was hit"
    with pytest.raises(ConflictError):
        await repo.save_incident(
            moderation.edit_incident(read_by_b, "title", "B's title"),
            Actor(2, "b"),
            expected_version=1,
        )
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and stored.title == read_by_a.title and len(stored.points) == 6


async def test_simultaneous_whole_saves_let_exactly_one_through(database: Database) -> None:

    await import_sample(database)
    repo = database.repository
    current = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert current is not None

    async def save(n: int) -> bool:
        try:
            await repo.save_incident(
                moderation.add_point(current, f"Point from moderator {n}"),
                Actor(n, ""),
                expected_version=1,
            )
        except ConflictError:
            return False
        return True

    assert sorted(await asyncio.gather(*(save(n) for n in range(3)))) == [False, False, True]
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and len(stored.points) == 6 and stored.version == 2


async def test_undo_reverts_a_moderators_latest_change(database: Database) -> None:

    await import_sample(database)
    repo, audit = database.repository, database.audit
    editor = Actor(42, "editor")
    current = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert current is not None
    await repo.save_incident(
        moderation.edit_incident(current, "title", "Wrong title"), editor, expected_version=1
    )
    undone = await audit.undo_last(editor)
    assert undone is not None and undone.action == "update"
    restored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert restored is not None and restored.title == current.title and restored.version == 3
    assert await audit.undo_last(editor) is None  # nothing else of theirs to undo
    assert await audit.undo_last(Actor(7, "other")) is None


async def test_moderators_are_appointed_and_removed(database: Database) -> None:
    staff = database.staff
    admin = Actor(1, "admin")
    assert await staff.role_of(555) is None
    assert await staff.appoint(555, "Dana", admin) is True
    assert await staff.appoint(555, "Dana", admin) is False
    assert await staff.role_of(555) is not None
    assert [m.telegram_user_id for m in await staff.moderators()] == [555]
    assert await staff.dismiss(555, admin) is True
    assert await staff.role_of(555) is None
    assert await staff.dismiss(555, admin) is False
    actions = [e.action for e in await database.audit.latest(3)]
    assert actions == ["remove", "appoint"]


async def test_unmatched_claims_are_counted_not_duplicated(database: Database) -> None:
    community = database.community
    first = await queue_claim(
        community, "dam blown up", "Dam blown up?", user_id=1, chat_id=1, language="en"
    )
    again = await queue_claim(
        community, "dam blown up", "dam BLOWN up", user_id=1, chat_id=1, language="en"
    )
    other = await queue_claim(
        community, "dam blown up", "Dam blown up!", user_id=2, chat_id=2, language="ru"
    )
    assert first == again == other
    (entry,) = await community.open_queue()
    assert (entry.times_asked, entry.sample_text, entry.waiting) == (2, "Dam blown up?", 0)
    assert await community.want_follow_up(first, 2, 2) is True
    assert await community.want_follow_up(first, 3, 3) is False  # never asked it
    await import_sample(database)
    follow_ups = await community.link_query(first, REFERENCE_INCIDENT_KEY, Actor(9, "mod"))
    assert [(f.user_id, f.language) for f in follow_ups] == [(2, "ru")]
    stored = await database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and stored.phrases == ("Dam blown up?",)
    assert await community.open_queue() == []


async def test_a_batch_of_unmatched_claims_counts_like_one_at_a_time(database: Database) -> None:
    from db.repository import UnmatchedClaim

    community = database.community
    before = await queue_claim(
        community, "bridge hit", "Bridge hit?", user_id=1, chat_id=1, language="en"
    )
    await community.dismiss_query(before, Actor(9, "mod"))
    ids = await community.record_unmatched_many(
        [
            UnmatchedClaim("dam blown up", "Dam blown up?", 1, 1, "en"),
            UnmatchedClaim("bridge hit", "bridge HIT", 1, 1, "en"),  # same asker: not counted
            UnmatchedClaim("dam blown up", "dam BLOWN up", 1, 1, "en"),  # same asker
            UnmatchedClaim("dam blown up", "Dam blown up!", 2, 2, "ru"),
            UnmatchedClaim("bridge hit", "Bridge hit!", 3, 3, "en"),
        ]
    )
    dam = ids[0]
    assert ids == [dam, before, dam, dam, before] and dam != before
    entries = {e.id: e for e in await community.open_queue()}  # the dismissed one reopened
    assert (entries[dam].times_asked, entries[dam].sample_text) == (2, "Dam blown up?")
    assert (entries[before].times_asked, entries[before].sample_text) == (2, "Bridge hit?")
    assert await community.want_follow_up(dam, 2, 2) is True
    assert await community.want_follow_up(before, 3, 3) is True
    assert await community.want_follow_up(dam, 3, 3) is False  # never asked it
    assert await community.record_unmatched_many([]) == []


async def test_backup_and_restore_bring_back_the_whole_state(
    database: Database, tmp_path: Any
) -> None:
    from db.datasets import backup, restore

    await import_sample(database)
    await database.staff.appoint(777, "Dana", Actor(1, "admin"))
    await queue_claim(
        database.community, "dam blown up", "Dam blown up?", user_id=5, chat_id=5, language="en"
    )
    out = io.StringIO()
    assert await backup(database, out) == 1
    saved = out.getvalue()

    fresh = Database(f"sqlite:///{tmp_path}/restored.db")
    try:
        await fresh.prepare(sample_data="no")
        result = await restore(fresh, opener(saved.encode()), Actor.cli())
        assert result.incidents.created == [REFERENCE_INCIDENT_KEY]
        assert await fresh.staff.role_of(777) is not None
        (entry,) = await fresh.community.open_queue()
        assert (entry.sample_text, entry.times_asked) == ("Dam blown up?", 1)
        assert await export(fresh) == await export(database)
        again = await restore(fresh, opener(saved.encode()), Actor.cli())
        assert again.incidents.unchanged == 1 and len(await fresh.community.open_queue()) == 1
    finally:
        await fresh.close()


async def _add_change(database: Database, change_id: int, key: str) -> None:
    from db.models import IncidentChange, utcnow

    async with database.repository.session() as session, session.begin():
        session.add(IncidentChange(id=change_id, incident_key=key, at=utcnow()))


async def test_a_change_committed_late_with_a_lower_id_is_still_seen(database: Database) -> None:
    from db.repository import ChangeCursor

    shared = database.shared
    cursor = ChangeCursor()
    await _add_change(database, 5, "committed-first")
    assert await shared.changes_since(cursor) == ["committed-first"]
    # A transaction that took id 3 earlier commits only now.
    await _add_change(database, 3, "committed-late")
    assert await shared.changes_since(cursor) == ["committed-late"]
    assert await shared.changes_since(cursor) == []  # nothing twice
    assert cursor.last_id == 5 and sorted(cursor.holes) == [1, 2, 4]


async def test_a_process_starting_still_sees_a_lower_id_committed_after_it(
    database: Database,
) -> None:
    await _add_change(database, 7, "visible-at-start")
    cursor = await database.shared.change_cursor()
    assert cursor.last_id == 7
    await _add_change(database, 6, "committed-after-start")
    assert await database.shared.changes_since(cursor) == ["committed-after-start"]


async def test_ids_skipped_longer_than_the_lookback_are_given_up(database: Database) -> None:
    from db.repository import ChangeCursor

    cursor = ChangeCursor(lookback=0.0)
    await _add_change(database, 4, "first")
    assert await database.shared.changes_since(cursor) == ["first"]
    await _add_change(database, 2, "too-late")
    assert await database.shared.changes_since(cursor) == []
    assert cursor.holes == {}


async def test_undo_refuses_to_drop_someone_elses_later_change(database: Database) -> None:

    await import_sample(database)
    repo = database.repository
    first, second = Actor(1, "first"), Actor(2, "second")
    current = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert current is not None
    edited = await repo.save_incident(
        moderation.edit_incident(current, "title", "First's title"), first, expected_version=1
    )
    await repo.save_incident(
        moderation.add_point(edited, "Second's point"), second, expected_version=2
    )
    with pytest.raises(ConflictError):
        await database.audit.undo_last(first)
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and stored.points[-1].text == "Second's point"
    assert stored.title == "First's title"


async def test_key_lookups_for_new_ids_and_recent_lists(database: Database) -> None:
    await import_sample(database)
    repo = database.repository
    assert await repo.incident_keys_starting("idlib") == {REFERENCE_INCIDENT_KEY}
    assert await repo.incident_keys_starting("idlib_") == set()  # "_" is not a wildcard
    assert await repo.incident_keys_starting("%") == set()
    await repo.set_incident_deleted(REFERENCE_INCIDENT_KEY, True, MODERATOR)
    assert await repo.incident_keys_starting("idlib") == {REFERENCE_INCIDENT_KEY}  # still taken
    assert await repo.recent_incidents() == []


async def test_checks_counted_in_one_batch_count_up_per_user_and_minute(
    database: Database,
) -> None:
    shared = database.shared
    batch = [(1, 5), (2, 5), (1, 5), (1, 6), (1, 5)]
    assert await shared.count_checks(batch) == [1, 1, 2, 1, 3]
    # Another process (or a later batch) goes on from the stored totals.
    assert await shared.count_checks([(1, 5), (2, 5)]) == [4, 2]
    assert await shared.count_checks([]) == []


async def test_changes_after_the_log_was_pruned_are_still_seen(database: Database) -> None:
    import datetime as dt

    from db.models import IncidentChange, utcnow

    long_ago = utcnow() - dt.timedelta(days=30)
    async with database.repository.session() as session, session.begin():
        session.add_all(IncidentChange(incident_key=f"old-{n}", at=long_ago) for n in range(3))
    cursor = await database.shared.change_cursor()
    await database.shared.prune(utcnow() - dt.timedelta(days=2), 0)
    async with database.repository.session() as session, session.begin():
        session.add(IncidentChange(incident_key="after-the-prune", at=utcnow()))
    assert await database.shared.changes_since(cursor) == ["after-the-prune"]


async def test_a_second_upload_waiting_for_import_replaces_the_first(database: Database) -> None:
    import asyncio
    import datetime as dt

    uploads = database.uploads
    # Two stored at once (say, by two replicas): one wins, neither fails.
    await asyncio.gather(
        uploads.put(7, 7, "file-a", "a.json"), uploads.put(7, 7, "file-b", "b.json")
    )
    await uploads.put(7, 7, "file-c", "c.json")
    assert await uploads.take(7, 7, max_age=dt.timedelta(hours=1)) == ("file-c", "c.json")
    assert await uploads.take(7, 7, max_age=dt.timedelta(hours=1)) is None


async def test_unmatched_claims_and_their_askers_are_forgotten_after_the_retention(
    database: Database,
) -> None:
    community = database.community
    old = await queue_claim(
        community, "old rumour", "Old rumour, call +1 555 0100", user_id=7, chat_id=7, language="en"
    )
    recent = await queue_claim(
        community, "new rumour", "New rumour", user_id=8, chat_id=8, language="en"
    )
    async with database.engine.begin() as connection:
        await connection.execute(
            sqlalchemy.text("UPDATE unmatched_query SET last_asked_at = :at WHERE id = :id"),
            {"at": dt.datetime.now(dt.UTC) - dt.timedelta(days=200), "id": old},
        )
    gone = await community.forget_unmatched(dt.datetime.now(dt.UTC) - dt.timedelta(days=180))
    assert gone == 1
    assert [entry.id for entry in await community.open_queue()] == [recent]
    assert await community.want_follow_up(old, 7, 7) is False  # who asked it is gone too
    async with database.engine.connect() as connection:
        askers = await connection.execute(
            sqlalchemy.text("SELECT user_id FROM unmatched_asker ORDER BY user_id")
        )
        assert [row[0] for row in askers] == [8]


async def test_undo_never_drops_a_phrase_another_moderator_linked(database: Database) -> None:

    await import_sample(database)
    repo, community = database.repository, database.community
    editor, linker = Actor(1, "editor"), Actor(2, "linker")
    current = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert current is not None
    await repo.save_incident(
        moderation.edit_incident(current, "title", "Edited title"), editor, expected_version=1
    )
    query = await queue_claim(
        community,
        "a rumour about idlib",
        "A rumour about Idlib",
        user_id=5,
        chat_id=5,
        language="en",
    )
    await community.link_query(query, REFERENCE_INCIDENT_KEY, linker)
    linked = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert linked is not None and linked.version == 3  # the link is an edit of the incident
    with pytest.raises(ConflictError):
        await database.audit.undo_last(editor)  # would drop the linker's phrase
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and "A rumour about Idlib" in stored.phrases
    assert stored.title == "Edited title"
    # The linker's own undo takes the link back exactly: phrase gone, claim queued again.
    undone = await database.audit.undo_last(linker)
    assert undone is not None and undone.action == "link"
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and "A rumour about Idlib" not in stored.phrases
    assert [entry.id for entry in await community.open_queue()] == [query]


async def test_undo_after_a_source_edit_refuses_rather_than_reach_past_it(
    database: Database,
) -> None:

    await import_sample(database)
    repo = database.repository
    editor = Actor(1, "editor")
    current = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert current is not None
    await repo.save_incident(
        moderation.edit_incident(current, "title", "Edited title"), editor, expected_version=1
    )
    source = (await repo.list_sources())[0]
    await repo.save_source(
        dataclasses.replace(source, affiliation="Edited affiliation"),
        editor,
        expected_version=source.version,
    )
    with pytest.raises(RepositoryError, match="not one /undo can revert"):
        await database.audit.undo_last(editor)
    stored = await repo.get_incident(REFERENCE_INCIDENT_KEY)
    assert stored is not None and stored.title == "Edited title"  # the older edit stands


async def test_a_duplicated_phrase_or_a_post_of_another_incident_is_refused_before_writing(
    database: Database,
) -> None:
    data = sample()
    data["incidents"][0]["posts"] = [{"channel": "@example_news", "message_id": 4242}]
    await import_dataset(database.repository, opener(data), MODERATOR)
    before = await database.repository.count_incidents()

    other = copy.deepcopy(data["incidents"][0])
    other["id"] = "another-incident"
    other["phrases"] = ["the same words", "the same words"]
    again = sample()
    again["incidents"] = [other]
    with pytest.raises(dataset.DatasetInvalid) as refused:
        await import_dataset(database.repository, opener(again), MODERATOR)
    problems = {str(error) for error in refused.value.report.errors}
    assert "incidents[0].phrases[1]: duplicate phrase 'the same words'" in problems
    assert (
        "incidents[0].posts[0]: post @example_news/4242 is already recorded for incident "
        f"{REFERENCE_INCIDENT_KEY!r}" in problems
    )
    assert await database.repository.count_incidents() == before  # nothing written


async def test_a_desk_request_counts_once_in_every_replica(database: Database) -> None:
    requests = database.desk_requests
    assert await requests.first_time(900, "request-0001")
    assert not await requests.first_time(900, "request-0001")  # a replay
    assert await requests.first_time(901, "request-0001")  # another moderator's
    assert await requests.prune(dt.timedelta(hours=1)) == 0  # still within the hour
    assert await requests.prune(dt.timedelta(0)) == 2
    assert await requests.first_time(900, "request-0001")  # long expired with its session
