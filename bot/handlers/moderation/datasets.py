"""Datasets in the chat: /export sends the whole record as a file; a JSON file sent to
the bot is validated in full, described (what it would add, change, leave) and imported
only once the moderator presses Import."""

from __future__ import annotations

import asyncio
import contextlib
import io

from telegram import Update
from telegram.ext import ContextTypes

from bot import callbacks
from bot.forms import FORM_TIMEOUT
from bot.handlers.moderation.access import actor_of, staff_only, where
from bot.i18n import NP_, speaking, tn, tr
from bot.keyboards import Button
from bot.markup import HTML, split_message
from bot.replies import say
from bot.services import services
from db.datasets import export_dataset, import_dataset, plan_import
from domain import dataset
from domain.dataset import DatasetInvalid, validate

MAX_UPLOAD = 20 * 1024 * 1024  # Telegram lets bots download files up to 20 MB


@staff_only()
async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    message = update.effective_message
    assert message is not None
    out = io.StringIO()
    count = await export_dataset(svc.database.repository, out)
    await message.reply_document(
        io.BytesIO(out.getvalue().encode("utf-8")),
        filename="factcheck-dataset.json",
        caption=tn(speaking.get(), NP_("{count} incident.", "{count} incidents."), count),
    )


@staff_only()
async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A dataset sent as a document: validate all of it, then ask before importing."""
    svc = services(context)
    message = update.effective_message
    assert message is not None
    document = message.document
    if document is None:
        return
    if document.file_size and document.file_size > MAX_UPLOAD:
        await say(update, "⚠️ " + tr("That file is larger than the 20 MB a bot can download."))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    known = await svc.database.repository.source_keys()
    posts = await svc.database.repository.post_owners()
    # Up to 20 MB of someone's JSON: read off the event loop, so other chats go on.
    report = await asyncio.to_thread(
        validate,
        lambda: io.BytesIO(data),
        known,
        max_bytes=dataset.MAX_BYTES,
        existing_posts=posts,
    )
    if not report.ok:
        for text in report_messages(report.describe()):
            await say(update, text)
        return
    user_id, chat_id = where(update)
    await svc.database.uploads.put(
        user_id, chat_id, document.file_id, document.file_name or "upload.json"
    )
    plan = await plan_import(svc.database.repository, lambda: io.BytesIO(data))
    buttons = [Button(tr("Import"), callbacks.import_answer("import"))]
    question = tr("Import it?")
    if plan.needs_choice:
        # Bringing back what someone deleted, or overwriting what someone edited since the
        # file was made, is never the default: it takes its own button.
        question = tr(
            "Import it? <b>Import</b> leaves the incidents deleted here deleted and those "
            "edited here since the export as they are; <b>Import all</b> replaces them too."
        )
        buttons.append(Button(tr("Import all"), callbacks.import_answer("importall")))
    buttons.append(Button(tr("Cancel"), callbacks.import_answer("noimport")))
    await say(
        update,
        f"✅ {HTML.text(report.describe())}.\n{HTML.text(plan.describe())}\n\n{question}",
        [buttons],
    )


def report_messages(report: str) -> list[str]:
    return split_message([f"⚠️ {HTML.text(line)}" for line in report.splitlines()])


@staff_only()
async def upload_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    query = update.callback_query
    assert query is not None
    pending = await svc.database.uploads.take(*where(update), max_age=FORM_TIMEOUT)
    await query.answer()
    if pending is None:
        await say(update, tr("Nothing is waiting to be imported; send the file again."))
        return
    choice = callbacks.read_import(query.data)
    if choice not in ("import", "importall"):
        await say(update, tr("Not imported."))
        return
    file_id, name = pending
    # Fetched again by its id, so the button works in any process, even after a restart.
    data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    try:
        leave: list[str] = []
        if choice == "import":
            # What is stored may have changed since the question: the plan is made again.
            with contextlib.suppress(DatasetInvalid, KeyError, TypeError, ValueError):
                leave = (
                    await plan_import(svc.database.repository, lambda: io.BytesIO(data))
                ).held_back
        result = await import_dataset(
            svc.database.repository,
            lambda: io.BytesIO(data),
            actor_of(update),
            label=name,
            leave=leave,
        )
    except DatasetInvalid as invalid:
        for text in report_messages(invalid.report.describe()):
            await say(update, text)
        return
    await svc.sync_index()
    kept = "; " + tr("left as they were: {ids}", ids=", ".join(leave[:10])) if leave else ""
    done = tr("Imported {name}:", name=HTML.text(name))
    await say(update, f"{done} {HTML.text(result.describe() + kept)}")
