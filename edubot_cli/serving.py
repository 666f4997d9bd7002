"""`edubot serve`: start an engine through the one lifecycle (``engines.lifecycle``), then run the backend in
front of it until stopped.

The engine (a child process group on 127.0.0.1) is supervised: when it dies, it is restarted while the backend
keeps answering (503 + Retry-After for what needs the engine). Only when it dies more often than the restart
policy allows is the backend shut down and the engine's last log lines reported. The engine is stopped on every
way out: normal return, an error, Ctrl-C (SIGINT), SIGTERM or SIGHUP, and only after the backend is done: a stop
first refuses new requests and gives running answers ``shutdown_grace`` seconds (``server.stopping``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .engines.choose import choose_engine
from .engines.lifecycle import EngineObserver, Running, running
from .errors import EdubotError, missing_extra
from .procgroup import Terminated, bind_listener, honoured

if TYPE_CHECKING:
    from pathlib import Path

    from .config import Settings
    from .server.edge.connections import ConnectionLimits
    from .server.engine.upstream import Upstream
    from .server.stopping import Stopping

WATCH_INTERVAL = 1.0
"""Seconds between checks that the engine is still alive while the backend runs."""
GRACEFUL_SHUTDOWN = 5
"""Seconds uvicorn gives what is still open to finish once the backend's own stop (``server.stopping``: the
running answers' ``shutdown_grace``) is over: requests that are not answers, connections closing. It starts only
after that stop, so uvicorn never cancels an answer first."""
LOCAL_START_TIMEOUT = 60.0
"""Seconds a backend in a thread may take to start (it builds its grounding index at start)."""


@dataclass(frozen=True)
class ServeOutcome:
    """How ``serve`` ended: ``interrupted`` (Ctrl-C), ``terminated`` (SIGTERM), ``hangup`` (SIGHUP) or
    ``backend exited``."""

    reason: str
    engine: str


class ServeObserver(EngineObserver, Protocol):
    """What ``serve`` reports while it works: the engine's lifecycle, then the backend."""

    def backend_ready(self, url: str) -> None:
        """The backend accepts requests at ``url``."""


def public_url(host: str, port: int) -> str:
    """The URL to print for a backend listening on host:port."""
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def network_urls(host: str, port: int) -> list[str]:
    """The URLs other machines (students' devices) type to reach a backend listening on host:port: this machine's
    IPv4 addresses other than loopback for a wildcard host, the host itself when it is such an address, none for
    loopback. Found without sending anything (a UDP socket's chosen source address, and the host name's)."""
    if host not in ("0.0.0.0", "::", ""):
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        return [] if loopback else [public_url(host, port)]
    found: dict[str, None] = {}
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.254.254.254", 9))  # no packet is sent: this only picks the outgoing address
        found[probe.getsockname()[0]] = None
    except OSError:
        pass
    finally:
        probe.close()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found[str(info[4][0])] = None
    except OSError:
        pass
    return [f"http://{ip}:{port}" for ip in found if not ipaddress.ip_address(ip).is_loopback]


def run_backend(
    app: Any,
    sock: socket.socket,
    *,
    on_ready: Callable[[], None],
    engine_alive: Callable[[], None] | None = None,
    limits: ConnectionLimits | None = None,
    stopping: Stopping | None = None,
    grace: float = 0.0,
) -> None:
    """Serve ``app`` with uvicorn on the bound ``sock`` until a signal (or a dead engine) stops it.

    With ``stopping`` (the app's ``Backend.stopping``), a stop first refuses new requests while the listener
    stays open (503 ``stopping``) and gives running answers ``grace`` seconds to finish, ending the rest with the
    stop's error; only then does uvicorn close the listener and the connections (a second Ctrl-C hurries it).

    ``engine_alive`` raises ``EngineError`` once the engine is gone; that error is re-raised here after the
    backend has shut down. ``limits`` (default: the settings' defaults) bound how long a client may take to send
    a request's headers and body, and how many connections one client address may hold open
    (``server.connections``).
    """
    import uvicorn

    from .server.edge.connections import ConnectionLimits, guarded_protocol

    failure: list[EdubotError] = []

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                on_ready()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if stopping is not None:
                await stopping.drain(grace, hurry=lambda: self.force_exit)
            await super().shutdown(sockets=sockets)

    config = uvicorn.Config(
        app,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        # uvicorn's httptools protocol plus read timeouts and the per-client connection cap.
        http=guarded_protocol(limits or ConnectionLimits()),
        # No WebSocket routes: an upgraded connection would leave the guarded protocol (and its count).
        ws="none",
        # X-Forwarded-For is the guard's business (trusted_proxies); uvicorn would trust it from any local peer.
        proxy_headers=False,
        # The backend writes its own line per request, with the request id (``server.request_ids``).
        log_config=_log_config(),
        access_log=False,
    )
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

    catch = threading.current_thread() is threading.main_thread() and honoured(signal.SIGHUP)
    previous = signal.signal(signal.SIGHUP, on_hangup) if catch else None
    watcher = threading.Thread(target=watch, name="engine-watch", daemon=True)
    watcher.start()
    try:
        server.run(sockets=[sock])
    finally:
        done.set()
        watcher.join()
        if catch:
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


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with the backend's own loggers (``edubot.server``: the line per request, grounding
    notices) on uvicorn's handler."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["edubot.server"] = {"handlers": ["default"], "level": "INFO"}
    return config


def _backend_factory() -> Callable[..., Any]:
    """``create_app``, or a ``MissingDependencyError`` when the serve extra (fastapi, uvicorn ...) is missing."""
    try:
        from .server.app import create_app
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("fastapi", "starlette", "uvicorn", "prometheus_client"):
            raise missing_extra(exc.name.split(".")[0], "serve") from exc
        raise
    return create_app


def _connection_limits(settings: Settings) -> ConnectionLimits:
    """The backend's read timeouts and per-client connection cap from ``settings`` (a bad ``trusted_proxies``
    entry is reported before anything starts)."""
    try:
        from .server.edge.connections import ConnectionLimits
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("uvicorn", "httptools"):
            raise missing_extra(exc.name.split(".")[0], "serve") from exc
        raise
    return ConnectionLimits.from_settings(settings)


def upstream_for(launch: Running) -> Upstream:
    """What the backend is told about a running engine: where, its key, its slots, its supervisor."""
    from .server.engine.upstream import Upstream

    engine = launch.engine
    return Upstream(
        urls=engine.urls,
        name=engine.name,
        api_key=engine.api_key,
        capacity=engine.capacity,
        health_path=engine.health_path,
        watch=launch,
    )


@contextlib.contextmanager
def backend_in_thread(settings: Settings, upstream: Upstream) -> Iterator[str]:
    """The real backend for ``upstream`` under uvicorn in a daemon thread on 127.0.0.1 (a free port), for the
    duration of a ``with`` block: yields its URL, stops it however the block ends. For commands that need the
    backend's own behaviour (grounding, sources) for a run of their own, such as ``edubot eval --local``: it
    leaves the classroom alone (no class asks for a session, nothing is recorded)."""
    import time

    import uvicorn

    create_app = _backend_factory()
    sock = bind_listener("127.0.0.1", 0, "--local")
    config = uvicorn.Config(
        create_app(settings, upstream, classroom=False),
        lifespan="on",
        log_level="warning",
        access_log=False,
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="local-backend", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + LOCAL_START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise EdubotError(
                    "the local backend failed to start", hint="rerun with EDUBOT_DEBUG=1 for details"
                )
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextlib.contextmanager
def local_backend(settings: Settings, *, parallel: int = 1, model: Path | None = None) -> Iterator[str]:
    """The embedded llama-cpp engine, or the GGUF file ``model`` (``eval --compare``), through the one engine
    lifecycle with ``parallel`` slots, behind the real backend in a thread (``backend_in_thread``: grounded on
    ``settings``' taxonomy, citing sources as ``edubot serve`` does), for one command's run: yields the backend's
    URL; both are stopped with everything they started however the ``with`` block ends, SIGTERM included.
    ``edubot chat --local`` and ``edubot eval --local`` run on it. The backend takes no key and no rate limit,
    and takes the client's temperature and max tokens (``client_sampling``: eval asks at temperature 0): it
    listens on 127.0.0.1 for this process alone."""
    engine_settings = settings.model_copy(
        update={
            "engine": "llama-cpp",
            "model": model,
            "engine_urls": [],
            "engine_port": 0,
            "parallel": parallel,
        }
    )
    backend_settings = engine_settings.model_copy(
        update={"api_key": None, "rate_limit_per_minute": 0, "host": "127.0.0.1", "client_sampling": True}
    )
    with running(engine_settings) as launch, backend_in_thread(backend_settings, upstream_for(launch)) as url:
        yield url


def serve(
    settings: Settings, observer: ServeObserver | None = None, *, show_log: bool = False
) -> ServeOutcome:
    """Start the engine ``settings`` ask for (supervised) and serve the backend on settings.host:settings.port
    until stopped.

    Returns how it ended; raises ``EdubotError`` when the engine cannot start, or dies more often than the
    restart policy allows.
    """
    create_app = _backend_factory()
    limits = _connection_limits(settings)
    # Bind first: a busy port is reported before a model spends minutes loading.
    sock = bind_listener(settings.host, settings.port, "--port")
    name = choose_engine(settings)
    try:
        with running(settings, observer, show_log=show_log, supervise=True) as launch:
            engine = launch.engine
            if engine.served_model_name:
                settings = settings.model_copy(update={"served_model_name": engine.served_model_name})
            url = public_url(settings.host, settings.port)
            app = create_app(settings, upstream_for(launch))
            run_backend(
                app,
                sock,
                on_ready=lambda: observer.backend_ready(url) if observer is not None else None,
                engine_alive=launch.check,
                limits=limits,
                stopping=app.state.backend.stopping,
                grace=settings.shutdown_grace,
            )
    except Terminated as stop:
        return ServeOutcome(stop.reason, name)
    except KeyboardInterrupt:
        return ServeOutcome("interrupted", name)
    finally:
        sock.close()
    return ServeOutcome("backend exited", name)
