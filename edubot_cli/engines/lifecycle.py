"""The one engine lifecycle: build the command → start → wait until ready → (supervise) → stop.

``edubot serve``, ``edubot chat --local`` and the ilab teacher all run their engine through ``running``, so each
gets the same checks before anything slow starts, the same log file, the same readiness wait, and the same stop
of the engine's whole process group on every way out: a normal return, an error, Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..procgroup import terminations_raise
from .choose import build_engine
from .process import EngineProcess
from .supervise import OK, Supervisor

if TYPE_CHECKING:
    from ..config import Settings
    from .base import Engine


class EngineObserver(Protocol):
    """What the lifecycle reports while it works (commands render it)."""

    def engine_started(self, engine: Engine) -> None:
        """The engine process was launched (its log path is known)."""

    def engine_waiting(self, engine: Engine, elapsed: float) -> None:
        """Still waiting for the engine to be ready (called a few times per second)."""

    def engine_ready(self, engine: Engine, elapsed: float) -> None:
        """The engine answers its readiness URL."""

    def engine_log(self, line: str) -> None:
        """One line of engine output (only with ``show_log``)."""

    def engine_status(self, status: str, detail: str) -> None:
        """The supervisor saw the engine die (``restarting``), come back (``ok``) or gave up (``failed``)."""

    def stopping(self, engine: Engine) -> None:
        """The engine is being stopped."""


class Silent:
    """An observer that reports nothing."""

    def engine_started(self, engine: Engine) -> None:
        pass

    def engine_waiting(self, engine: Engine, elapsed: float) -> None:
        pass

    def engine_ready(self, engine: Engine, elapsed: float) -> None:
        pass

    def engine_log(self, line: str) -> None:
        pass

    def engine_status(self, status: str, detail: str) -> None:
        pass

    def stopping(self, engine: Engine) -> None:
        pass


@dataclass
class Running:
    """A started, ready engine, with its supervisor when it has one."""

    engine: Engine
    supervisor: Supervisor | None = None

    def status(self) -> str:
        """``ok``, ``restarting`` or ``failed`` (engines nobody supervises are ``ok``: the backend probes them)."""
        return self.supervisor.status if self.supervisor is not None else OK

    @property
    def last_exit(self) -> str:
        """How the engine last ended (``was killed by SIGKILL``), empty if it never did."""
        return self.supervisor.last_exit if self.supervisor is not None else ""

    @property
    def restarts(self) -> int:
        """Restarts so far (each ended with the engine ready again, or with the supervisor giving up)."""
        return self.supervisor.restarts if self.supervisor is not None else 0

    def check(self) -> None:
        """Raise the ``EngineError`` that ended the engine for good: a supervisor that gave up, or an
        unsupervised engine that exited."""
        if self.supervisor is not None:
            self.supervisor.check()
        else:
            self.engine.check_alive()


@contextmanager
def running(
    settings: Settings,
    observer: EngineObserver | None = None,
    *,
    show_log: bool = False,
    supervise: bool = False,
) -> Iterator[Running]:
    """The engine ``settings`` ask for, started and ready; supervised (restarted when it dies) if asked; stopped
    with its process group on exit, whatever happens. SIGTERM and SIGHUP raise ``Terminated`` meanwhile."""
    events = observer or Silent()
    engine = build_engine(settings, live_log=events.engine_log if show_log else None)
    started = False
    supervisor: Supervisor | None = None
    with terminations_raise():
        try:
            engine.start()
            started = True
            events.engine_started(engine)
            elapsed = engine.wait_ready(
                settings.ready_timeout, tick=lambda t: events.engine_waiting(engine, t)
            )
            events.engine_ready(engine, elapsed)
            if supervise and isinstance(engine, EngineProcess):
                supervisor = Supervisor(
                    engine,
                    ready_timeout=settings.ready_timeout,
                    max_restarts=settings.max_restarts,
                    window=settings.restart_window,
                    on_change=events.engine_status,
                )
                supervisor.start()
            yield Running(engine, supervisor)
        finally:
            if supervisor is not None:
                supervisor.stop()
            if started:
                events.stopping(engine)
            engine.stop()
            if supervisor is not None:
                supervisor.join()


def one_token(settings: Settings) -> tuple[float, str]:
    """Start the engine ``settings`` ask for with one slot, generate one token, stop it: (seconds, token).

    What ``edubot doctor`` runs to prove the built engine works on this CPU; an engine that dies (SIGILL from
    an unsuitable build) raises its ``EngineError`` with the cause's hint.
    """
    import time

    import httpx

    from ..errors import EngineError

    started = time.monotonic()
    with running(settings.model_copy(update={"parallel": 1, "engine_port": 0})) as launch:
        engine = launch.engine
        headers = {"Authorization": f"Bearer {engine.api_key}"} if engine.api_key else {}
        body = {"prompt": "The capital of France is", "max_tokens": 1, "temperature": 0}
        try:
            answer = httpx.post(
                engine.urls[0] + "/v1/completions", json=body, headers=headers, timeout=60, trust_env=False
            )
            answer.raise_for_status()
            token = str(answer.json()["choices"][0]["text"])
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            engine.check_alive()  # a crash explains itself better than the broken connection
            raise EngineError(
                f"the {engine.name} engine started but failed to generate a token: {exc}",
                hint=f"see the engine log {engine.log_path}",
            ) from exc
    return time.monotonic() - started, token
