"""The last resort: log the failure in full, tell the user plainly, never show a trace."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import messages as msg
from bot.i18n import t
from bot.incoming import language_for
from bot.markup import HTML
from bot.metrics import outcome
from bot.replies import reply

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _report(update, context)
    # One failure, one apology: the update must not go on to handlers in later groups
    # (a form's answer that failed to load would otherwise be read as a claim).
    raise ApplicationHandlerStop


async def _report(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, Forbidden):
        # The user blocked the bot or removed it from the group: nothing to tell anyone.
        log.info("not allowed to write to a chat: %s", error)
        return
    outcome.set("error")
    log.error("update failed", exc_info=error)
    if not isinstance(update, Update):
        return
    try:
        language = await language_for(context, update.effective_user)
    except Exception:  # the database may be the thing that failed
        language = "en"
    text = t(language, msg.ERROR)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None and not isinstance(error, NetworkError):
            await reply(update.effective_message, HTML.text(text))
    except TelegramError as failure:
        log.warning("could not tell the user about the failure: %s", failure)
