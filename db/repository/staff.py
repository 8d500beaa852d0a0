"""Moderators and admins: who holds which role, appointments, refused attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.models import (
    AuditEvent,
    Moderator,
    utcnow,
)
from db.repository._base import Actor, Store, audit_event
from domain.model import (
    Role,
)


class StaffRepository(Store):
    """Moderators and admins, and the refusals of everyone else."""

    async def role_of(self, user_id: int) -> Role | None:
        async with self.session() as session:
            row = await _serving(session, user_id)
            return Role(row.role) if row else None

    async def appoint(self, user_id: int, name: str, actor: Actor) -> bool:
        """Make someone a moderator; False if they already are one."""
        async with self.session() as session, session.begin():
            row = (
                await session.execute(
                    select(Moderator).where(col(Moderator.telegram_user_id) == user_id)
                )
            ).scalar_one_or_none()
            if row is not None and row.removed_at is None:
                return False
            if row is None:
                session.add(
                    Moderator(
                        telegram_user_id=user_id,
                        display_name=name[:200],
                        added_by=actor.user_id,
                    )
                )
            else:
                row.removed_at = None
                row.display_name = name[:200] or row.display_name
                row.added_by = actor.user_id
            session.add(
                audit_event(actor, "appoint", "moderator", str(user_id), None, {"name": name})
            )
            return True

    async def dismiss(self, user_id: int, actor: Actor) -> bool:
        async with self.session() as session, session.begin():
            row = await _serving(session, user_id)
            if row is None:
                return False
            row.removed_at = utcnow()
            session.add(audit_event(actor, "remove", "moderator", str(user_id)))
            return True

    async def moderators(self) -> list[Moderator]:
        async with self.session() as session:
            query = (
                select(Moderator)
                .where(col(Moderator.removed_at).is_(None))
                .order_by(col(Moderator.created_at))
            )
            return list((await session.execute(query)).scalars())

    async def staff_ids(self) -> set[int]:
        """Telegram ids of everyone currently a moderator or an admin."""
        async with self.session() as session:
            query = select(col(Moderator.telegram_user_id)).where(
                col(Moderator.removed_at).is_(None)
            )
            return {int(user_id) for user_id in (await session.execute(query)).scalars()}

    async def record_refusal(self, user_id: int, what: str) -> None:
        """Attempts by non-moderators are kept in the audit trail too, one row per person
        and command an hour, counting the attempts: a flood of them must not push the real
        changes out of sight."""
        since = utcnow() - dt.timedelta(hours=1)
        async with self.session() as session, session.begin():
            row = (
                await session.execute(
                    select(AuditEvent)
                    .where(
                        col(AuditEvent.action) == "refused",
                        col(AuditEvent.actor_id) == user_id,
                        col(AuditEvent.entity_key) == what[:200],
                        col(AuditEvent.at) >= since,
                    )
                    .order_by(col(AuditEvent.id).desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            if row is None:
                event = audit_event(Actor(user_id, ""), "refused", "access", what[:200])
                event.after = {"times": 1}
                session.add(event)
            else:
                row.after = {"times": int((row.after or {}).get("times", 1)) + 1}
                row.at = utcnow()


async def _serving(session: AsyncSession, user_id: int) -> Moderator | None:
    """The moderator row of someone serving now (not removed), if any."""
    query = select(Moderator).where(
        col(Moderator.telegram_user_id) == user_id, col(Moderator.removed_at).is_(None)
    )
    found: Moderator | None = (await session.execute(query)).scalar_one_or_none()
    return found
