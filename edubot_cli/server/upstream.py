"""The engines behind the backend: pooled keep-alive connections to one or several OpenAI-compatible URLs.

Requests go to the least busy healthy engine (ties broken round robin). A background task checks every engine's
``GET /v1/models`` (every engine has it; llama-cpp has no /health), takes failing engines out and puts them back
when they answer again. A request moves to another engine only when the connection could not be made at all:
once the engine may have received it, retrying could run the generation twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .api_errors import ApiError
from .http1 import Client, ConnectFailed, ReadTimeout, Response, UpstreamError

HEALTH_PATH = "/v1/models"
HEALTH_TIMEOUT = 2.0


def normalise_url(url: str) -> str:
    """``http://h:p/``, ``http://h:p/v1`` -> ``http://h:p`` (the OpenAI base is this plus ``/v1``)."""
    url = url.strip().rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


@dataclass
class Engine:
    url: str
    client: Client
    healthy: bool = True
    in_flight: int = 0
    model: str | None = None  # the first model id the engine announces
    models: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": "ok" if self.healthy else "unreachable",
            "in_flight": self.in_flight,
            "model": self.model,
        }


class EnginePool:
    """Routes requests over ``urls`` and keeps their health up to date (see the module docstring)."""

    def __init__(self, urls: list[str], timeout: float, health_interval: float = 5.0) -> None:
        if not urls:
            raise ValueError("at least one engine URL is needed")
        self.timeout = timeout
        self.health_interval = health_interval
        self.engines = []
        for given in urls:
            url = normalise_url(given)
            self.engines.append(Engine(url, Client(url, timeout=timeout, connect_timeout=min(timeout, 10.0))))
        self._turn = 0
        self._health_task: asyncio.Task[None] | None = None

    # ---- lifecycle ----------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._health_task is None:
            self._health_task = asyncio.create_task(self._health_loop(), name="edubot-engine-health")

    async def close(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None
        for engine in self.engines:
            await engine.client.aclose()

    async def _health_loop(self) -> None:
        while True:
            await self.check_all()
            for engine in self.engines:
                engine.client.prune()  # engines drop idle keep-alive connections; free their descriptors
            await asyncio.sleep(self.health_interval)

    async def check(self, engine: Engine) -> bool:
        """Probe one engine now and record the result."""
        try:
            response = await engine.client.send("GET", HEALTH_PATH, timeout=min(HEALTH_TIMEOUT, self.timeout))
            try:
                body = await response.aread()
            finally:
                await response.aclose()
            if response.status_code != 200:
                raise ValueError(f"answered {response.status_code}")
            ids = [
                str(m["id"]) for m in json.loads(body).get("data", []) if isinstance(m, dict) and "id" in m
            ]
        except (UpstreamError, ValueError, TypeError, AttributeError):
            engine.healthy = False
        else:
            engine.healthy = True
            engine.models = ids
            engine.model = ids[0] if ids else engine.model
        return engine.healthy

    async def check_all(self) -> list[bool]:
        return list(await asyncio.gather(*(self.check(e) for e in self.engines)))

    # ---- routing ------------------------------------------------------------------------------------------
    def status(self) -> str:
        up = sum(e.healthy for e in self.engines)
        return "ok" if up == len(self.engines) else "unreachable" if up == 0 else "degraded"

    def default_model(self, fallback: str) -> str:
        for engine in self.engines:
            if engine.healthy and engine.model:
                return engine.model
        return fallback

    def pick(self, exclude: set[str]) -> Engine | None:
        """The least busy engine not in ``exclude``, healthy ones first; round robin among equals."""
        candidates = [e for e in self.engines if e.url not in exclude]
        if not candidates:
            return None
        healthy = [e for e in candidates if e.healthy] or candidates
        self._turn += 1
        start = self._turn % len(healthy)
        rotated = healthy[start:] + healthy[:start]
        return min(rotated, key=lambda e: e.in_flight)

    @contextlib.asynccontextmanager
    async def open(
        self, method: str, path: str, content: bytes | None = None, timeout: float | None = None
    ) -> AsyncIterator[tuple[Engine, Response]]:
        """Send a request to an engine and yield it with the response once its headers arrived.

        Raises ``ApiError`` 503 when no engine accepts a connection, 504 when the engine does not answer in
        time. The caller reads the body inside the ``async with``; leaving it early closes the connection,
        which tells the engine to stop.
        """
        tried: list[str] = []
        while True:
            engine = self.pick(set(tried))
            if engine is None:
                raise ApiError(
                    503,
                    f"engine unreachable at {', '.join(tried)}; is it running?",
                    headers={"Retry-After": "5"},
                )
            tried.append(engine.url)
            engine.in_flight += 1
            try:
                try:
                    response = await engine.client.send(method, path, content, timeout)
                except ConnectFailed:
                    engine.healthy = False
                    continue
                except ReadTimeout as exc:
                    wait = self.timeout if timeout is None else timeout
                    raise ApiError(504, f"engine at {engine.url} did not answer within {wait:g} s") from exc
                except UpstreamError as exc:
                    raise ApiError(502, f"engine at {engine.url} failed: {exc}") from exc
                try:
                    yield engine, response
                finally:
                    await response.aclose()
                return
            finally:
                engine.in_flight -= 1
