"""Which language a message is written in, among the ones the bot answers in.

The guess comes from py3langid (a naive Bayes model over byte n-grams, shipped inside the
package: nothing is downloaded), restricted to our languages. It is only asked where
nobody said which language they read (no /lang choice, no Telegram language), or in a
group, where the asking message's language wins; so a short or mixed message whose guess
is unsure gives no answer rather than a wrong one.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Final

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

LANGUAGES: Final = ("en", "ru", "uk", "ar")
# Below this probability (among our four languages) the guess is not taken.
SURE: Final = 0.9
# Fewer letters than this say too little about a language ("ok", "Идлиб?").
MIN_LETTERS: Final = 8

_loading = threading.Lock()


@cache
def _identifier() -> LanguageIdentifier:
    with _loading:
        identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
        identifier.set_languages(list(LANGUAGES))
        return identifier


def warm_up() -> None:
    """Load the model now (about a second), not at the first message that needs it."""
    _identifier()


def written_in(text: str) -> str | None:
    """The language `text` is written in, if the model is sure; None otherwise."""
    if sum(ch.isalpha() for ch in text[:1000]) < MIN_LETTERS:
        return None
    language, probability = _identifier().classify(text[:1000])
    return str(language) if probability >= SURE else None
