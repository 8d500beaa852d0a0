"""Everything the bot says to the people who ask it, in English: the source text of the
gettext catalogues in `bot/locale/` (see `bot/i18n.py`).

`N_` only marks a sentence for extraction; `t(language, MESSAGE)` translates it when it
is said. `NP_` marks a sentence with a number in it (singular, plural), said through
`tn`, so that each language gets its own plural forms. `NC_` marks a word whose
translation depends on where it stands (a stance, a kind of source), said through `tp`.
Moderators' replies are marked where they are written (`t(language, "…")`).
"""

from __future__ import annotations

from bot.i18n import N_, NC_, NP_
from domain.model import SourceKind, Stance

START = N_(
    "I check claims about contested events against the accounts that each side "
    "published.\n\n"
    "Send me a claim, or forward a post. If I have a record of the incident, you get "
    "every source's account side by side, the figures each one gave, and who disputes "
    "what. I never merge them into a verdict of my own.\n\n"
    "In groups: /check followed by the claim, or reply /check to a message. "
    "In any chat: type @{bot} and the claim."
)
HELP = N_(
    "<b>How to ask</b>\n"
    "• Send a claim as text, or forward a post here.\n"
    "• In a group: /check claim, or reply /check to a message.\n"
    "• In any chat: @{bot} claim, then pick the incident.\n\n"
    "<b>What the answer means</b>\n"
    "✅ asserts: the source says it happened.\n"
    "❌ disputes: the source says it did not.\n"
    "◐ partly: the source says something close but not the same.\n"
    "… silent: the source does not address it.\n"
    "Figures are shown exactly as each source gave them.\n\n"
    "/lang — reply language · /help — this message"
)
NO_RECORD = N_(
    "I have no record of this yet. I've passed it to the moderators.\n"
    "Press the button if you want to hear back when they add it."
)
NO_RECORD_SHORT = N_("No record of this yet.")
NOTIFY_ME = N_("🔔 Tell me when it's answered")
NOTIFY_OK = N_("I'll message you when a moderator links this to an incident.")
NOTIFY_UNAVAILABLE = N_("I can only message you back in a private chat with me.")
AMBIGUOUS = N_("Which incident do you mean?")
NONE_OF_THESE = N_("None of these")
EMPTY_CLAIM = N_("Send me the claim itself, for example: Did rebels kill 40 soldiers in Idlib?")
CHECK_USAGE = N_(
    "Usage: /check followed by the claim, or reply /check to the message you want checked."
)
TOO_FAST = N_("You're sending checks faster than I can answer. Please wait a minute.")
BACKLOG = N_("Too many messages for me here at once: I am skipping some. Ask again in a minute.")
ERROR = N_("Sorry, something went wrong on my side. Please try again in a moment.")
EXPIRED = N_("This button has expired. Send the claim again.")
ASKED_ABOUT = N_("You asked about")
ACCOUNTS_HEADING = N_("What each source said")
DISPUTES_HEADING = N_("Where the accounts contradict each other")
SOURCES_HEADING = N_("Sources")
ASSERTED_BY = N_("asserted by")
DISPUTED_BY = N_("disputed by")
NO_DISPUTES = N_("The recorded accounts do not contradict each other on any point.")
FIGURES = N_("Figures")
DATE_UNKNOWN = N_("date unknown")
BTN_ACCOUNTS = N_("All accounts")
BTN_DISPUTES = N_("The disputes")
BTN_SOURCES = N_("Sources")
BTN_SUMMARY = N_("« Back")
BTN_HELPFUL = N_("👍 Helpful")
BTN_NOT_HELPFUL = N_("👎 Not helpful")
THANKS_FEEDBACK = N_("Thanks for the feedback.")
MORE_ACCOUNTS = NP_(
    "+{count} more account: press “All accounts”.",
    "+{count} more accounts: press “All accounts”.",
)
LANG_USAGE = N_("Usage: /lang en, /lang ru, /lang uk or /lang ar. Current language: {current}.")
LANG_SET = N_("I'll answer in English from now on.")
FOLLOW_UP = N_("Update on a claim you sent me on {day}: moderators linked it to this incident:")
MEDIA_FILE = N_("📷 This very file was recorded with this incident.")
MEDIA_NEAR_COPY = N_("📷 This picture is a copy of one recorded with this incident.")
MEDIA_TEXT = N_("📷 Recognised by the text in the picture.")
MEDIA_NOTE = N_("Where the picture comes from: {note}")
MEDIA_UNRECOGNISED = N_(
    "I don't know this picture, and I found no text in it to check. "
    "Send it again with the claim in its caption, or type the claim."
)
PAGE_GRID = N_("Who says what")
PAGE_POINT = N_("Point")
PAGE_TALLY = N_("Accounts recorded: {sources}; points in dispute: {contested}.")
PAGE_FOOTER = N_(
    "Every recorded account of this incident, side by side. "
    "We give no verdict of our own: the sources speak for themselves."
)
PAGE_NOT_FOUND = N_("There is no such incident on record.")
FULL_RECORD = N_("📄 Full record")
INLINE_NO_RECORD = N_("No record of this claim yet")
INLINE_NO_RECORD_TEXT = N_("I have no record of this claim yet: {claim}")
INLINE_HINT = N_("Type a claim to check it")
INLINE_SUMMARY = N_("{asserting} assert, {disputing} dispute")
STATUS_CONTESTED = N_("Contested: the sources contradict each other.")
STATUS_CORROBORATED = N_("Reported by several sources; none contradicts another.")
STATUS_SINGLE_SOURCE = N_("Only one source so far.")
LINK = N_("🔗 link")

COMMAND_START = N_("What this bot does")
COMMAND_HELP = N_("How to ask and what the answer means")
COMMAND_CHECK = N_("Check a claim (in groups: reply /check to a message)")
COMMAND_LANG = N_("Reply language: en, ru, uk or ar")

STANCE_ASSERTS = NC_("stance", "asserts")
STANCE_DISPUTES = NC_("stance", "disputes")
STANCE_PARTLY = NC_("stance", "partly")
STANCE_SILENT = NC_("stance", "silent")

KIND_GOVERNMENT = NC_("source kind", "government")
KIND_STATE_MEDIA = NC_("source kind", "state media")
KIND_ARMED_GROUP = NC_("source kind", "armed group")
KIND_INDEPENDENT_MONITOR = NC_("source kind", "independent monitor")
KIND_NEWS_AGENCY = NC_("source kind", "news agency")
KIND_NGO = NC_("source kind", "NGO")
KIND_OTHER = NC_("source kind", "other")

STANCES = {
    Stance.ASSERTS: STANCE_ASSERTS,
    Stance.DISPUTES: STANCE_DISPUTES,
    Stance.PARTLY: STANCE_PARTLY,
    Stance.SILENT: STANCE_SILENT,
}
KINDS = {
    SourceKind.GOVERNMENT: KIND_GOVERNMENT,
    SourceKind.STATE_MEDIA: KIND_STATE_MEDIA,
    SourceKind.ARMED_GROUP: KIND_ARMED_GROUP,
    SourceKind.INDEPENDENT_MONITOR: KIND_INDEPENDENT_MONITOR,
    SourceKind.NEWS_AGENCY: KIND_NEWS_AGENCY,
    SourceKind.NGO: KIND_NGO,
    SourceKind.OTHER: KIND_OTHER,
}
