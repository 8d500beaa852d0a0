"""Moderators curate incidents from their private chat with the bot.

One module a purpose: `access` (who may), `arguments` (INCIDENT-ID -> incident),
`form_flow` and `form_definitions` (the guided forms), `edits` (commands that change the
record), `review` (/show, /queue, /audit), `datasets` (export, upload, import), `media`
(/media: photos and videos), `admins` (/mod). Every change is checked by the same rules
as an imported dataset, saved in one transaction with its audit event, and visible to the
very next check.
"""

from bot.handlers.moderation.access import refuse_forged
from bot.handlers.moderation.admins import mod
from bot.handlers.moderation.datasets import export, upload, upload_answer
from bot.handlers.moderation.desk import desk
from bot.handlers.moderation.edits import (
    add_account,
    add_point,
    delete,
    edit,
    edit_account,
    edit_source,
    new_incident,
    new_source,
    record_post,
    remove_account,
    set_stance,
    translate_record,
    translate_source,
    undo,
)
from bot.handlers.moderation.form_flow import cancel, form_button, form_message
from bot.handlers.moderation.media import attach_media, media_caption
from bot.handlers.moderation.review import audit, dismiss, link, queue, show

__all__ = [
    "add_account",
    "add_point",
    "attach_media",
    "audit",
    "cancel",
    "delete",
    "desk",
    "dismiss",
    "edit",
    "edit_account",
    "edit_source",
    "export",
    "form_button",
    "form_message",
    "link",
    "media_caption",
    "mod",
    "new_incident",
    "new_source",
    "queue",
    "record_post",
    "refuse_forged",
    "remove_account",
    "set_stance",
    "show",
    "translate_record",
    "translate_source",
    "undo",
    "upload",
    "upload_answer",
]
