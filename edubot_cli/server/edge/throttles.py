"""Per-client counters of the guard: the rate limit (a token bucket per client) and the lockout after wrong API
keys (a sliding window of failures per client), each bounded in the clients it remembers."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

AUTH_WINDOW = 60.0  # seconds over which auth_failures_per_minute counts


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled continuously. At most ``MAX_CLIENTS`` buckets
    are kept: full ones are forgotten first, then the least recently seen."""

    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, client: str) -> float:
        """Take one request for ``client``: 0 when allowed, else the seconds to wait."""
        now = self.clock()
        # Popped and put back: the dict stays ordered from the least to the most recently seen client.
        tokens, last = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.MAX_CLIENTS:
            self._forget_idle(now)
        return wait

    def _forget_idle(self, now: float) -> None:
        # A client whose bucket has refilled is indistinguishable from a new one.
        full = [c for c, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.capacity]
        for client in full:
            del self._buckets[client]
        while len(self._buckets) > self.MAX_CLIENTS:  # still too many: the least recently seen go
            del self._buckets[next(iter(self._buckets))]


class AuthFailures:
    """Wrong API keys per client in a sliding window: after ``limit`` of them within ``window`` seconds the client
    is locked out until the oldest of those is ``window`` seconds old. At most ``MAX_CLIENTS`` clients are
    tracked: those with no failure left in the window are forgotten first, then the least recently failing."""

    MAX_CLIENTS = 10_000

    def __init__(
        self, limit: int, window: float = AUTH_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def locked(self, client: str) -> float:
        """Seconds until ``client`` may try again: 0 when it is not locked out."""
        failures = self._failures.get(client)
        if failures is None or len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window - self.clock())

    def fail(self, client: str) -> None:
        """Count one wrong key for ``client``."""
        now = self.clock()
        failures = self._failures.pop(client, None) or deque(maxlen=self.limit)
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        failures.append(now)
        self._failures[client] = failures  # (re)inserted last: the dict stays in least-recent-failure order
        if len(self._failures) > self.MAX_CLIENTS:
            expired = [c for c, f in self._failures.items() if f[-1] + self.window <= now]
            for gone in expired:
                del self._failures[gone]
            while len(self._failures) > self.MAX_CLIENTS:
                del self._failures[next(iter(self._failures))]


JOINS_PER_ADDRESS = 10
"""Join attempts per minute from one client address (``POST /class/join``): a student mistypes a code a few times;
a guesser is held to 14,400 codes a day (docs/classroom.md has the arithmetic)."""
JOINS_PER_CODE = 60
"""Join attempts per minute with one code: a class of 60 can join in the same minute; a flood of fake students
with a code that leaked cannot."""


class JoinThrottle:
    """Join attempts: a token bucket per client address and one per join code (as typed, normalised). An attempt
    takes a token from both, the address's first."""

    def __init__(
        self,
        per_address: int = JOINS_PER_ADDRESS,
        per_code: int = JOINS_PER_CODE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.addresses = RateLimiter(per_address, clock)
        self.codes = RateLimiter(per_code, clock)

    def acquire(self, address: str, code: str) -> tuple[float, str]:
        """Take one attempt: (0, "") when allowed, else the seconds to wait and what is exhausted (``address`` or
        ``code``)."""
        wait = self.addresses.acquire(address)
        if wait > 0:
            return wait, "address"
        wait = self.codes.acquire(code)
        return (wait, "code") if wait > 0 else (0.0, "")
