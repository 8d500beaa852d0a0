"""/media: record a photo or video with an incident, so that the same file, or a copy of
its picture, is answered with the incident wherever it is forwarded.

The file itself is never kept: its Telegram ids, the fingerprints of its pictures (taken
off the event loop), its size and the moderator's note are.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.moderation.arguments import IncidentCommand, about_incident
from bot.handlers.moderation.edits import save_edit
from bot.i18n import N_
from bot.media import attached, fetch_pictures
from domain import moderation
from domain.media.pictures import fingerprints_of
from domain.model import KnownMedia


@about_incident(
    N_(
        "Usage: reply with /media INCIDENT-ID [where it first appeared] to a photo or video "
        "(sent or forwarded), or send it with that as its caption"
    )
)
async def attach_media(command: IncidentCommand) -> None:
    message = command.update.effective_message
    limit = command.svc.settings.media_max_bytes
    media = attached(message, limit)
    if media is None and message is not None:
        media = attached(message.reply_to_message, limit)
    if media is None:
        await command.show_usage()
        return
    pictures = await fetch_pictures(command.context.bot, media, limit)
    fingerprints = await asyncio.to_thread(fingerprints_of, pictures)
    known = KnownMedia(
        media.kind,
        media.file_ids,
        fingerprints,
        media.size,
        media.width,
        media.height,
        " ".join(command.args),
    )
    await save_edit(command, lambda incident: moderation.add_media(incident, known))


async def media_caption(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or video sent with the caption "/media INCIDENT-ID [note]": Telegram gives
    no command for a caption, so its words become the command's arguments here."""
    message = update.effective_message
    caption = (message.caption or "") if message is not None else ""
    context.args = caption.split()[1:]
    await attach_media(update, context)
