"""Everything the handlers need, built once at start-up and kept in `application.bot_data`."""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import ContextTypes

from bot.config import Settings
from bot.metrics import Metrics
from db.database import Database, SampleData
from db.match_index import PostgresMatchStore
from domain.checker import ClaimChecker
from domain.matching import StoredMatcher
from domain.ratelimit import SlidingWindowLimiter

SERVICES_KEY = "services"
INLINE_CACHE_SIZE = 512
SEEN_UPDATES_KEPT = 50_000
SHARED_STATE_DAYS = 2


@dataclass
class Services:
    settings: Settings
    database: Database
    checker: ClaimChecker
    limiter: SlidingWindowLimiter
    inline_cache: OrderedDict[tuple[int, str], list[Any]] = field(default_factory=OrderedDict)
    inline_chosen: int = 0
    metrics: Metrics = field(default_factory=Metrics)
    last_change: int = 0
    _seen_updates: OrderedDict[int, None] = field(default_factory=OrderedDict)
    _languages: OrderedDict[int, str | None] = field(default_factory=OrderedDict)
    _seen_changes: set[int] = field(default_factory=set)

    @property
    def shared(self) -> bool:
        """Several processes may share a PostgreSQL database; an SQLite file has one bot.

        Shared deployments keep duplicate detection and rate limits in the database, so
        every replica sees the same; a single process keeps them in memory, which is faster.
        """
        return not self.database.is_embedded

    @classmethod
    def create(cls, settings: Settings, database: Database | None = None) -> Services:
        database = database or Database(settings.database_url)
        return cls(
            settings=settings,
            database=database,
            checker=make_checker(settings, database),
            limiter=SlidingWindowLimiter(settings.checks_per_minute),
        )

    async def start(self) -> None:
        sample: SampleData = self.settings.sample_data  # type: ignore[assignment]
        await self.database.prepare(sample_data=sample)
        # Note the change log position before loading, so nothing written meanwhile is missed.
        self.last_change = await self.database.shared.last_change()
        count = await self.checker.load()
        self.metrics.incidents.set(count)

    async def sync_index(self) -> list[str]:
        """Pick up incidents written by other processes (replicas, the command line)."""
        self.last_change, keys = await self.database.shared.changes_since(
            self.last_change, self._seen_changes
        )
        if keys:
            await self.incidents_changed(keys)
            self.metrics.incidents.set(await self.checker.size())
        return keys

    async def language_choice(self, user_id: int) -> str | None:
        """The user's /lang choice; remembered, since it is asked for on every update.

        Another replica learns of a change when the user next sets it there or restarts;
        a reply in the Telegram client's language meanwhile is harmless.
        """
        if user_id in self._languages:
            self._languages.move_to_end(user_id)
            return self._languages[user_id]
        choice = await self.database.community.language_of(user_id)
        self._languages[user_id] = choice
        while len(self._languages) > SEEN_UPDATES_KEPT:
            self._languages.popitem(last=False)
        return choice

    async def choose_language(self, user_id: int, language: str) -> None:
        await self.database.community.set_language(user_id, language)
        self._languages[user_id] = language

    async def first_delivery(self, update_id: int) -> bool:
        if self.shared:
            return await self.database.shared.first_delivery(update_id)
        if update_id in self._seen_updates:
            return False
        self._seen_updates[update_id] = None
        while len(self._seen_updates) > SEEN_UPDATES_KEPT:
            self._seen_updates.popitem(last=False)
        return True

    async def allow_check(self, user_id: int) -> bool:
        if not self.shared:
            return self.limiter.allow(user_id)
        window = int(time.time() // 60)
        count = await self.database.shared.count_check(user_id, window)
        return count <= self.settings.checks_per_minute

    async def prune_shared_state(self) -> None:
        older = dt.datetime.now(dt.UTC) - dt.timedelta(days=SHARED_STATE_DAYS)
        await self.database.shared.prune(older, int(time.time() // 60) - 5)

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


def make_checker(settings: Settings, database: Database) -> ClaimChecker:
    """The checker over the index `MATCH_INDEX` names: in memory, or in PostgreSQL."""
    stored = None
    if settings.match_index == "postgres":
        stored = StoredMatcher(PostgresMatchStore(database.engine))
    return ClaimChecker(database.repository, stored=stored)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.application.bot_data[SERVICES_KEY]
    return found
