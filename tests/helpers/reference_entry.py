"""The reference case as a moderator types it in: shared by the chat's and the desk's tests
of entering it from nothing, so both enter the same record."""

from __future__ import annotations

POINTS = [
    "Militants launched a major attack on Syrian government forces in Idlib",
    "Up to 40 Syrian soldiers were killed",
    "Militants seized two settlements and the army left positions",
    "Up to 50 militants were killed and 90 wounded",
    "About 400 Russian and Syrian air strikes hit the area since Wednesday",
]
