"""The bot's own words in English, Russian, Ukrainian and Arabic, from gettext catalogues.

The source text is English, in the code (`bot/messages.py`, and moderators' replies where
they are written). Each other language has its catalogue,
`bot/locale/<language>/LC_MESSAGES/messages.po`, which translators edit with any gettext
tool; the catalogues are read with Babel and compiled in memory at first use, so there
are no compiled files to keep in step. Plural forms follow CLDR's rules as Babel writes
them into each catalogue's header: Russian and Ukrainian have three, Arabic six.

A language never falls back to another one but English (a message missing from a
catalogue is said in English; `tests/bot/test_i18n.py` fails on any such message).
Stored records are shown in the reader's language where they carry a translation, and
marked as untranslated where they do not (`bot/render.py`).
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "ru", "uk", "ar")
RIGHT_TO_LEFT = frozenset({"ar"})
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# What `pybabel extract` looks for (see README, "Translating the bot").
KEYWORDS = {"N_": None, "NP_": (1, 2), "NC_": ((1, "c"), 2), "t": (2,), "tr": None}

Plural = tuple[str, str]
Contextual = tuple[str, str]


def N_(message: str) -> str:
    """Marks a sentence for extraction; translated where it is said, by `t`."""
    return message


def NP_(singular: str, plural: str) -> Plural:
    """Marks a sentence with a number in it; said through `tn`."""
    return singular, plural


def NC_(context: str, message: str) -> Contextual:
    """Marks a word whose translation depends on where it stands; said through `tp`."""
    return context, message


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalogue, compiled; English (and anything unknown) says the source."""
    if language not in LANGUAGES or language == "en":
        return gettext.NullTranslations()
    with catalogue_path(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def warm_up() -> None:
    """Compile every catalogue now, not while answering the first person to read one."""
    for language in LANGUAGES:
        translations(language)


def t(language: str, message: str, **values: Any) -> str:
    text = translations(language).gettext(message)
    return text.format(**values) if values else text


# The language of the person whose update is being handled, for replies written where no
# language is passed along (moderators' commands and forms; set by `staff_only`).
speaking: ContextVar[str] = ContextVar("speaking", default=DEFAULT)


def tr(message: str, **values: Any) -> str:
    """`t` in the language of the person being answered (`speaking`)."""
    return t(speaking.get(), message, **values)


def tn(language: str, message: Plural, count: int, **values: Any) -> str:
    singular, plural = message
    return translations(language).ngettext(singular, plural, count).format(count=count, **values)


def tp(language: str, message: Contextual) -> str:
    context, text = message
    return translations(language).pgettext(context, text)


def is_right_to_left(language: str) -> bool:
    return language in RIGHT_TO_LEFT


def supported(code: str | None) -> str | None:
    """A language code (Telegram's `en-GB`, a /lang choice, a detector's guess) as one of
    ours, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def pick_language(
    code: str | None,
    preferred: str | None = None,
    default: str = DEFAULT,
    *,
    written: str | None = None,
    group: bool = False,
) -> str:
    """The reply language: the user's /lang choice, else Telegram's language_code, else
    the language the message is written in (`written`, as detected); in a group, where
    readers share one chat, the language of the asking message comes first."""
    order = (written, preferred, code) if group else (preferred, code, written)
    for candidate in order:
        if (language := supported(candidate)) is not None:
            return language
    return supported(default) or DEFAULT
