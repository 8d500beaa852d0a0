"""Looking at the record and at what users left: /show, /queue (with /link and
/dismiss), /audit."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.moderation.access import actor_of, staff_only
from bot.handlers.moderation.arguments import IncidentCommand, about_incident, usage
from bot.handlers.moderation.form_definitions import opt
from bot.i18n import N_, NP_, speaking, tn, tr
from bot.markup import HTML, shorten, split_message
from bot.notify import link_claim
from bot.replies import say
from bot.services import services
from db.repository import NotFoundError


@about_incident(N_("Usage: /show INCIDENT-ID"))
async def show(command: IncidentCommand) -> None:
    """An incident with every id a moderator needs for the one-line commands, and what
    readers made of its answers."""
    incident = command.incident
    helpful, not_helpful = await command.svc.database.community.feedback_counts(incident.key)
    lines = [
        f"<b>{HTML.text(incident.title)}</b>",
        f"id <code>{HTML.text(incident.key)}</code> · "
        + tr("version {version}", version=incident.version)
        + f" · {HTML.text(incident.status.value)}",
        tr("Place: {place}", place=f"{HTML.text(incident.place)} ({opt(incident.place_aliases)})"),
        "",
        HTML.bold(tr("Points")),
    ]
    lines += [
        f"#{n} <code>{HTML.text(p.key)}</code> {HTML.text(p.text)}"
        for n, p in enumerate(incident.points, 1)
    ]
    lines += ["", HTML.bold(tr("Accounts"))]
    for account in incident.accounts:
        stances = " ".join(
            f"#{n}:{account.stance_on(p.key).value[0]}" for n, p in enumerate(incident.points, 1)
        )
        lines.append(
            f"<code>{HTML.text(account.key)}</code> {HTML.text(account.source.name)} · "
            f"{HTML.text(stances)}"
        )
    if incident.media:
        lines += ["", HTML.bold(tr("Photos and videos"))]
        for n, item in enumerate(incident.media, 1):
            pictures = tn(
                speaking.get(),
                NP_("{count} fingerprint", "{count} fingerprints"),
                len(item.fingerprints),
            )
            note = f" · {HTML.text(item.note)}" if item.note else ""
            lines.append(f"{n}. {HTML.text(item.kind.value)} · {pictures}{note}")
    readers = tr(
        "Readers: 👍 {helpful} helpful · 👎 {not_helpful} not helpful",
        helpful=helpful,
        not_helpful=not_helpful,
    )
    lines += ["", readers]
    for text in split_message(["\n".join(lines)]):
        await command.say(text)


@staff_only()
async def queue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    entries = await svc.database.community.open_queue(limit=10)
    if not entries:
        await say(update, tr("The queue is empty: every claim sent so far was matched or handled."))
        return
    lines = [HTML.bold(tr("Unmatched claims, most asked first"))]
    for entry in entries:
        judged = (
            " ⚠️ "
            + tr(
                "answered with {incident}, judged wrong",
                incident=f"<code>{HTML.text(entry.judged_wrong)}</code>",
            )
            if entry.judged_wrong
            else ""
        )
        waiting = tr("({count} waiting)", count=entry.waiting)
        lines.append(
            f"<code>{entry.id}</code> ×{entry.times_asked} "
            f"{waiting}{judged} {HTML.text(shorten(entry.sample_text, 150))}"
        )
    lines.append(
        "\n"
        + tr(
            "/link ID INCIDENT-ID links one (its wording becomes a matching phrase); "
            "/dismiss ID removes it."
        )
    )
    await say(update, "\n".join(lines))


@staff_only()
async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    args = context.args or []
    if len(args) != 2 or not args[0].isdigit():
        await say(update, usage(tr("Usage: /link QUEUE-ID INCIDENT-ID (see /queue)")))
        return
    try:
        told = await link_claim(svc, context.bot, int(args[0]), args[1], actor_of(update))
    except NotFoundError as missing:
        await say(update, f"⚠️ {HTML.text(str(missing))}")
        return
    await say(
        update,
        tn(
            speaking.get(),
            NP_("Linked. {count} waiting user told.", "Linked. {count} waiting users told."),
            told,
        ),
    )


@staff_only()
async def dismiss(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await say(update, usage(tr("Usage: /dismiss QUEUE-ID (see /queue)")))
        return
    try:
        await svc.database.community.dismiss_query(int(args[0]), actor_of(update))
    except NotFoundError as missing:
        await say(update, f"⚠️ {HTML.text(str(missing))}")
        return
    await say(update, tr("Dismissed."))


@staff_only()
async def audit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    limit, user_id, action, refusals = 15, None, None, False
    for arg in context.args or []:
        name, _, value = arg.partition("=")
        if arg.isdigit() and 1 <= int(arg) <= 100:
            limit = int(arg)
        elif arg == "refusals":
            refusals = True
        elif name == "user" and value.lstrip("-").isdigit():
            user_id = int(value)
        elif name == "kind" and value:
            action = value[:40]
        else:
            await say(
                update,
                usage(
                    tr(
                        "Usage: /audit [how many, 1-100] [user=ID] [kind=ACTION] [refusals]\n"
                        "Refused attempts by non-moderators are left out unless you add "
                        "refusals."
                    )
                ),
            )
            return
    events = await svc.database.audit.latest(
        limit, user_id=user_id, action=action, refusals=refusals
    )
    if not events:
        await say(update, tr("Nothing in the audit log matches."))
        return
    lines = [HTML.bold(tr("Latest changes"))]
    for event in events:
        who = event.actor_label or (str(event.actor_id) if event.actor_id else tr("system"))
        times = int((event.after or {}).get("times", 1)) if event.action == "refused" else 1
        lines.append(
            f"{event.at:%Y-%m-%d %H:%M} {HTML.text(who)}: {HTML.text(event.action)} "
            f"{HTML.text(event.entity)} <code>{HTML.text(shorten(event.entity_key, 60))}</code>"
            + (f" ×{times}" if times > 1 else "")
        )
    for text in split_message(["\n".join(lines)]):
        await say(update, text)
