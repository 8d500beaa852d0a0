"""Everything the handlers need, built once at start-up and kept in `application.bot_data`."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import ContextTypes

from bot import i18n
from bot.batches import Batcher
from bot.config import Settings
from bot.forms import FORM_TIMEOUT
from bot.inbox import Inbox
from bot.metrics import Metrics
from db.database import Database, SampleData
from db.match_index import PostgresMatchStore
from db.repository import ChangeCursor, UnmatchedClaim
from domain import languages
from domain.checker import ClaimChecker
from domain.matching import StoredMatcher, load_embedder
from domain.media import ocr
from domain.ratelimit import SlidingWindowLimiter

SERVICES_KEY = "services"
INLINE_CACHE_SIZE = 512
USERS_REMEMBERED = 50_000
SHARED_STATE_DAYS = 2
# Whether a user is staff is asked for every private message (are they answering a form?);
# a few seconds of staleness only delays a brand-new moderator's first form.
STAFF_CACHE_SECONDS = 10.0


# One unsolicited reply of a kind per chat in this many seconds (see `Services.may_say`).
QUIET_SECONDS = 60.0
_MAX_QUIET_ENTRIES = 50_000


@dataclass
class Services:
    settings: Settings
    database: Database
    checker: ClaimChecker
    limiter: SlidingWindowLimiter
    inbox: Inbox
    unmatched: Batcher[UnmatchedClaim, int]
    languages: Batcher[int, str | None]
    check_counts: Batcher[tuple[int, int], int]
    inline_cache: OrderedDict[tuple[int, str], list[Any]] = field(default_factory=OrderedDict)
    metrics: Metrics = field(default_factory=Metrics)
    changes: ChangeCursor = field(default_factory=ChangeCursor)
    _languages: OrderedDict[int, str | None] = field(default_factory=OrderedDict)
    _staff: set[int] = field(default_factory=set)
    _staff_until: float = 0.0
    _staff_reading: asyncio.Lock = field(default_factory=asyncio.Lock)
    _syncing: asyncio.Lock = field(default_factory=asyncio.Lock)
    _said: OrderedDict[tuple[int, str], float] = field(default_factory=OrderedDict)

    @property
    def shared(self) -> bool:
        """Several processes may share a PostgreSQL database; an SQLite file has one bot.

        Shared deployments keep rate limits in the database, so every replica sees the
        same; a single process keeps them in memory, which is faster.
        """
        return not self.database.is_embedded

    @property
    def read_text(self) -> Callable[[bytes], str] | None:
        """How to read the text in a picture (Tesseract), or None where OCR is off or not
        installed: pictures are then matched by their caption alone."""
        if self.settings.ocr == "off" or not ocr.available():
            return None
        return functools.partial(ocr.read_text, timeout=self.settings.media_seconds)

    @classmethod
    def create(cls, settings: Settings, database: Database | None = None) -> Services:
        database = database or Database(settings.database_url)
        metrics = Metrics()
        return cls(
            settings=settings,
            database=database,
            checker=make_checker(settings, database),
            limiter=SlidingWindowLimiter(settings.checks_per_minute),
            inbox=Inbox(database.inbox, metrics.duplicates),
            unmatched=Batcher(database.community.record_unmatched_many),
            languages=Batcher(database.community.languages_of),
            check_counts=Batcher(database.shared.count_checks),
            metrics=metrics,
        )

    async def start(self) -> None:
        sample: SampleData = self.settings.sample_data  # type: ignore[assignment]
        await self.database.prepare(sample_data=sample)
        # Note the change log position before loading, so nothing written meanwhile is missed.
        self.changes = await self.database.shared.change_cursor()
        count = await self.checker.load()
        self.metrics.incidents.set(count)
        # The catalogues and the language detector, loaded before the first message needs
        # them (the detector's model takes about a second).
        await asyncio.to_thread(_warm_languages)
        if self.settings.ocr != "off":
            # Which OCR languages are installed: asked of Tesseract once, not in a reply.
            await asyncio.to_thread(ocr.installed_languages)
        self.checker.embed_in_background()

    async def sync_index(self) -> list[str]:
        """Bring the match index up to date with the change log; the keys it re-read.

        The one way the index learns of a change, whoever made it: this process (a
        handler calls this right after its write, so the very next check sees the edit),
        another replica or the command line (found every `SYNC_INTERVAL` seconds). Every
        write appends the incidents it touched to the log in its own transaction, a
        source edit those citing the source too.
        """
        async with self._syncing:
            keys = await self.database.shared.changes_since(self.changes)
            if keys:
                await self.checker.refresh(keys)
                self.inline_cache.clear()
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
        choice = await self.languages.call(user_id)
        self._languages[user_id] = choice
        while len(self._languages) > USERS_REMEMBERED:
            self._languages.popitem(last=False)
        return choice

    async def choose_language(self, user_id: int, language: str) -> None:
        await self.database.community.set_language(user_id, language)
        self._languages[user_id] = language

    async def maybe_staff(self, user_id: int) -> bool:
        """Whether the user is an admin or a moderator, as of a few seconds ago at most.

        Only a shortcut past the form lookup for everyone else: whatever a moderator does
        is still checked against the database itself. The whole (short) staff list is
        read at once, so a thousand users cost one query every few seconds, not one each.
        """
        if user_id in self.settings.admin_ids:
            return True
        if time.monotonic() >= self._staff_until:
            async with self._staff_reading:
                # Whoever waited here finds the list read by the one before.
                if time.monotonic() >= self._staff_until:
                    self._staff = await self.database.staff.staff_ids()
                    self._staff_until = time.monotonic() + STAFF_CACHE_SECONDS
        return user_id in self._staff

    def note_staff(self, user_id: int) -> None:
        """A moderator seen acting now is staff even before the next read of the list."""
        self._staff.add(user_id)

    def may_say(self, chat_id: int, what: str) -> bool:
        """Whether a reply nobody asked for as such (a refusal, a usage hint, "too fast",
        the greeting in a group) may go to this chat now: one of each kind per chat every
        `QUIET_SECONDS`. Someone hammering a command then costs the chat, and Telegram's
        per-chat limit, one reply a minute instead of one each time."""
        now = time.monotonic()
        key = (chat_id, what)
        last = self._said.get(key)
        if last is not None and now - last < QUIET_SECONDS:
            return False
        self._said[key] = now
        self._said.move_to_end(key)
        while len(self._said) > _MAX_QUIET_ENTRIES:
            self._said.popitem(last=False)
        return True

    async def allow_check(self, user_id: int) -> bool:
        if not self.shared:
            return self.limiter.allow(user_id)
        window = int(time.time() // 60)
        count = await self.check_counts.call((user_id, window))
        return count <= self.settings.checks_per_minute

    async def prune_shared_state(self) -> None:
        older = dt.datetime.now(dt.UTC) - dt.timedelta(days=SHARED_STATE_DAYS)
        await self.database.shared.prune(older, int(time.time() // 60) - 5)
        await self.database.drafts.prune(FORM_TIMEOUT)
        await self.database.uploads.prune(FORM_TIMEOUT)
        await self.database.desk_requests.prune(
            dt.timedelta(seconds=self.settings.init_data_max_age)
        )
        days = self.settings.unmatched_retention_days
        if days:
            cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
            await self.database.community.forget_unmatched(cutoff)

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

    async def record_unmatched(
        self, normalized: str, claim: str, *, user_id: int, chat_id: int, language: str
    ) -> int:
        """Queue a claim for the moderators; its query id once it is stored."""
        return await self.unmatched.call(
            UnmatchedClaim(normalized, claim, user_id, chat_id, language)
        )

    async def stop(self) -> None:
        await self.checker.stop()
        await self.unmatched.close()
        await self.languages.close()
        await self.check_counts.close()
        await self.database.close()


def _warm_languages() -> None:
    i18n.warm_up()
    languages.warm_up()


def make_checker(settings: Settings, database: Database) -> ClaimChecker:
    """The checker over the index `MATCH_INDEX` names (in memory, or in PostgreSQL), with
    the semantic stage where `SEMANTIC_MATCHING` allows it and the model can run."""
    stored = None
    if settings.match_index == "postgres":
        stored = StoredMatcher(PostgresMatchStore(database.engine))
    embedder = None
    if settings.semantic_matching == "auto" and stored is None:
        embedder = load_embedder()
    return ClaimChecker(
        database.repository, stored=stored, embedder=embedder, vectors=database.vectors
    )


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.application.bot_data[SERVICES_KEY]
    return found
