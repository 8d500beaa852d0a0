"""What the bot says about a claim, before any formatting.

An answer lays every recorded account side by side with its stance on the point the user
asked about. It never merges sources into a verdict: the figures stay per source, and the
disagreements are listed as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from domain.matching import MatchStatus
from domain.model import (
    AccountView,
    IncidentView,
    KnownMedia,
    MediaRoute,
    PointView,
    Stance,
    Translation,
)


@dataclass(frozen=True)
class CandidateSummary:
    """One incident offered when the bot asks "which one?": with what tells look-alikes
    apart, where and when."""

    incident_key: str
    title: str
    place: str
    score: float
    when: str = ""
    """The incident's date in digits ("12.09.2017", "09.2017", "2013–2018"), which read
    the same in every language; empty when undated."""
    translations: dict[str, Translation] = field(default_factory=dict)
    """The incident's title and place in other languages."""


def when(incident: IncidentView) -> str:
    """An incident's date in digits, as precise as it is recorded."""
    start, end = incident.date_start, incident.date_end or incident.date_start
    if start is None or end is None:
        years = sorted(
            {int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", incident.date_note)}
        )
        if not years:
            return ""
        return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
    if start == end:
        return start.strftime("%d.%m.%Y")
    if (start.year, start.month) == (end.year, end.month):
        return start.strftime("%m.%Y")
    if start.year == end.year:
        return f"{start.strftime('%d.%m')}–{end.strftime('%d.%m.%Y')}"
    return f"{start.year}–{end.year}"


@dataclass(frozen=True)
class Disagreement:
    """One point on which some accounts assert what others dispute."""

    point: PointView
    asserting: tuple[AccountView, ...]
    disputing: tuple[AccountView, ...]


@dataclass(frozen=True)
class Answer:
    status: MatchStatus
    claim: str
    incident: IncidentView | None = None
    score: float = 0.0
    point: PointView | None = None
    candidates: tuple[CandidateSummary, ...] = ()
    # The claim as the matcher saw it: the key under which an unmatched claim is queued.
    normalized: str = ""
    route: MediaRoute | None = None
    """For a photo or video: how it was recognised."""
    media: KnownMedia | None = None
    """The recorded photo or video it was recognised as (its note says where it first
    appeared)."""

    @property
    def found(self) -> bool:
        return self.status is MatchStatus.CONFIDENT and self.incident is not None

    def stance_of(self, account: AccountView) -> Stance | None:
        """The account's stance on the asked point; None when no single point was asked."""
        return account.stance_on(self.point.key) if self.point else None

    def accounts_taking(self, stance: Stance) -> tuple[AccountView, ...]:
        if self.incident is None or self.point is None:
            return ()
        return self.incident.accounts_with(self.point.key, stance)

    def disagreements(self) -> list[Disagreement]:
        """Every point on which the accounts contradict each other, asked point first."""
        if self.incident is None:
            return []
        points = list(self.incident.points)
        if self.point is not None:
            points.sort(key=lambda p: p.key != self.point.key if self.point else True)
        found = []
        for point in points:
            asserting = self.incident.accounts_with(point.key, Stance.ASSERTS)
            disputing = self.incident.accounts_with(point.key, Stance.DISPUTES)
            if asserting and disputing:
                found.append(Disagreement(point, asserting, disputing))
        return found

    def to_json(self) -> dict[str, Any]:
        """The machine-readable answer of `factcheck-bot check --json`."""
        data: dict[str, Any] = {"status": self.status.value, "claim": self.claim}
        if self.incident is not None:
            incident = self.incident
            data["incident"] = {
                "id": incident.key,
                "title": incident.title,
                "place": incident.place,
                "date": incident.date_start.isoformat() if incident.date_start else None,
                "date_note": incident.date_note,
                "status": incident.status.value,
            }
            data["score"] = round(self.score, 4)
            data["point"] = (
                {"id": self.point.key, "text": self.point.text} if self.point is not None else None
            )
            data["accounts"] = [
                {
                    "id": account.key,
                    "source": {
                        "id": account.source.key,
                        "name": account.source.name,
                        "kind": account.source.kind.value,
                    },
                    "summary": account.summary,
                    "stance": stance.value if (stance := self.stance_of(account)) else None,
                    "figures": [
                        {"label": f.label, "as_given": f.raw, "min": f.min, "max": f.max}
                        for f in account.figures
                    ],
                    "url": account.url,
                    "published": account.published_on.isoformat() if account.published_on else None,
                }
                for account in incident.accounts
            ]
            data["disagreements"] = [
                {
                    "point": d.point.key,
                    "asserted_by": [a.source.name for a in d.asserting],
                    "disputed_by": [a.source.name for a in d.disputing],
                }
                for d in self.disagreements()
            ]
        if self.candidates:
            data["candidates"] = [
                {"id": c.incident_key, "title": c.title, "score": round(c.score, 4)}
                for c in self.candidates
            ]
        if self.route is not None:
            data["recognised"] = {"route": self.route.value}
            if self.media is not None and self.media.note:
                data["recognised"]["note"] = self.media.note
        return data
