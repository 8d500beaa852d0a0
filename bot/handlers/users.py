"""/start, /help and /lang."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import messages as msg
from bot.i18n import LANGUAGES, t
from bot.incoming import language_for
from bot.markup import HTML
from bot.replies import reply
from bot.services import services


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if message.chat.type != ChatType.PRIVATE and not services(context).may_say(
        message.chat.id, "start"
    ):
        return  # a group sees the greeting once a minute, however often it is asked for
    language = await language_for(context, update.effective_user)
    await reply(message, HTML.text(t(language, msg.START, bot=context.bot.username or "")))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    language = await language_for(context, update.effective_user)
    bot_name = HTML.text(context.bot.username or "")
    await reply(message, t(language, msg.HELP, bot=bot_name))


async def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lang en|ru sets the reply language; without an argument it says how."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    choice = (context.args or [""])[0].lower() if context.args else ""
    if len(context.args or []) != 1 or choice not in LANGUAGES:
        current = await language_for(context, user)
        await reply(message, HTML.text(t(current, msg.LANG_USAGE, current=current)))
        return
    await services(context).choose_language(user.id, choice)
    await reply(message, HTML.text(t(choice, msg.LANG_SET)))
