"""Waiting on a condition: tests poll until it holds, with a generous ceiling, and never sleep a fixed time.

The ceiling only bounds a failing test; a passing one returns as soon as the condition holds, so it may be far
above what anything takes here, even on a 2-core machine with every core busy (``make test-under-load``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

CEILING = 60.0
"""Seconds: the default bound for anything a test waits on (a state, a log line, a request counted)."""

ENGINE_CEILING = 600.0
"""Seconds: the bound for an answer of the real engine, which shares the CPUs with everything else (1-2 tokens/s
at worst under ``make test-under-load``)."""


def eventually(condition: Callable[[], object], timeout: float = CEILING, interval: float = 0.01) -> bool:
    """Poll ``condition`` every ``interval`` seconds until it is true (True) or ``timeout`` seconds pass (False);
    for state that changes in another thread or process. Use as ``assert eventually(lambda: ...)``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


async def until(condition: Callable[[], object], timeout: float = CEILING) -> bool:
    """``eventually`` inside an event loop: yields to the loop's other tasks until ``condition`` is true (True) or
    ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.001)
    return True
