"""The engine supervisor as the backend sees it (``server.upstream.Watch``), moved by the test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FakeWatch:
    """``state`` is what ``status()`` says (``ok``, ``restarting``, ``failed``); ``restarts`` counts the engine
    processes the supervisor saw come back."""

    state: str = "ok"
    last_exit: str = ""
    restarts: int = 0

    def status(self) -> str:
        return self.state

    def killed(self, how: str = "was killed by SIGKILL") -> None:
        """The engine died: the supervisor is restarting it."""
        self.state, self.last_exit = "restarting", how

    def back(self) -> None:
        """The restarted engine answered its readiness URL."""
        self.state = "ok"
        self.restarts += 1
