"""`edubot serve`: start an engine, wait until it is ready, then run the backend in front of it until stopped.

The engine (a child process group on 127.0.0.1) is stopped on every way out: normal return, an error, Ctrl-C
(SIGINT), SIGTERM or SIGHUP. If the engine dies while the backend runs, the backend is shut down and the engine's
last log lines are reported.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .engines.choose import build_engine
from .engines.process import bind_listener
from .errors import EdubotError, missing_extra

if TYPE_CHECKING:
    from .config import Settings
    from .engines.base import Engine

WATCH_INTERVAL = 1.0
"""Seconds between checks that the engine is still alive while the backend runs."""
GRACEFUL_SHUTDOWN = 5
"""Seconds the backend gives open requests to finish when asked to stop."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, turned into an exception so that every ``finally`` runs and the engine is stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def reason(self) -> str:
        return "hangup" if self.signum == signal.SIGHUP else "terminated"


class ServeObserver(Protocol):
    """What ``serve`` reports while it works (the command renders it)."""

    def engine_started(self, engine: Engine) -> None:
        """The engine process was launched (its log path is known)."""

    def engine_waiting(self, engine: Engine, elapsed: float) -> None:
        """Still waiting for the engine to be ready (called a few times per second)."""

    def engine_ready(self, engine: Engine, elapsed: float) -> None:
        """The engine answers its readiness URL."""

    def backend_ready(self, url: str) -> None:
        """The backend accepts requests at ``url``."""

    def engine_log(self, line: str) -> None:
        """One line of engine output (only with ``--engine-log``)."""

    def stopping(self, engine: Engine) -> None:
        """The engine is being stopped."""


class _Silent:
    def engine_started(self, engine: Engine) -> None:
        pass

    def engine_waiting(self, engine: Engine, elapsed: float) -> None:
        pass

    def engine_ready(self, engine: Engine, elapsed: float) -> None:
        pass

    def backend_ready(self, url: str) -> None:
        pass

    def engine_log(self, line: str) -> None:
        pass

    def stopping(self, engine: Engine) -> None:
        pass


@dataclass(frozen=True)
class ServeOutcome:
    """How ``serve`` ended: ``interrupted`` (Ctrl-C), ``terminated`` (SIGTERM), ``hangup`` (SIGHUP) or
    ``backend exited``."""

    reason: str
    engine: str


def public_url(host: str, port: int) -> str:
    """The URL to print for a backend listening on host:port."""
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@contextmanager
def running_engine(
    settings: Settings, observer: ServeObserver | None = None, *, show_log: bool = False
) -> Iterator[Engine]:
    """The engine ``settings`` ask for, started and ready; stopped (with its process group) on exit."""
    events = observer or _Silent()
    engine = build_engine(settings, live_log=events.engine_log if show_log else None)
    with launched(engine, settings.ready_timeout, events):
        yield engine


@contextmanager
def launched(engine: Engine, ready_timeout: float, observer: ServeObserver | None = None) -> Iterator[Engine]:
    """``engine`` started and ready within ``ready_timeout`` seconds; stopped on exit, whatever happens."""
    events = observer or _Silent()
    started = False
    try:
        engine.start()
        started = True
        events.engine_started(engine)
        elapsed = engine.wait_ready(ready_timeout, tick=lambda t: events.engine_waiting(engine, t))
        events.engine_ready(engine, elapsed)
        yield engine
    finally:
        if started:
            events.stopping(engine)
        engine.stop()


@contextmanager
def _termination_raises() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP (terminal closed) raise ``Terminated`` in the main thread instead of
    ending the process without cleanup."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


def run_backend(
    app: Any,
    sock: socket.socket,
    *,
    on_ready: Callable[[], None],
    engine_alive: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` with uvicorn on the bound ``sock`` until a signal (or a dead engine) stops it.

    ``engine_alive`` raises ``EngineError`` once the engine is gone; that error is re-raised here after the
    backend has shut down.
    """
    import uvicorn

    failure: list[EdubotError] = []

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                on_ready()

    config = uvicorn.Config(app, lifespan="on", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)
    server = _Server(config)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(WATCH_INTERVAL):
            try:
                if engine_alive is not None:
                    engine_alive()
            except EdubotError as exc:
                failure.append(exc)
                server.should_exit = True
                return

    # uvicorn shuts down gracefully on SIGINT/SIGTERM only; a hangup (terminal closed) gets the same treatment.
    hangups: list[int] = []

    def on_hangup(signum: int, frame: Any) -> None:
        hangups.append(signum)
        server.should_exit = True

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGHUP, on_hangup) if in_main else None
    watcher = threading.Thread(target=watch, name="engine-watch", daemon=True)
    watcher.start()
    try:
        server.run(sockets=[sock])
    finally:
        done.set()
        watcher.join()
        if in_main:
            signal.signal(signal.SIGHUP, previous)
    if hangups:
        raise Terminated(signal.SIGHUP)
    if failure:
        raise failure[0]
    if not server.started:
        raise EdubotError(
            f"the backend failed to start on {sock.getsockname()[0]}:{sock.getsockname()[1]}",
            hint="see the messages above; rerun with EDUBOT_DEBUG=1 for details",
        )


def _backend_factory() -> Callable[..., Any]:
    """``create_app``, or a ``MissingDependencyError`` when the serve extra (fastapi, uvicorn ...) is missing."""
    try:
        from .server.app import create_app
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("fastapi", "starlette", "uvicorn", "prometheus_client"):
            raise missing_extra(exc.name.split(".")[0], "serve") from exc
        raise
    return create_app


def serve(
    settings: Settings, observer: ServeObserver | None = None, *, show_log: bool = False
) -> ServeOutcome:
    """Start the engine ``settings`` ask for and serve the backend on settings.host:settings.port until stopped.

    Returns how it ended; raises ``EdubotError`` when the engine cannot start or dies.
    """
    create_app = _backend_factory()
    events = observer or _Silent()
    # Bind first: a busy port is reported before a model spends minutes loading.
    sock = bind_listener(settings.host, settings.port, "--port")
    try:
        engine = build_engine(settings, live_log=events.engine_log if show_log else None)
        with _termination_raises():
            try:
                with launched(engine, settings.ready_timeout, events):
                    if engine.served_model_name:
                        settings = settings.model_copy(update={"served_model_name": engine.served_model_name})
                    app = create_app(settings, engine_urls=engine.urls, engine_name=engine.name)
                    run_backend(
                        app,
                        sock,
                        on_ready=lambda: events.backend_ready(public_url(settings.host, settings.port)),
                        engine_alive=engine.check_alive,
                    )
            except Terminated as stop:
                return ServeOutcome(stop.reason, engine.name)
            except KeyboardInterrupt:
                return ServeOutcome("interrupted", engine.name)
    finally:
        sock.close()
    return ServeOutcome("backend exited", engine.name)
