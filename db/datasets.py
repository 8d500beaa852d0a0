"""Importing and exporting dataset files against the database.

An import validates the whole file first and writes nothing if anything is wrong; then it
writes everything in one transaction, a batch of incidents at a time, so memory stays
bounded and a failure part-way leaves the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import IO, Any

from db.repository import Actor, Repository, SaveOutcome, audit_event
from domain import dataset
from domain.claim_review import claim_reviews, json_ld
from domain.model import IncidentView, SourceView

Progress = Callable[[int, int], None]
"""Called as progress(incidents_done, incidents_total) while importing."""

BATCH_SIZE = 500


@dataclass(frozen=True)
class ImportResult:
    report: dataset.ValidationReport
    sources: SaveOutcome
    incidents: SaveOutcome

    def describe(self) -> str:
        return (
            f"sources: {len(self.sources.created)} new, {len(self.sources.updated)} changed, "
            f"{self.sources.unchanged} unchanged; incidents: {len(self.incidents.created)} new, "
            f"{len(self.incidents.updated)} changed, {self.incidents.unchanged} unchanged"
        )


@dataclass(frozen=True)
class ImportPlan:
    """What importing a file would do to each of its incidents, by id."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    """Deleted here; the import would bring them back."""
    unchanged: list[str] = field(default_factory=list)
    newer_here: list[str] = field(default_factory=list)
    """Changed here after the file was exported; the import would overwrite those edits."""

    @property
    def needs_choice(self) -> bool:
        return bool(self.restored or self.newer_here)

    @property
    def held_back(self) -> list[str]:
        """What an import without an explicit choice leaves as it is."""
        return [*self.restored, *self.newer_here]

    def describe(self, shown: int = 10) -> str:
        lines = [
            f"{len(self.new)} new, {len(self.changed)} changed ({len(self.newer_here)} of them "
            f"edited here since the file was exported), {len(self.restored)} deleted here, "
            f"{len(self.unchanged)} unchanged"
        ]
        overwrite = "edited here since the file was exported (the import would overwrite)"
        for label, keys in (
            ("new", self.new),
            ("changed", self.changed),
            ("deleted here (the import would restore)", self.restored),
            (overwrite, self.newer_here),
        ):
            if keys:
                more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
                lines.append(f"{label}: {', '.join(keys[:shown])}{more}")
        return "\n".join(lines)


async def plan_import(repository: Repository, opener: dataset.Opener) -> ImportPlan:
    """Compare a validated file with what is stored, incident by incident."""
    exported_at = dataset.read_exported_at(opener)
    known = {s.key: s for s in await repository.list_sources(include_deleted=True)}
    known.update((s.key, s) for s in dataset.read_sources(opener))
    plan = ImportPlan()
    batch: list[IncidentView] = []

    async def compare(incidents: list[IncidentView]) -> None:
        stored = await repository.incident_states(i.key for i in incidents)
        for incident in incidents:
            state = stored.get(incident.key)
            if state is None:
                plan.new.append(incident.key)
                continue
            view, deleted_at, updated_at = state
            same = dataset.incident_to_json(view) == dataset.incident_to_json(incident)
            if deleted_at is not None:
                plan.restored.append(incident.key)
            elif same:
                plan.unchanged.append(incident.key)
            else:
                plan.changed.append(incident.key)
                if exported_at is not None and updated_at > exported_at:
                    plan.newer_here.append(incident.key)

    for incident in dataset.read_incidents(opener, known):
        batch.append(incident)
        if len(batch) >= BATCH_SIZE:
            await compare(batch)
            batch = []
    if batch:
        await compare(batch)
    return plan


async def import_dataset(
    repository: Repository,
    opener: dataset.Opener,
    actor: Actor,
    *,
    progress: Progress | None = None,
    label: str = "",
    leave: Collection[str] = (),
    validated: dataset.ValidationReport | None = None,
) -> ImportResult:
    """Validate, then import. Raises `dataset.DatasetInvalid` and writes nothing on errors.

    Incidents whose ids are in `leave` are left as they are (see `ImportPlan.held_back`).
    `validated` is the report of a validation just made of the same file, not repeated.
    """
    report = validated or dataset.validate(
        opener,
        existing_sources=await repository.source_keys(),
        existing_posts=await repository.post_owners(),
    )
    if not report.ok:
        raise dataset.DatasetInvalid(report)
    file_sources = list(dataset.read_sources(opener))
    known: dict[str, SourceView] = {
        s.key: s for s in await repository.list_sources(include_deleted=True)
    }
    known.update((s.key, s) for s in file_sources)

    incidents_outcome = SaveOutcome()
    async with repository.session() as session, session.begin():
        sources_outcome = await repository.save_sources(file_sources, actor, session)
        batch: list[IncidentView] = []
        done = 0
        left = set(leave)
        for incident in dataset.read_incidents(opener, known):
            if incident.key in left:
                continue
            batch.append(incident)
            if len(batch) >= BATCH_SIZE:
                _merge(incidents_outcome, await _save(repository, batch, actor, session))
                done += len(batch)
                batch = []
                if progress:
                    progress(done, report.incident_count)
        if batch:
            _merge(incidents_outcome, await _save(repository, batch, actor, session))
            done += len(batch)
        if progress:
            progress(done, report.incident_count)
        summary = {
            "file": label,
            "sources_created": len(sources_outcome.created),
            "sources_updated": len(sources_outcome.updated),
            "incidents_created": len(incidents_outcome.created),
            "incidents_updated": len(incidents_outcome.updated),
            "incidents_unchanged": incidents_outcome.unchanged,
        }
        if (
            sources_outcome.created
            or sources_outcome.updated
            or incidents_outcome.created
            or incidents_outcome.updated
        ):
            session.add(audit_event(actor, "import", "dataset", label or "dataset", None, summary))
    return ImportResult(report, sources_outcome, incidents_outcome)


async def _save(
    repository: Repository, batch: list[IncidentView], actor: Actor, session: Any
) -> SaveOutcome:
    # Large imports are summarised by one audit event instead of one per new incident.
    return await repository.save_incidents(batch, actor, session, audit_creations=len(batch) < 50)


def _merge(total: SaveOutcome, part: SaveOutcome) -> None:
    total.created.extend(part.created)
    total.updated.extend(part.updated)
    total.unchanged += part.unchanged


async def export_dataset(
    repository: Repository, out: IO[str], *, extras: dict[str, list[dict[str, Any]]] | None = None
) -> int:
    """Write every live source and incident as a dataset; returns the incident count."""
    writer = dataset.DatasetWriter(out, exported_at=dt.datetime.now(dt.UTC))
    for key, items in (extras or {}).items():
        writer.write_extra(key, items)
    writer.write_sources(await repository.list_sources())
    async for incident in repository.iter_incidents():
        writer.write_incident(incident)
    return writer.close()


async def export_claim_review(repository: Repository, out: IO[str], publisher: str) -> int:
    """schema.org ClaimReview JSON-LD: one review per point, naming who asserts and disputes it.

    We publish no verdict of our own, so the rating is a textual tally of the sources'
    stances rather than a true/false scale.
    """
    reviews: list[dict[str, Any]] = []
    async for incident in repository.iter_incidents():
        reviews.extend(claim_reviews(incident, publisher))
    out.write(json_ld(reviews))
    out.write("\n")
    return len(reviews)


async def backup(database: Any, out: IO[str]) -> int:
    """The whole curated state as one dataset file: sources, incidents, moderators, queue.

    The audit log and feedback stay behind: they describe this database's history, which a
    restore into another database should not pretend to have.
    """
    moderators = [
        {"user_id": m.telegram_user_id, "role": m.role, "name": m.display_name}
        for m in await database.staff.moderators()
    ]
    queue = [
        {"text": e.sample_text, "normalized": e.normalized_text, "times_asked": e.times_asked}
        for e in await database.community.open_queue(limit=1_000_000)
    ]
    return await export_dataset(
        database.repository, out, extras={"moderators": moderators, "queue": queue}
    )


async def restore(database: Any, opener: dataset.Opener, actor: Actor) -> ImportResult:
    """Import a backup (or any dataset); moderators and queued claims come back too."""
    result = await import_dataset(database.repository, opener, actor, label="restore")
    extras = dataset.read_extras(opener)
    for moderator in extras["moderators"]:
        await database.staff.appoint(moderator["user_id"], moderator.get("name", ""), actor)
    for entry in extras["queue"]:
        await database.community.restore_queued(
            entry["normalized"], entry["text"], entry.get("times_asked", 1)
        )
    return result
