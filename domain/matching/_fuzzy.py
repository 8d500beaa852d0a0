"""Near-miss lookup: which indexed terms are one typo away from a term the index lacks.

Scanning the whole vocabulary with an edit-distance scorer costs milliseconds per word
at a realistic vocabulary size, and a message can have several unknown words. Instead
every indexed term is also filed under each of its one-letter deletions; two words that
are one substitution, insertion, deletion or adjacent swap apart always share such a key
(or one is a key of the other), so a lookup is a handful of dict probes followed by an
exact check with rapidfuzz's optimal-string-alignment distance on the few hits.
"""

from __future__ import annotations

from rapidfuzz.distance import OSA


def _deletions(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


class NearTerms:
    """Terms of at least `min_length` characters, filed for one-edit lookups."""

    def __init__(self, min_length: int = 4) -> None:
        self.min_length = min_length
        self._by_key: dict[str, tuple[str, ...]] = {}

    def _eligible(self, term: str) -> bool:
        return len(term) >= self.min_length and not term[0].isdigit()

    def add(self, term: str) -> None:
        if not self._eligible(term):
            return
        for key in (term, *_deletions(term)):
            held = self._by_key.get(key)
            if held is None:
                self._by_key[key] = (term,)
            elif term not in held:
                self._by_key[key] = (*held, term)

    def discard(self, term: str) -> None:
        if not self._eligible(term):
            return
        for key in (term, *_deletions(term)):
            held = self._by_key.get(key)
            if held is None:
                continue
            rest = tuple(t for t in held if t != term)
            if rest:
                self._by_key[key] = rest
            else:
                del self._by_key[key]

    def near(self, term: str) -> list[str]:
        """Filed terms exactly one edit (OSA distance) from `term`, excluding `term` itself."""
        if len(term) < self.min_length or term[0].isdigit():
            return []
        found: set[str] = set()
        for key in (term, *_deletions(term)):
            held = self._by_key.get(key)
            if held:
                found.update(held)
        found.discard(term)
        return [t for t in found if OSA.distance(term, t, score_cutoff=1) <= 1]
