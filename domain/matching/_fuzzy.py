"""Near-miss lookup: which indexed terms are one typo away from a term the index lacks.

Scanning the whole vocabulary with an edit-distance scorer costs milliseconds per word
at a realistic vocabulary size, and a message can have several unknown words. Instead
every indexed term is also filed under each of its one-letter deletions; two words that
are one substitution, insertion, deletion or adjacent swap apart always share such a key
(or one is a key of the other), so a lookup is a handful of dict probes followed by an
exact check with rapidfuzz's optimal-string-alignment distance on the few hits.

A vocabulary kept in a database is searched with `one_edit_patterns` instead: LIKE
patterns a trigram index can answer, followed by the same exact check.
"""

from __future__ import annotations

from rapidfuzz.distance import OSA

MIN_LENGTH = 4


def _deletions(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def correctable(term: str, min_length: int = MIN_LENGTH) -> bool:
    """Short words and numbers are too easily one edit from another real one."""
    return len(term) >= min_length and not term[0].isdigit()


def one_edit_apart(term: str, other: str) -> bool:
    return term != other and OSA.distance(term, other, score_cutoff=1) <= 1


def one_edit_patterns(term: str) -> list[str]:
    """SQL LIKE patterns that together match exactly the strings one edit from `term`."""
    chars = [c.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for c in term]
    patterns: set[str] = set()
    for i in range(len(chars) + 1):
        patterns.add("".join(chars[:i]) + "_" + "".join(chars[i:]))
    for i in range(len(chars)):
        patterns.add("".join(chars[:i]) + "_" + "".join(chars[i + 1 :]))
        patterns.add("".join(chars[:i]) + "".join(chars[i + 1 :]))
    for i in range(len(chars) - 1):
        swapped = [*chars[:i], chars[i + 1], chars[i], *chars[i + 2 :]]
        patterns.add("".join(swapped))
    return sorted(patterns)


class NearTerms:
    """Terms of at least `min_length` characters, filed for one-edit lookups."""

    def __init__(self, min_length: int = MIN_LENGTH) -> None:
        self.min_length = min_length
        self._by_key: dict[str, tuple[str, ...]] = {}

    def add(self, term: str) -> None:
        if not correctable(term, self.min_length):
            return
        for key in (term, *_deletions(term)):
            held = self._by_key.get(key)
            if held is None:
                self._by_key[key] = (term,)
            elif term not in held:
                self._by_key[key] = (*held, term)

    def discard(self, term: str) -> None:
        if not correctable(term, self.min_length):
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
        if not correctable(term, self.min_length):
            return []
        found: set[str] = set()
        for key in (term, *_deletions(term)):
            held = self._by_key.get(key)
            if held:
                found.update(held)
        return [t for t in found if one_edit_apart(term, t)]
