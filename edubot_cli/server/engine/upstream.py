"""The engines behind the backend: pooled keep-alive connections, cached health, and a bounded queue.

Requests go to the least busy healthy engine (ties broken round robin). At most ``capacity`` requests are in the
engines at once (the slots they were started with); up to ``max_queue`` more wait in line, first come first
served, and are told their place; beyond that the answer is 503 with Retry-After. Health is a background task:
each engine's readiness path is probed every ``health_interval`` seconds (llama-server's ``/health``, which does
not queue behind generations; ``/v1/models`` for engines edubot did not start), and what routes report is that
cached state, never a probe per call. An engine edubot supervises also reports its process state, so a dead
engine shows as ``restarting`` at once. A request moves to another engine only when the connection could not be
made at all: once the engine may have received it, retrying could run the generation twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...urls import engine_url
from ..api_errors import ApiError
from ..paths import COMPLETIONS, MODELS_V1
from ..request_ids import HEADER as REQUEST_ID_HEADER
from .http1 import Client, ConnectFailed, ReadTimeout, Response, TLSFailed, UpstreamError

HEALTH_TIMEOUT = 2.0
RESTART_RETRY_AFTER = "5"
RESTARTING = "restarting"
FAILED = "failed"


class Watch(Protocol):
    """The supervisor's view of an engine edubot started (``engines.lifecycle.Running``)."""

    def status(self) -> str:
        """``ok``, ``restarting`` or ``failed``."""
        ...

    @property
    def last_exit(self) -> str:
        """How the engine last ended (``was killed by SIGKILL``), empty if it never did."""
        ...

    @property
    def restarts(self) -> int:
        """Restarts so far; each one ended with the engine ready again."""
        ...


@dataclass(frozen=True)
class Upstream:
    """What the backend is told about the engine(s) it fronts."""

    urls: list[str]
    """OpenAI-compatible bases, with or without ``/v1``."""
    name: str = "external"
    """Engine name for ``/`` and ``/health``."""
    api_key: str | None = None
    """Key the engines require (the per-run key of an engine edubot started)."""
    capacity: int | None = None
    """Requests each engine works on at once (None: no limit, no queue)."""
    health_path: str = MODELS_V1
    """Path probed for readiness."""
    watch: Watch | None = None
    """The supervisor of a started engine."""


@dataclass
class UpstreamEngine:
    """One engine behind the pool: its connections and what is known of it."""

    index: int
    url: str
    client: Client
    healthy: bool = True
    in_flight: int = 0
    model: str | None = None  # the first model id the engine announces
    models: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How answers name this engine: never its internal URL."""
        return f"engine {self.index + 1}"

    def describe(self, status: str) -> dict[str, Any]:
        return {"name": self.label, "status": status, "in_flight": self.in_flight, "model": self.model}


class Admission:
    """At most ``capacity`` requests in the engines, at most ``max_queue`` waiting, first in first out."""

    def __init__(self, capacity: int | None, max_queue: int) -> None:
        self.capacity = capacity
        self.max_queue = max_queue
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._moved: asyncio.Future[None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def full(self) -> bool:
        """All slots taken (``busy``)."""
        return self.capacity is not None and self.active >= self.capacity

    async def acquire(self, report: Callable[[int], Awaitable[None]] | None = None) -> None:
        """Take a slot, waiting in line if none is free; ``report(ahead)`` is awaited whenever the number of
        requests ahead in line changes. Raises ``ApiError`` 503 when the line is full."""
        if self.capacity is None or (self.active < self.capacity and not self._waiters):
            self.active += 1
            return
        if len(self._waiters) >= self.max_queue:
            raise ApiError(
                503,
                f"the engine is busy: {self.active} requests in progress and {len(self._waiters)} waiting "
                "(max_queue); try again shortly",
                headers={"Retry-After": "2"},
            )
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        self._waiters.append(granted)
        try:
            shown = -1
            while not granted.done():
                ahead = self._waiters.index(granted)
                if report is not None and ahead != shown:
                    shown = ahead
                    await report(ahead)
                if granted.done():
                    break
                if self._moved is None or self._moved.done():
                    self._moved = loop.create_future()
                await asyncio.wait([granted, self._moved], return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            if granted in self._waiters:
                self._waiters.remove(granted)
                self._notify()
            elif granted.done() and not granted.cancelled():
                self.release()  # the slot was handed over just as this request left
            raise

    def release(self) -> None:
        """Give the slot to the first in line, or free it."""
        while self._waiters:
            granted = self._waiters.popleft()
            if not granted.done():
                granted.set_result(None)
                self._notify()
                return
        self.active -= 1

    def _notify(self) -> None:
        if self._moved is not None and not self._moved.done():
            self._moved.set_result(None)

    def describe(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "active": self.active, "waiting": self.waiting}


class EnginePool:
    """Routes requests over the engines of an ``Upstream`` (see the module docstring)."""

    def __init__(
        self, upstream: Upstream, timeout: float, max_queue: int = 0, health_interval: float = 5.0
    ) -> None:
        if not upstream.urls:
            raise ValueError("at least one engine URL is needed")
        self.upstream = upstream
        self.timeout = timeout
        self.health_interval = health_interval
        self.engines = []
        headers = {"Authorization": f"Bearer {upstream.api_key}"} if upstream.api_key else {}
        for index, given in enumerate(upstream.urls):
            url = engine_url(given)
            client = Client(url, timeout=timeout, connect_timeout=min(timeout, 10.0), headers=headers)
            self.engines.append(UpstreamEngine(index, url.base, client))
        capacity = None if upstream.capacity is None else upstream.capacity * len(self.engines)
        self.admission = Admission(capacity, max_queue)
        self._turn = 0
        self._health_task: asyncio.Task[None] | None = None
        self._restarts_seen = 0
        self.warm_body: bytes | None = None
        """A request whose prompt every conversation starts with (the system prompt), sent once to every slot
        at start and after a restart, while no real request is there; see ``warm``."""
        self._warm_due = False
        self._warm_task: asyncio.Task[int] | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._health_task is None:
            await self.check_all()
            self._warm_due = True
            self._start_warming()
            self._health_task = asyncio.create_task(self._health_loop(), name="edubot-engine-health")

    async def close(self) -> None:
        tasks: list[asyncio.Task[Any]] = [t for t in (self._health_task, self._warm_task) if t is not None]
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._health_task = None
        self._warm_task = None
        for engine in self.engines:
            await engine.client.aclose()

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            await self.check_all()
            self.watched()  # notices a finished restart (and makes the warm-up due again)
            self._start_warming()
            for engine in self.engines:
                engine.client.prune()  # engines drop idle keep-alive connections; free their descriptors

    def _start_warming(self) -> None:
        """Start the warm-up when it is due and no real request is in the engines or waiting (else it is tried
        again at the next health check)."""
        idle = self.admission.active == 0 and self.admission.waiting == 0
        if self._warm_due and idle and (self._warm_task is None or self._warm_task.done()):
            self._warm_due = False
            self._warm_task = asyncio.create_task(self.warm(), name="edubot-engine-warm")

    def _stop_warming(self) -> None:
        """Drop a warm-up in progress: a real request goes first. Its connections close, which tells the engine
        to drop that work, and the real requests put the system prompt in the slots' caches themselves."""
        if self._warm_task is not None and not self._warm_task.done():
            self._warm_task.cancel()

    async def warm(self) -> int:
        """Send ``warm_body`` once per slot of every engine, all at once, and return how many were answered.

        Each slot of llama-server keeps the prompt it last processed and reuses its longest common prefix; the
        system prompt starts every conversation, so with it in every slot's cache a student's question costs only
        its own tokens, instead of 32 students each recomputing the same prefix. Failures are ignored: the warm-up
        only saves time. It runs only while no real request is there, and the first one to come cancels it
        (``open``): in the engine's slots a real request would wait behind it."""
        if self.warm_body is None or self.upstream.capacity is None:
            return 0
        body = self.warm_body

        async def one(engine: UpstreamEngine) -> bool:
            try:
                response = await engine.client.send("POST", COMPLETIONS, body, timeout=self.timeout)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            except UpstreamError:
                return False
            return response.status_code == 200

        sent = [
            one(engine) for engine in self.engines if engine.healthy for _ in range(self.upstream.capacity)
        ]
        return sum(await asyncio.gather(*sent))

    async def _get_json(self, engine: UpstreamEngine, path: str) -> Any:
        response = await engine.client.send("GET", path, timeout=min(HEALTH_TIMEOUT, self.timeout))
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        if response.status_code != 200:
            raise ValueError(f"answered {response.status_code}")
        return json.loads(body) if body else None

    async def check(self, engine: UpstreamEngine) -> bool:
        """Probe one engine's readiness now (and learn its models when they are not known yet)."""
        try:
            found = await self._get_json(engine, self.upstream.health_path)
            if self.upstream.health_path != MODELS_V1 and not engine.models:
                found = await self._get_json(engine, MODELS_V1)
            if isinstance(found, dict) and isinstance(found.get("data"), list):
                ids = [str(m["id"]) for m in found["data"] if isinstance(m, dict) and "id" in m]
                engine.models = ids
                engine.model = ids[0] if ids else engine.model
        except (UpstreamError, ValueError, TypeError, AttributeError):
            engine.healthy = False
        else:
            engine.healthy = True
        return engine.healthy

    async def check_all(self) -> list[bool]:
        return list(await asyncio.gather(*(self.check(e) for e in self.engines)))

    # ---- state --------------------------------------------------------------------------------------------
    def watched(self) -> str | None:
        """The supervisor's status when it is not ``ok`` (``restarting``/``failed``), else None."""
        watch = self.upstream.watch
        if watch is None:
            return None
        status = watch.status()
        if status in (RESTARTING, FAILED):
            return status
        if watch.restarts != self._restarts_seen:
            # The supervisor saw the restarted engine answer its readiness URL: what the probes found while
            # it was down is out of date.
            self._restarts_seen = watch.restarts
            self._warm_due = True  # a new engine process starts with empty caches
            for engine in self.engines:
                engine.healthy = True
        return None

    def engine_status(self, engine: UpstreamEngine) -> str:
        return self.watched() or ("ok" if engine.healthy else "unreachable")

    def status(self) -> str:
        """``ok``, ``busy`` (every slot taken), ``restarting``, ``degraded`` (some engines down) or
        ``unreachable``."""
        watched = self.watched()
        if watched == RESTARTING:
            return RESTARTING
        if watched == FAILED:
            return "unreachable"
        up = sum(e.healthy for e in self.engines)
        if up == 0:
            return "unreachable"
        if up < len(self.engines):
            return "degraded"
        return "busy" if self.admission.full else "ok"

    def describe(self) -> list[dict[str, Any]]:
        return [e.describe(self.engine_status(e)) for e in self.engines]

    def default_model(self, fallback: str) -> str:
        for engine in self.engines:
            if engine.healthy and engine.model:
                return engine.model
        return fallback

    def pick(self, exclude: set[int]) -> UpstreamEngine | None:
        """The least busy engine not in ``exclude``, healthy ones first; round robin among equals."""
        candidates = [e for e in self.engines if e.index not in exclude]
        if not candidates:
            return None
        healthy = [e for e in candidates if e.healthy] or candidates
        self._turn += 1
        start = self._turn % len(healthy)
        rotated = healthy[start:] + healthy[:start]
        return min(rotated, key=lambda e: e.in_flight)

    async def explain(self, engine: UpstreamEngine, exc: UpstreamError) -> ApiError:
        """The API error for a failure while talking to ``engine``: a restart in progress is a 503 that says so
        (the supervisor may notice the death a moment after the connection broke, so it is asked briefly)."""
        if self.upstream.watch is not None and not isinstance(exc, ReadTimeout):
            for _ in range(10):
                if self.watched() is not None:
                    return self.restarting_error()
                await asyncio.sleep(0.05)
        if isinstance(exc, ReadTimeout):
            return ApiError(504, f"{engine.label} did not answer within {self.timeout:g} s")
        if isinstance(exc, TLSFailed):
            return ApiError(
                502, f"{engine.label} failed the TLS handshake ({exc}); check its certificate (SSL_CERT_FILE)"
            )
        if isinstance(exc, ConnectFailed):
            return ApiError(
                503, f"{engine.label} cannot be reached; is it running?", headers={"Retry-After": "5"}
            )
        return ApiError(502, f"{engine.label} broke off the answer: {exc}")

    def restarting_error(self) -> ApiError:
        watch = self.upstream.watch
        cause = f" after it {watch.last_exit}" if watch is not None and watch.last_exit else ""
        if self.watched() == FAILED:
            return ApiError(503, f"the engine stopped{cause} and edubot gave up restarting it")
        return ApiError(
            503,
            f"the engine is restarting{cause}; try again in a few seconds",
            headers={"Retry-After": RESTART_RETRY_AFTER},
        )

    # ---- requests -----------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def open(
        self,
        method: str,
        path: str,
        content: bytes | None = None,
        timeout: float | None = None,
        *,
        queued: Callable[[int], Awaitable[None]] | None = None,
        sent: Callable[[], Awaitable[None]] | None = None,
        admit: bool = True,
        request_id: str | None = None,
    ) -> AsyncIterator[tuple[UpstreamEngine, Response]]:
        """Take a slot (waiting in line, ``queued(ahead)`` told of the place), send the request to an engine and
        yield it with the response once its headers arrived; ``sent()`` is awaited once the request is written to
        an engine, before it answers (llama-server sends a stream's headers only with its first token); again if
        a kept-alive connection turned out closed and the request is sent on a fresh one.
        ``admit=False`` skips the line: for requests that generate nothing (``/v1/models``), which engines answer
        beside their generations. ``request_id`` goes to the engine as ``X-Request-ID``.

        Raises ``ApiError``: 503 when the line is full, the engine restarts or none accepts a connection; 504 when
        the engine does not answer in time. The caller reads the body inside the ``async with``; leaving it
        early closes the connection, which tells the engine to stop.
        """
        if self.watched() is not None:
            raise self.restarting_error()
        if admit:
            self._stop_warming()
            try:
                async with asyncio.timeout(self.timeout):
                    await self.admission.acquire(queued)
            except TimeoutError as exc:
                raise ApiError(
                    503, f"no engine slot became free within {self.timeout:g} s", headers={"Retry-After": "5"}
                ) from exc
        headers = {REQUEST_ID_HEADER: request_id} if request_id is not None else None
        try:
            tried: set[int] = set()
            while True:
                engine = self.pick(tried)
                if engine is None:
                    raise await self.explain(self.engines[0], ConnectFailed("no engine accepted"))
                tried.add(engine.index)
                engine.in_flight += 1
                try:
                    try:
                        response = await engine.client.send(method, path, content, timeout, headers, sent)
                    except ConnectFailed:
                        engine.healthy = False
                        if self.upstream.watch is not None or len(tried) == len(self.engines):
                            raise
                        continue
                    except UpstreamError as exc:
                        raise await self.explain(engine, exc) from exc
                    try:
                        yield engine, response
                    finally:
                        await response.aclose()
                    return
                except ConnectFailed as exc:
                    if len(self.engines) > 1:
                        raise ApiError(
                            503,
                            f"none of the {len(self.engines)} engines can be reached; are they running?",
                            headers={"Retry-After": "5"},
                        ) from exc
                    raise await self.explain(engine, exc) from exc
                finally:
                    engine.in_flight -= 1
        finally:
            if admit:
                self.admission.release()
