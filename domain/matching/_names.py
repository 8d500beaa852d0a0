"""Name groups: spellings, scripts and abbreviations that name the same thing.

Each variant is kept as the sequence of its index terms ("Hayat Tahrir al-Sham" ->
hayat, tahrir, al, sham). Groups declared by different incidents that share a variant are
one group (union-find), and a group applies to the whole index, whoever declared it.

The index itself never changes when groups do: a query that contains a variant is
rewritten to ask for the whole group, and a document belongs to the group if it holds all
the terms of any one variant. So declaring a new alias needs no re-indexing, and removing
the last incident that declared it just forgets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Variant = tuple[str, ...]


class NameGroups:
    def __init__(self) -> None:
        self._declared: dict[str, tuple[tuple[Variant, ...], ...]] = {}
        self._parent: dict[Variant, Variant] = {}
        self._members: dict[Variant, set[Variant]] = {}
        self._by_first: dict[str, list[Variant]] = {}
        self._stale = False

    # --- declarations -------------------------------------------------------------------

    def declare(self, owner: str, groups: Iterable[Sequence[Variant]]) -> None:
        """Set the groups `owner` declares, replacing what it declared before."""
        kept = tuple(
            g
            for g in (tuple(dict.fromkeys(v for v in group if v)) for group in groups)
            if len(g) > 1
        )
        previous = self._declared.get(owner, ())
        if kept == previous:
            return
        if previous:
            # Splitting a union-find is not possible in place; rebuild lazily, once, before
            # the next lookup (declarations are few compared with queries).
            self._stale = True
        if kept:
            self._declared[owner] = kept
        else:
            self._declared.pop(owner, None)
        if not self._stale:
            for group in kept:
                self._union_all(group)

    def forget(self, owner: str) -> None:
        if self._declared.pop(owner, None):
            self._stale = True

    def _find(self, variant: Variant) -> Variant:
        root = variant
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[variant] != root:
            self._parent[variant], variant = root, self._parent[variant]
        return root

    def _add(self, variant: Variant) -> None:
        if variant not in self._parent:
            self._parent[variant] = variant
            self._members[variant] = {variant}
            bucket = self._by_first.setdefault(variant[0], [])
            bucket.append(variant)
            bucket.sort(key=len, reverse=True)

    def _union_all(self, group: Sequence[Variant]) -> None:
        for variant in group:
            self._add(variant)
        first = self._find(group[0])
        for variant in group[1:]:
            other = self._find(variant)
            if other == first:
                continue
            if len(self._members[first]) < len(self._members[other]):
                first, other = other, first
            self._parent[other] = first
            self._members[first] |= self._members.pop(other)

    def _refresh(self) -> None:
        if not self._stale:
            return
        self._parent.clear()
        self._members.clear()
        self._by_first.clear()
        self._stale = False
        for groups in self._declared.values():
            for group in groups:
                self._union_all(group)

    # --- lookups ------------------------------------------------------------------------

    def find_in(self, terms: Sequence[str]) -> list[tuple[int, int, Variant]]:
        """Variants occurring in `terms`: (start, end, group id), longest first, no overlaps."""
        self._refresh()
        found: list[tuple[int, int, Variant]] = []
        i = 0
        while i < len(terms):
            for variant in self._by_first.get(terms[i], ()):
                end = i + len(variant)
                if tuple(terms[i:end]) == variant:
                    found.append((i, end, self._find(variant)))
                    i = end
                    break
            else:
                i += 1
        return found

    def members(self, group: Variant) -> frozenset[Variant]:
        """All variants of the group whose id (`find_in`'s third field) is `group`."""
        self._refresh()
        return frozenset(self._members.get(group, ()))
