"""Everything the handlers need, built once at start-up and kept in `application.bot_data`."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import ContextTypes

from bot.config import Settings
from db.database import Database, SampleData
from domain.checker import ClaimChecker
from domain.ratelimit import SlidingWindowLimiter

SERVICES_KEY = "services"
INLINE_CACHE_SIZE = 512


@dataclass
class Services:
    settings: Settings
    database: Database
    checker: ClaimChecker
    limiter: SlidingWindowLimiter
    inline_cache: OrderedDict[tuple[int, str], list[Any]] = field(default_factory=OrderedDict)
    inline_chosen: int = 0

    @classmethod
    def create(cls, settings: Settings, database: Database | None = None) -> Services:
        database = database or Database(settings.database_url)
        return cls(
            settings=settings,
            database=database,
            checker=ClaimChecker(database.repository),
            limiter=SlidingWindowLimiter(settings.checks_per_minute),
        )

    async def start(self) -> None:
        sample: SampleData = self.settings.sample_data  # type: ignore[assignment]
        await self.database.prepare(sample_data=sample)
        await self.checker.load()

    async def incidents_changed(self, keys: list[str]) -> None:
        """Make moderators' edits visible to the very next check."""
        await self.checker.refresh(keys)
        self.inline_cache.clear()

    def cached_inline(self, query: str) -> list[Any] | None:
        key = (self.checker.generation, query)
        found = self.inline_cache.get(key)
        if found is not None:
            self.inline_cache.move_to_end(key)
        return found

    def cache_inline(self, query: str, results: list[Any]) -> None:
        self.inline_cache[(self.checker.generation, query)] = results
        while len(self.inline_cache) > INLINE_CACHE_SIZE:
            self.inline_cache.popitem(last=False)

    async def stop(self) -> None:
        await self.database.close()


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.application.bot_data[SERVICES_KEY]
    return found
