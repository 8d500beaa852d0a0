"""Reading a moderator command's arguments: the `INCIDENT-ID` that most commands start
with becomes the incident, or a usage message with the recently changed ids."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.moderation.access import Handler, actor_of, staff_only
from bot.i18n import tr
from bot.keyboards import Keyboard
from bot.markup import HTML, shorten
from bot.replies import say
from bot.services import Services, services
from db.repository import Actor
from domain.model import IncidentView


def usage(text: str) -> str:
    return HTML.text(text)


async def recent_ids(svc: Services, limit: int = 10) -> str:
    recent = await svc.database.repository.recent_incidents(limit)
    if not recent:
        return tr("No incidents yet: start one with /newincident.")
    lines = [
        f"<code>{HTML.text(key)}</code> {HTML.text(shorten(title, 50))}" for key, title in recent
    ]
    return tr("Recently changed incidents:") + "\n" + "\n".join(lines)


async def incident_arg(
    update: Update, svc: Services, key: str, usage_text: str
) -> IncidentView | None:
    if not key:
        await say(update, usage(usage_text) + "\n" + await recent_ids(svc))
        return None
    incident = await svc.database.repository.get_incident(key)
    if incident is None:
        missing = tr("No incident with id {key}.", key=f"<code>{HTML.text(key)}</code>")
        await say(update, missing + "\n" + await recent_ids(svc))
    return incident


@dataclass(frozen=True)
class IncidentCommand:
    """A moderator's command about one incident, with the incident read and the
    arguments after its id."""

    update: Update
    context: ContextTypes.DEFAULT_TYPE
    svc: Services
    incident: IncidentView
    args: list[str]
    usage: str

    @property
    def actor(self) -> Actor:
        return actor_of(self.update)

    async def say(self, text: str, keyboard: Keyboard | None = None) -> None:
        await say(self.update, text, keyboard)

    async def show_usage(self, problem: str | None = None) -> None:
        await say(self.update, usage(problem or self.usage))


def about_incident(
    usage_text: str, **values: str
) -> Callable[[Callable[[IncidentCommand], Awaitable[None]]], Handler]:
    """A staff-only command whose first argument is an `INCIDENT-ID`: without one, or
    with one that names no live incident, the moderator gets the usage (or "no incident
    with id") and the recently changed ids; otherwise the handler gets the incident.

    `usage_text` is marked with `N_` where it is written and said in the moderator's
    language, with `values` put in."""

    def decorate(handler: Callable[[IncidentCommand], Awaitable[None]]) -> Handler:
        @functools.wraps(handler)
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            svc = services(context)
            args = context.args or []
            said = tr(usage_text, **values)
            incident = await incident_arg(update, svc, args[0] if args else "", said)
            if incident is not None:
                await handler(IncidentCommand(update, context, svc, incident, args[1:], said))

        return staff_only()(run)

    return decorate
