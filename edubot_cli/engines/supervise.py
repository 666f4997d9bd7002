"""Keeping a started engine alive: restart it with backoff when it dies, give up after too many deaths.

A crash (SIGSEGV), an out-of-memory kill (SIGKILL) or an illegal instruction (SIGILL) ends the engine process,
not the service: the supervisor thread notices within ``POLL`` seconds, marks the engine ``restarting`` (the
backend answers 503 with Retry-After meanwhile and ``/health`` says so), waits a backoff, launches it again on the
same port with the same key, and marks it ``ok`` once it answers its readiness URL. More than ``max_restarts``
deaths within ``window`` seconds is a failure that names the signal, quotes the log and fits the hint to the cause.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import EngineError
from .process import EngineProcess, cause_hint, exit_reason

POLL = 0.1
"""Seconds between checks of the engine process."""
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds before the 1st, 2nd, ... restart within the window (the last value repeats)."""

OK = "ok"
RESTARTING = "restarting"
FAILED = "failed"


class Supervisor:
    """Watches one ``EngineProcess`` from a daemon thread (see the module docstring)."""

    def __init__(
        self,
        engine: EngineProcess,
        *,
        ready_timeout: float,
        max_restarts: int,
        window: float,
        backoff: tuple[float, ...] | None = None,
        on_change: Callable[[str, str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.ready_timeout = ready_timeout
        self.max_restarts = max_restarts
        self.window = window
        self.backoff = backoff or BACKOFF
        self.on_change = on_change
        self.restarts = 0
        """Successful restarts since the start (the engine answered its readiness URL again)."""
        self._last_exit = ""
        self._status = OK
        self._deaths: deque[float] = deque()
        self._failure: EngineError | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="engine-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and restarting (the engine itself is stopped by its owner, then ``join``)."""
        with self._lock:  # a restart in progress finishes launching first, so the owner's stop sees it
            self._done.set()

    def join(self) -> None:
        """Wait for the watcher thread (after ``stop`` and the engine's own stop)."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    @property
    def status(self) -> str:
        """``ok``, ``restarting`` (also the moment the process is found dead) or ``failed``."""
        if self._status == OK and self.engine.poll() is not None and not self._done.is_set():
            return RESTARTING
        return self._status

    @property
    def last_exit(self) -> str:
        """How the engine last ended (``was killed by SIGKILL``), empty while it never did; known as soon as
        the process is found dead, before the watcher thread gets to it."""
        if self._status == OK and not self._done.is_set():
            code = self.engine.poll()
            if code is not None:
                return exit_reason(code)
        return self._last_exit

    def check(self) -> None:
        """Raise the ``EngineError`` that ended supervision, if it did."""
        if self._failure is not None:
            raise self._failure

    def _set(self, status: str, detail: str) -> None:
        self._status = status
        if self.on_change is not None:
            self.on_change(status, detail)

    def _watch(self) -> None:
        while not self._done.wait(POLL):
            code = self.engine.poll()
            if code is None:
                continue
            if not self._recover(code):
                return

    def _recover(self, code: int) -> bool:
        """Restart after the engine ended with ``code``, as often as needed; False when supervision ends."""
        while not self._done.is_set():
            now = time.monotonic()
            self._deaths.append(now)
            while self._deaths and self._deaths[0] < now - self.window:
                self._deaths.popleft()
            self._last_exit = exit_reason(code)
            name = self.engine.name
            last = self._last_exit
            if len(self._deaths) > self.max_restarts:
                why = (
                    "max_restarts is 0, so it is not restarted"
                    if self.max_restarts == 0
                    else f"it died {len(self._deaths)} times within {self.window:g} s, so edubot gave up"
                )
                self._failure = self.engine.failure(
                    f"the {name} engine {last}; {why}", advice=cause_hint(code)
                )
                self._set(FAILED, self._failure.message)
                return False
            self._set(RESTARTING, f"the {name} engine {last}; restarting it")
            if self._done.wait(self.backoff[min(len(self._deaths), len(self.backoff)) - 1]):
                return False
            try:
                with self._lock:
                    if self._done.is_set():
                        return False
                    self.engine.restart(last)
                self.engine.wait_ready(self.ready_timeout)
            except EngineError:
                polled = self.engine.poll()
                # alive but never ready (it was stopped after the timeout): a death of its own
                code = -signal.SIGKILL if polled is None else polled
                continue
            self.restarts += 1
            self._set(OK, f"the {name} engine is back after it {last}")
            return True
        return False
