"""The passage budget of a grounded question: the whole budget when the class is quiet, a small one when it is busy.

A grounded prompt's passages are what the engine must read before an answer's first token, and a class asking at
once pays for every prompt token once per student: on 2 cores the engine reads about 600 prompt tokens a second,
so 32 prompts of 300 tokens are 16 s of work before the last student's first word. While ``BUSY_QUESTIONS`` or
more grounded questions came in the last ``BUSY_WINDOW`` seconds (a burst, or a class at work), a question's
passages get ``BUSY_TOKENS`` instead: the best passage's window around the question's words. Measured with the
model writing every answer (``docs/benchmarks.md``): right answers on held-out questions unchanged on both test
taxonomies (sample 12/20, Northbrook 44/50, as with the whole budget), the class's p95 first token 11.9 s → 7.5 s.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

BUSY_QUESTIONS = 4
"""Grounded questions within ``BUSY_WINDOW`` from which the next one gets the small budget."""
BUSY_WINDOW = 10.0
"""Seconds a grounded question counts towards ``BUSY_QUESTIONS`` (about one answer's length on a CPU)."""
BUSY_TOKENS = 120
"""The passage budget while busy, in estimated tokens (``prompt.estimate_tokens``): one passage's window. Half
that (60) cost right answers; 120 cost none (``docs/benchmarks.md``)."""


class PassageBudget:
    """The budget of each grounded question (``take``): ``full`` while quiet, at most ``BUSY_TOKENS`` while busy
    (see the module docstring). Thread-safe; ``clock`` is for tests."""

    def __init__(self, full: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.full = full
        self.clock = clock
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> int:
        """The budget of a question asked now (counted from now on)."""
        now = self.clock()
        with self._lock:
            while self._recent and now - self._recent[0] >= BUSY_WINDOW:
                self._recent.popleft()
            busy = len(self._recent) >= BUSY_QUESTIONS
            self._recent.append(now)
        return min(self.full, BUSY_TOKENS) if busy else self.full
