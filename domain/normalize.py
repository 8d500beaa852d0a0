"""Text normalization shared by the matcher's index side and its query side.

Both sides must see exactly the same transformation, otherwise a stored text and a user
message that say the same thing end up with different terms. The pipeline is:

1. `clean` -- the surface: NFKC, invisible characters, URLs, emoji, the noise that
   forwarding a channel post or a tweet drags along, and the stock phrases people wrap a
   claim in ("is it true that ...", "правда ли ..."). Case-folded, single-spaced.
2. `words` -- word tokens of a cleaned text; numbers stay tokens of their own.
3. `term` -- one index term per word: stopwords dropped, stemmed with the stemmer of the
   word's script, Cyrillic transliterated to Latin so that "Идлиб" and "Idlib" meet.

Everything here is pure and cached where it is hot; nothing touches I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import Stemmer

__all__ = [
    "STOPWORDS_EN",
    "STOPWORDS_RU",
    "Analysis",
    "analyze",
    "clean",
    "term",
    "terms",
    "transliterate",
    "words",
]

# --- 1. surface cleaning -------------------------------------------------------------------

# Digit groups written with a comma or a thin or no-break space ("1,000", "1 000") are one
# number. This runs before NFKC, which turns those spaces into plain ones, and a plain
# space between digits is too often two numbers ("in 2019 100 people") to join.
_DIGIT_GROUPS: Final = re.compile(
    r"(?<![\d.,])(\d{1,3})((?:[,\u00a0\u202f\u2009]\d{3})+)(?![\d,]\d)"
)
_DECIMAL_COMMA: Final = re.compile(r"(?<=\d),(?=\d{1,2}(?!\d))")

# Characters that render as nothing (or reorder text) yet split or glue words: C0/C1
# controls except line breaks, soft hyphen, zero-width and joiner characters, bidi marks,
# embeddings and isolates, word joiner and invisible operators, BOM, variation selectors,
# tag characters, interlinear annotation marks. Spam uses them to dodge filters
# ("Id\u200blib"), so they are deleted, not turned into spaces.
_INVISIBLE: Final = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_LINE_BREAK: Final = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")

_URL: Final = re.compile(
    r"(?:https?://|ftp://|www\.)\S+"
    r"|\b(?:pic\.twitter\.com|t\.me|t\.co|bit\.ly|youtu\.be|goo\.gl|tinyurl\.com)/\S*"
    # Host labels are bounded (DNS allows 63 characters, a few labels deep) so that a run
    # like "a.a.a.a…" costs linear time instead of trying every split of it.
    r"|\b[\w-]{1,63}(?:\.[\w-]{1,63}){0,6}"
    r"\.(?:com|org|net|ru|info|io|me|ly|co|gov|edu|uk|de|fr|ua|su|tv)/\S*",
    re.IGNORECASE,
)

# Pictographs, dingbats, arrows, geometric shapes, flags, keycaps, skin tones, and the
# odd symbols NFKC leaves alone. The tokenizer would skip them anyway; removing them here
# keeps the normalized text (shown to moderators as the message the bot read) readable.
_EMOJI: Final = re.compile(
    "[\u00a9\u00ae\u203c\u2049\u20e3\u2190-\u21ff\u2300-\u23ff\u24c2\u25a0-\u27bf"
    "\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]"
)

_FORWARD_HEADER: Final = re.compile(
    r"^[ \t]*(?:forwarded from|forwarded message|repost(?:ed)? from|переслано от|"
    r"пересланное сообщение|переслано из|репост из|репост от)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
# The signature of an embedded tweet: "— Name (@handle) January 14, 2020". The author's
# name stays: who said something is often what a claim is about ("Did Chelsea Clinton
# say ...?"), and dropping it cost 3 points of MAP@5 on the claim-retrieval train splits.
# Every part is bounded (the name absorbs the spaces around it), so a long run of dashes
# and spaces costs linear time, not a scan to the end of the run from every dash.
_TWEET_SIGNATURE: Final = re.compile(
    r"(?:[—–]|--?)([^\n—–()]{0,80}?)\(@\w{1,30}\)"
    r"(?:[ \t]*[A-Za-z]{3,9}\.?[ \t]+\d{1,2},?[ \t]+\d{4})?",
)
_VIA_BOT: Final = re.compile(r"\bvia[ \t]+@\w+", re.IGNORECASE)
# Channel trailers: a line that starts with a call to subscribe, join or share (the
# leading symbols stay on that line: see _HANDLE_LINE).
_TRAILER: Final = re.compile(
    r"^[^\w\n]*(?:subscribe|join us|join our|follow us|our channel|share this|"
    r"подписаться|подпишись|подпишитесь|подписывайтесь|подписывайся|наш канал|"
    r"присоединяйтесь|поделитесь|читайте нас|источник:)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
# A line holding nothing but handles is a channel's signature ("@channel" under a post).
# Separators stop at the end of the line: a class that crosses newlines (as `\W` does) made
# every line start rescan all the blank lines after it.
_HANDLE_LINE: Final = re.compile(r"^[^\w\n]*@\w+(?:[^\w\n]+@\w+)*[^\w\n]*$", re.MULTILINE)
# Inside a sentence a handle names someone ("@BetoORourke supporter"); only the mark goes,
# and the name is split at its capitals like a hashtag. Keeping these words gained 2.5
# points of MAP@5 on the claim-retrieval train splits over deleting them.
_MENTION: Final = re.compile(r"(?<![\w@])@(\w+)")
_HASHTAG: Final = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL: Final = re.compile(
    r"(?<=[a-zа-яё])(?=[A-ZА-ЯЁ])|(?<=[A-ZА-ЯЁ])(?=[A-ZА-ЯЁ][a-zа-яё])"
    r"|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])"
)

# Phrases that wrap a claim without being part of it. Matched on case-folded text, so the
# patterns are lower case. A bare "fake" or "правда" is content (a claim can be about a
# fake); only the questioning forms are dropped.
_STOCK_PHRASES: Final = re.compile(
    r"\b(?:"
    r"is (?:it|this|that) (?:really |actually )?(?:true|real|fake|legit|correct|accurate)"
    r"(?: or (?:not|fake|false))?(?: that)?"
    r"|is (?:it|this|that) for real"
    r"|(?:true|real) or (?:false|fake|not)"
    r"|fake or (?:real|not|true)"
    r"|fake news\s*\?|fake\s*\?|true\s*\?|real\s*\?"
    r"|(?:can|could|would) (?:you|someone|anyone|somebody)(?: please)? "
    r"(?:check|verify|confirm|fact[- ]?check)(?: this| that| it| if| whether)?"
    r"|(?:please )?(?:check|verify|fact[- ]?check) (?:this|that|it)(?: out| please)?"
    r"|any truth (?:to|in) (?:this|that|it)"
    r"|(?:правда|верно|так) ли(?:,? что)?"
    r"|это (?:правда|фейк|так|верно)\s*\??"
    r"|правда (?:или|ли) (?:ложь|фейк|нет)"
    r"|фейк\s*\?|правда\s*\?"
    r"|проверьте(?:,? пожалуйста)?(?: это| информацию| инфу)?"
    r"|проверь(?:,? пожалуйста)?(?: это| информацию| инфу)?"
    r"|пожалуйста"
    r")(?!\w)",
    re.IGNORECASE,
)
_SPACE: Final = re.compile(r"[ \t]+")
_BLANK_LINES: Final = re.compile(r"\s*\n\s*")


def _join_digit_groups(text: str) -> str:
    text = _DIGIT_GROUPS.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)), text)
    return _DECIMAL_COMMA.sub(".", text)


def _split_tag(match: re.Match[str]) -> str:
    return " " + _CAMEL.sub(" ", match.group(1)) + " "


def clean(text: str) -> str:
    """The surface normalization of `text`: case-folded, noise-free, single-spaced."""
    return _casefold(_clean_keeping_case(text))


def _casefold(cleaned: str) -> str:
    # Casefolding can produce combining sequences ("İ" -> "i̇"); recompose them.
    return unicodedata.normalize("NFC", cleaned.casefold())


def _clean_keeping_case(text: str) -> str:
    """`clean` without the case folding: capitals tell a name from a common word."""
    if not text:
        return ""
    text = _join_digit_groups(text)
    text = unicodedata.normalize("NFKC", text)
    text = _LINE_BREAK.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _ARABIC_MARKS.sub("", text)
    text = _URL.sub(" ", text)
    text = _TWEET_SIGNATURE.sub(r" \1 ", text)
    # A pictograph often opens a trailer ("👉 Subscribe"), so it ends a line here.
    text = _EMOJI.sub("\n", text)
    text = _FORWARD_HEADER.sub(" ", text)
    text = _VIA_BOT.sub(" ", text)
    text = _TRAILER.sub(" ", text)
    text = _HANDLE_LINE.sub(" ", text)
    text = _MENTION.sub(_split_tag, text)
    text = _HASHTAG.sub(_split_tag, text)
    text = _STOCK_PHRASES.sub(" ", text)
    text = _SPACE.sub(" ", text)
    return _BLANK_LINES.sub(" ", text).strip()


# --- 2. tokens --------------------------------------------------------------------------

# A number (with its decimal part) or a run of letters and digits; an apostrophe inside a
# word stays so the stemmer can strip possessives ("mcdonald's" -> "mcdonald").
_WORD: Final = re.compile(r"\d+(?:\.\d+)?(?![^\W_])|[^\W_]+(?:'[^\W\d_]+)*")
_APOSTROPHES: Final = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"})


def words(cleaned: str) -> list[str]:
    """Word tokens of an already cleaned text."""
    return _WORD.findall(cleaned.translate(_APOSTROPHES))


# --- 3. terms ----------------------------------------------------------------------------


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS_EN: Final = _word_set(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did
    didn't do does doesn't doing don't down during each either else ever every few for
    from further had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's however i i'd i'll i'm i've if in into
    is isn't it it's its itself just let's may me might more most must mustn't my myself
    neither no nor not now of off on once only or other ought our ours ourselves out
    over own per rather same shall shan't she she'd she'll she's should shouldn't since
    so some such than that that's the their theirs them themselves then there there's
    these they they'd they'll they're they've this those though through thus to too
    under until up upon us very via was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's whether which while who who's whom whose why
    why's will with within without won't would wouldn't yet you you'd you'll you're
    you've your yours yourself yourselves im ive dont doesnt didnt isnt wasnt cant wont
    its rt amp lol pls please via s t
    """
)

STOPWORDS_RU: Final = _word_set(
    """
    а без более бы был была были было быть в вам вас весь во вот все всего всех вы где
    да даже для до его ее её ей ему если есть еще ещё же за здесь и из или им их к как
    какая какой когда кто ли либо меня мне мной мы на над нам нас не него нее неё нет ни
    ним них но ну о об однако он она они оно от очень по под при про с со так также
    такой там те тем то того тоже той только том ты у уж уже хотя чего чей чем что чтобы
    чье чьё эта эти это этого этой этом этот я будет будут бывает всё всю вся при через
    после перед между ним нею ними себя себе собой свой своя свои своё свое сам сама
    сами само тут тогда потом который которая которое которые которого которой которых
    этим этими этих эту
    """
)

_CYRILLIC_TO_LATIN: Final = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u", "ј": "j", "ѕ": "s",
}  # fmt: skip
_TRANSLIT: Final = str.maketrans(
    {
        **_CYRILLIC_TO_LATIN,
        **{k.upper(): v.capitalize() for k, v in _CYRILLIC_TO_LATIN.items() if k.upper() != k},
    }
)

# Letters that look the same in both scripts; a word mixing scripts is almost always one
# word written with a look-alike (by accident or to dodge filters).
_LATIN_LOOKALIKES: Final = str.maketrans("асеорхукіјѕ", "aceopxykijs")
_CYRILLIC_LOOKALIKES: Final = str.maketrans("aceopxyki", "асеорхукі")

# Arabic spelling variation that carries no meaning for matching: diacritics and tatweel
# (removed by `clean`, since a diacritic would split a word), the forms of alef, alef
# maqsura and ta marbuta (unified per word).
_ARABIC_MARKS: Final = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS: Final = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})

# Snowball has no Ukrainian stemmer, and the Russian one leaves Ukrainian endings on
# ("Херсоні" would not meet "Херсон"). A word with a letter only Ukrainian has loses its
# longest usual noun or adjective ending instead, keeping a stem of three letters or more.
_UKRAINIAN_LETTERS: Final = frozenset("іїєґ")
_UKRAINIAN_ENDINGS: Final = tuple(
    sorted(
        [
            "ями",
            "ами",
            "ові",
            "еві",
            "ого",
            "ому",
            "ими",
            "ій",
            "ий",
            "ої",
            "ою",
            "ею",
            "єю",
            "ах",
            "ях",
            "ів",
            "їв",
            "ом",
            "ем",
            "ам",
            "ям",
            "их",
            "ім",
            "і",
            "ї",
            "а",
            "я",
            "у",
            "ю",
            "о",
            "е",
            "и",
        ],
        key=len,
        reverse=True,
    )
)


def _stem_ukrainian(word: str) -> str:
    for ending in _UKRAINIAN_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


_STEM_EN: Final = Stemmer.Stemmer("english")
_STEM_RU: Final = Stemmer.Stemmer("russian")
_STEM_AR: Final = Stemmer.Stemmer("arabic")


def _is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


def _is_latin(char: str) -> bool:
    return "a" <= char <= "z" or "\u00e0" <= char <= "\u024f"


def _is_arabic(char: str) -> bool:
    return "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f"


def _script(word: str) -> str:
    cyrillic = latin = arabic = 0
    for char in word:
        if _is_cyrillic(char):
            cyrillic += 1
        elif _is_latin(char):
            latin += 1
        elif _is_arabic(char):
            arabic += 1
    if cyrillic and latin:
        return "mixed"
    if cyrillic:
        return "cyrillic"
    if latin:
        return "latin"
    if arabic:
        return "arabic"
    return "other"


def script_of(text: str) -> str:
    """The script of the first letter of `text` that is Latin, Cyrillic or Arabic
    ("latin", "cyrillic", "arabic"), else "other"."""
    for char in text:
        if _is_latin(char.lower()):
            return "latin"
        if _is_cyrillic(char):
            return "cyrillic"
        if _is_arabic(char):
            return "arabic"
    return "other"


def is_ukrainian(text: str) -> bool:
    """Whether a Cyrillic text is Ukrainian rather than Russian, by the letters only
    Ukrainian has (і, ї, є, ґ)."""
    return not _UKRAINIAN_LETTERS.isdisjoint(text.casefold())


def writing(script: str, ukrainian: bool) -> str:
    """A script, with Cyrillic told apart by language: Russian and Ukrainian share the
    letters but not the words, so a record in one does not explain a message in the other."""
    return "cyrillic-uk" if script == "cyrillic" and ukrainian else script


def _unmix(word: str) -> tuple[str, str]:
    """Resolve a word that mixes Latin and Cyrillic letters to the script of its majority."""
    cyrillic = sum(1 for char in word if _is_cyrillic(char))
    latin = sum(1 for char in word if _is_latin(char))
    if cyrillic > latin:
        return word.translate(_CYRILLIC_LOOKALIKES), "cyrillic"
    return word.translate(_LATIN_LOOKALIKES), "latin"


def transliterate(word: str) -> str:
    """Cyrillic letters spelled in Latin; everything else unchanged."""
    return word.translate(_TRANSLIT)


@lru_cache(maxsize=1 << 18)
def term(word: str) -> str:
    """The index term for one cleaned word; the empty string for words that carry nothing.

    Numbers are terms as written. Words are stemmed with the stemmer of their script, and
    Cyrillic stems are transliterated so that names written in either script can meet.
    """
    if word.isdigit() or (word[:1].isdigit() and word.replace(".", "", 1).isdigit()):
        return word
    script = _script(word)
    if script == "mixed":
        word, script = _unmix(word)
    if script == "latin":
        if word in STOPWORDS_EN or len(word) < 2:
            return ""
        return str(_STEM_EN.stemWord(word)).replace("'", "")
    if script == "cyrillic":
        if word in STOPWORDS_RU or len(word) < 2:
            return ""
        stem: str = (
            _stem_ukrainian(word) if _UKRAINIAN_LETTERS & set(word) else _STEM_RU.stemWord(word)
        )
        # Short stems are where two languages collide by accident ("дела" -> "del"); names
        # worth meeting across scripts are longer.
        return transliterate(stem) if len(stem) > 3 else stem
    if script == "arabic":
        plain = word.translate(_ARABIC_LETTERS)
        return str(_STEM_AR.stemWord(plain)) if plain else ""
    return word


def terms(text: str) -> list[str]:
    """Index terms of raw text, in order, stopwords dropped."""
    return [t for t in map(term, words(clean(text))) if t]


def name_terms(name: str) -> list[str]:
    """Index terms of a short proper name, as `terms` gives them for a plain name, without
    the message-level cleaning a name never needs (a tenth of the cost, for the hundreds of
    thousands of names in a gazetteer)."""
    text = unicodedata.normalize("NFKC", name)
    text = _ARABIC_MARKS.sub("", _INVISIBLE.sub("", text))
    return [t for t in map(term, words(_casefold(text))) if t]


@dataclass(frozen=True, slots=True)
class Analysis:
    """A text after normalization: its cleaned form, its content words and their terms.

    `words`, `terms`, `cased` and `opening` are aligned: `terms[i]` is the term of
    `words[i]`, `cased[i]` is that word as written (capitals kept), and `opening[i]` says
    whether it opens a sentence (where a capital says nothing about the word).
    """

    cleaned: str
    words: tuple[str, ...]
    terms: tuple[str, ...]
    cased: tuple[str, ...] = ()
    opening: tuple[bool, ...] = ()
    before: tuple[str, ...] = ()
    """The word written just before each word, stopwords included ("in" of "in Homs")."""


# After these a capital may only open a sentence, a quotation or a list item.
_SENTENCE_END: Final = frozenset(".!?:;\n«“—–•|([")


def analyze(text: str) -> Analysis:
    surface = _clean_keeping_case(text).translate(_APOSTROPHES)
    found: list[tuple[str, str, str, bool, str]] = []
    last_end = 0
    opening = True
    previous = ""
    for match in _WORD.finditer(surface):
        between = surface[last_end : match.start()]
        if any(char in _SENTENCE_END for char in between):
            opening = True
            previous = ""
        last_end = match.end()
        written = match.group()
        word = _casefold(written)
        if t := term(word):
            found.append((word, t, written, opening, previous))
        opening = False
        previous = word
    return Analysis(
        cleaned=_casefold(surface),
        words=tuple(w for w, _, _, _, _ in found),
        terms=tuple(t for _, t, _, _, _ in found),
        cased=tuple(c for _, _, c, _, _ in found),
        opening=tuple(o for _, _, _, o, _ in found),
        before=tuple(b for _, _, _, _, b in found),
    )
