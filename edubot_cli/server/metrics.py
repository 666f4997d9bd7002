"""Request counters and latency percentiles for /stats, mirrored into a per-app Prometheus registry for /metrics."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

# Percentiles are computed over the most recent samples only, so memory stays flat on a long-running server.
WINDOW = 10_000
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of already sorted values; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(values: deque[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else None,
    }


class Metrics:
    """What the backend has served. ``requests`` counts inference requests forwarded to an engine (/chat and
    /v1/chat/completions); ``errors`` those that ended in an error; ``cancelled`` those the client abandoned;
    ``rejected`` answers refused before reaching an engine, by status (401, 413, 422, 429 ...)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.started = time.monotonic()
        self.requests = 0
        self.errors = 0
        self.cancelled = 0
        self.in_flight = 0
        self.rejected: dict[str, int] = {}
        self.by_endpoint: dict[str, int] = {}
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.latencies: deque[float] = deque(maxlen=WINDOW)
        self.ttfts: deque[float] = deque(maxlen=WINDOW)
        self.safety_flags: dict[str, int] = {}
        """Moderation's flags by ``category:severity`` (``self_harm:high`` ...), messages and answers alike."""

        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "edubot_requests",
            "Inference requests by endpoint and outcome.",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self._rejected = Counter(
            "edubot_rejected_requests",
            "Requests refused before reaching an engine, by status.",
            ["status"],
            registry=self.registry,
        )
        self._tokens = Counter(
            "edubot_tokens", "Tokens processed, by kind.", ["kind"], registry=self.registry
        )
        self._latency = Histogram(
            "edubot_request_latency_seconds",
            "Latency of successful inference requests.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._ttft = Histogram(
            "edubot_time_to_first_token_seconds",
            "Time to the first streamed token.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._flags = Counter(
            "edubot_safety_flags",
            "Moderation flags on /chat messages and answers, by category, severity and where (message or answer).",
            ["category", "severity", "where"],
            registry=self.registry,
        )
        self._in_flight = Gauge(
            "edubot_requests_in_flight", "Inference requests being served.", registry=self.registry
        )
        self.engine_up = Gauge(
            "edubot_engine_up",
            "1 when the engine answered its last health check.",
            ["engine"],
            registry=self.registry,
        )

    def begin(self, endpoint: str) -> None:
        self.requests += 1
        self.in_flight += 1
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1
        self._in_flight.inc()

    def finish(
        self,
        endpoint: str,
        outcome: str,
        latency: float | None = None,
        ttft: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        """Close a request opened with ``begin``: outcome is ``ok``, ``error`` or ``cancelled``."""
        self.in_flight -= 1
        self._in_flight.dec()
        self._child(self._requests, endpoint, outcome).inc()
        if outcome == "error":
            self.errors += 1
        elif outcome == "cancelled":
            self.cancelled += 1
        if prompt_tokens:
            self.prompt_tokens += prompt_tokens
            self._child(self._tokens, "prompt").inc(prompt_tokens)
        if completion_tokens:
            self.completion_tokens += completion_tokens
            self._child(self._tokens, "completion").inc(completion_tokens)
        if outcome == "ok" and latency is not None:
            self.latencies.append(latency)
            self._child(self._latency, endpoint).observe(latency)
        if ttft is not None:
            self.ttfts.append(ttft)
            self._child(self._ttft, endpoint).observe(ttft)

    def _child(self, metric: Any, *labels: str) -> Any:
        # labels() validates and locks on every call; the handful of label sets is cached instead.
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def flag(self, category: str, severity: str, where: str = "message") -> None:
        """Count one moderation flag (``where``: ``message`` or ``answer``)."""
        key = f"{category}:{severity}"
        self.safety_flags[key] = self.safety_flags.get(key, 0) + 1
        self._child(self._flags, category, severity, where).inc()

    def reject(self, status: int) -> None:
        key = str(status)
        self.rejected[key] = self.rejected.get(key, 0) + 1
        self._rejected.labels(key).inc()

    def snapshot(self) -> dict[str, Any]:
        return {
            "uptime_seconds": round(time.monotonic() - self.started, 3),
            "requests": self.requests,
            "errors": self.errors,
            "cancelled": self.cancelled,
            "in_flight": self.in_flight,
            "rejected": dict(self.rejected),
            "requests_by_endpoint": dict(self.by_endpoint),
            "tokens": {
                "prompt": self.prompt_tokens,
                "completion": self.completion_tokens,
                "total": self.prompt_tokens + self.completion_tokens,
            },
            "latency_seconds": summary(self.latencies),
            "ttft_seconds": summary(self.ttfts),
            "safety_flags": dict(self.safety_flags),
        }

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
