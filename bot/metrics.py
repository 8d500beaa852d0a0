"""Prometheus metrics and the per-update outcome that the structured log line reports."""

from __future__ import annotations

from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Set by handlers ("confident", "refused", …); read when the update is logged.
outcome: ContextVar[str] = ContextVar("outcome", default="")


class Metrics:
    """One registry per bot, so several bots in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "factcheck_updates_total", "Updates handled, by kind and result",
            ["kind", "result"], registry=self.registry,
        )  # fmt: skip
        self.checks = Counter(
            "factcheck_checks_total", "Claims checked, by outcome", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "factcheck_update_seconds", "Time from receiving an update to finishing it",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )  # fmt: skip
        self.duplicates = Counter(
            "factcheck_duplicate_updates_total", "Updates delivered again and skipped",
            registry=self.registry,
        )  # fmt: skip
        self.queue_size = Gauge(
            "factcheck_unmatched_queue_size", "Open claims in the moderators' queue",
            registry=self.registry,
        )  # fmt: skip
        self.unfinished_updates = Gauge(
            "factcheck_unfinished_updates",
            "Updates received and not yet handled, by every process on this database",
            registry=self.registry,
        )  # fmt: skip
        self.incidents = Gauge(
            "factcheck_indexed_incidents", "Incidents in the matching index",
            registry=self.registry,
        )  # fmt: skip
        self.semantic = Gauge(
            "factcheck_semantic_stage",
            "Whether the semantic stage of matching is on (1), computing vectors (0.5) or off (0)",
            registry=self.registry,
        )  # fmt: skip
        self.semantic_pending = Gauge(
            "factcheck_semantic_pending_vectors", "Incidents still waiting for their vector",
            registry=self.registry,
        )  # fmt: skip
        self.semantic_calls = Gauge(
            "factcheck_semantic_calls",
            "Matches the lexical stage could not settle, which asked the semantic stage",
            registry=self.registry,
        )  # fmt: skip
        self.semantic_skipped = Gauge(
            "factcheck_semantic_skipped",
            "Matches answered by words alone because too many waited for the model",
            registry=self.registry,
        )  # fmt: skip

        self.inline_chosen = Counter(
            "factcheck_inline_chosen_total",
            "Inline results that someone posted into a chat",
            registry=self.registry,
        )  # fmt: skip
        self.feedback = Counter(
            "factcheck_feedback_total",
            "Presses of Helpful / Not helpful under answers, by verdict",
            ["verdict"], registry=self.registry,
        )  # fmt: skip

    def semantic_state(self, state: str, pending: int, calls: int, skipped: int) -> None:
        self.semantic.set({"on": 1.0, "warming": 0.5}.get(state, 0.0))
        self.semantic_pending.set(pending)
        self.semantic_calls.set(calls)
        self.semantic_skipped.set(skipped)
