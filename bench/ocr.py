"""Reading text in screenshots: character accuracy per language, and the reference claim.

    python bench/ocr.py

Known sentences in English, Russian, Ukrainian and Arabic (our own wording, about the
kind of events the bot records) are drawn as phone screenshots (`tests/helpers/
pictures.py`, fonts from Debian's fonts-dejavu-core and fonts-noto-core) and read back
with Tesseract (`domain.media.ocr`, all four languages at once, as the bot reads).
Character accuracy is 1 − (edit distance / length) between what was drawn (the channel
bar's name and the sentence) and what was read, spaces folded. Then the reference claim
is drawn in each language and sent through the checker over the bundled sample: the
Idlib incident must come back confidently, recognised by its text.

The last line: `char_accuracy_en= _ru= _uk= _ar=` and `reference_confident=` (how many of
the four screenshots found the incident confidently).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz.distance import Levenshtein

from domain.checker import ClaimChecker
from domain.dataset import sample_dataset
from domain.matching import MatchStatus
from domain.media import ocr
from domain.model import IncidentView, KnownMedia, MediaRoute, SentMedia
from domain.sample import REFERENCE_INCIDENT_KEY
from tests.helpers.pictures import SCREEN_HEADER, screenshot

SENTENCES = {
    "en": [
        "Shelling hit the central market on Tuesday morning, local officials said.",
        "The ministry reported twelve people wounded and denied that soldiers were nearby.",
        "Residents posted photos of the damaged bridge; the army blamed the other side.",
    ],
    "ru": [
        "Во вторник утром обстрел попал по центральному рынку, сообщили местные власти.",
        "Министерство сообщило о двенадцати раненых и отрицает присутствие военных.",
        "Жители опубликовали фото разрушенного моста; армия обвинила другую сторону.",
    ],
    "uk": [
        "У вівторок вранці обстріл влучив у центральний ринок, повідомила місцева влада.",
        "Міністерство повідомило про дванадцять поранених і заперечує присутність військових.",
        "Мешканці оприлюднили фото зруйнованого мосту; армія звинуватила іншу сторону.",
    ],
    "ar": [
        "أصاب القصف السوق المركزي صباح الثلاثاء بحسب مسؤولين محليين.",
        "أعلنت الوزارة إصابة اثني عشر شخصا ونفت وجود جنود في المكان.",
        "نشر السكان صورا للجسر المدمر وحمل الجيش الطرف الآخر المسؤولية.",
    ],
}
REFERENCE_CLAIM = {
    "en": "Did rebels kill 40 Syrian soldiers in Idlib?",
    "ru": "Правда ли, что боевики убили 40 сирийских военных в Идлибе?",
    "uk": "Чи правда, що бойовики вбили 40 сирійських військових в Ідлібі?",
    "ar": "هل قتل المسلحون 40 جنديا سوريا في إدلب؟",
}


def accuracy(drawn: str, read: str) -> float:
    expected, got = " ".join(drawn.split()), " ".join(read.split())
    return max(0.0, 1 - Levenshtein.distance(expected, got) / max(1, len(expected)))


class SampleStore:
    """The bundled sample, in memory, as the checker reads incidents."""

    def __init__(self, incidents: Iterable[IncidentView]) -> None:
        self.incidents = {incident.key: incident for incident in incidents}

    async def get_incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]:
        return {key: self.incidents[key] for key in keys if key in self.incidents}

    async def iter_incidents(self, *, batch_size: int = 500) -> AsyncIterator[IncidentView]:
        for incident in list(self.incidents.values()):
            yield incident

    async def iter_media(self) -> AsyncIterator[tuple[str, tuple[KnownMedia, ...]]]:
        for incident in list(self.incidents.values()):
            yield incident.key, incident.media

    async def incident_for_post(self, channel: str, message_id: int) -> str | None:
        return None

    async def count_incidents(self) -> int:
        return len(self.incidents)


async def reference_screenshots() -> int:
    _sources, incidents = sample_dataset()
    checker = ClaimChecker(SampleStore(incidents))
    await checker.load()
    confident = 0
    for language, claim in REFERENCE_CLAIM.items():
        sent = SentMedia((), (screenshot(claim, language),))
        answer = await checker.check_media(sent, read_text=ocr.read_text, budget=30)
        found = (
            answer.status is MatchStatus.CONFIDENT
            and answer.incident is not None
            and answer.incident.key == REFERENCE_INCIDENT_KEY
            and answer.route is MediaRoute.TEXT
        )
        confident += found
        print(
            f"reference claim as a {language} screenshot: {answer.status.value}"
            f"{' (the Idlib incident, by its text)' if found else ''}"
        )
    return confident


def main() -> int:
    languages = ocr.installed_languages()
    if not languages:
        print("Tesseract is not installed (Debian: tesseract-ocr and its language data)")
        return 1
    print(f"tesseract languages: {', '.join(languages)}")
    scores: dict[str, float] = {}
    for language, sentences in SENTENCES.items():
        values, millis = [], []
        for sentence in sentences:
            start = time.perf_counter()
            read = ocr.read_text(screenshot(sentence, language), timeout=60)
            millis.append((time.perf_counter() - start) * 1000)
            values.append(accuracy(f"{SCREEN_HEADER} {sentence}", read))
        scores[language] = statistics.mean(values)
        print(
            f"{language}: character accuracy {scores[language]:.3f} over {len(sentences)} "
            f"screenshots, {statistics.mean(millis):.0f} ms each"
        )
    confident = asyncio.run(reference_screenshots())
    figures = " ".join(f"char_accuracy_{lang}={value:.3f}" for lang, value in scores.items())
    print(f"{figures} reference_confident={confident}/{len(REFERENCE_CLAIM)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
