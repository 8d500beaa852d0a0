"""Reading an update: what claim a message asks about, where a forward came from, and in
which language to answer the person asking. Plain functions over PTB's objects, shared by
every handler."""

from __future__ import annotations

import datetime as dt

from telegram import Chat, Message, MessageOriginChannel, User
from telegram.ext import ContextTypes

from bot.i18n import pick_language, supported
from bot.services import services
from domain.languages import written_in


async def language_for(
    context: ContextTypes.DEFAULT_TYPE,
    user: User | None,
    text: str = "",
    *,
    group: bool = False,
) -> str:
    """The language to answer in: the user's /lang choice, else Telegram's language, else
    the language `text` (what they asked) is written in; in a group, that one first."""
    svc = services(context)
    preferred = await svc.language_choice(user.id) if user is not None else None
    code = user.language_code if user is not None else None
    written = None
    if text and (group or not (supported(preferred) or supported(code))):
        written = written_in(text)
    return pick_language(
        code, preferred, svc.settings.default_language, written=written, group=group
    )


# Telegram's own limits: no genuine update carries more, and a forged one is cut here
# rather than read whole (reading a message costs time in proportion to its length).
MAX_TEXT = 4096
MAX_CAPTION = 1024


def claim_text(message: Message | None) -> str:
    if message is None:
        return ""
    if message.text:
        return message.text[:MAX_TEXT].strip()
    return (message.caption or "")[:MAX_CAPTION].strip()


def asked_claim(message: Message, bot_username: str | None) -> tuple[str, Message]:
    """The claim a message asks about, and the message it is in.

    "/check claim" and "@bot claim" ask about their text without the command or mention;
    with nothing after them, a reply asks about the replied message; any other message
    asks about itself.
    """
    text = claim_text(message)
    words = text.split()
    mention = f"@{bot_username}".lower() if bot_username else None
    command = bool(words) and words[0].startswith("/")
    if command or any(word.lower() == mention for word in words):
        rest = " ".join(w for w in words[1 if command else 0 :] if w.lower() != mention)
        if rest or message.reply_to_message is None:
            return rest, message
        return claim_text(message.reply_to_message), message.reply_to_message
    return text, message


def channel_name(chat: Chat) -> str:
    """How a channel is written in stored posts: "@username", or its numeric id."""
    return f"@{chat.username}" if chat.username else str(chat.id)


def forwarded_post(message: Message) -> tuple[str | None, int | None]:
    """Which channel post a forward came from, as stored by moderators ("@name" or id)."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        return channel_name(origin.chat), origin.message_id
    return None, None


def sent_on(message: Message) -> dt.date:
    """The day a claim was first posted, which "yesterday" in it is relative to: a
    forward's original date where Telegram gives it, else the message's own."""
    origin = message.forward_origin
    moment = origin.date if origin is not None else message.date
    return moment.date()
