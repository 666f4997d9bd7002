"""Request guards as one pure ASGI middleware: CORS allow-list, body size limit, API key, per-client rate limit.

A single pass-through layer (rather than one ``BaseHTTPMiddleware`` per concern) keeps the proxy overhead small:
the hot path is a few dictionary look-ups and no extra task.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from .api_errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROTECTED_PREFIXES = ("/chat", "/v1", "/stats")  # need the API key when one is set
LIMITED_PREFIXES = ("/chat", "/v1")  # count against the per-client rate limit
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "authorization, content-type"


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled continuously."""

    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, client: str) -> float:
        """Take one request for ``client``: 0 when allowed, else the seconds to wait."""
        now = self.clock()
        tokens, last = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > self.MAX_CLIENTS:
                self._forget_idle(now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        # A client whose bucket has refilled is indistinguishable from a new one.
        full = [c for c, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.capacity]
        for client in full:
            del self._buckets[client]


class BodyTooLarge(HTTPException):
    """Raised while the body is being read; an HTTPException so that the framework answers 413, not 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes (max_body_bytes)")


class GuardMiddleware:
    """CORS, body limit, API key and rate limit for every HTTP request (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        cors_origins: list[str],
        rate_limit_per_minute: int,
        max_body_bytes: int,
        on_reject: Callable[[int], None] | None = None,
    ) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.any_origin = "*" in cors_origins
        self.origins = {o.rstrip("/") for o in cors_origins if o != "*"}
        self.limiter = RateLimiter(rate_limit_per_minute) if rate_limit_per_minute > 0 else None
        self.max_body = max_body_bytes
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        origin = headers.get("origin")
        cors_origin = None
        if origin is not None and not _same_origin(origin, scope, headers):
            if self.any_origin or origin.rstrip("/") in self.origins:
                cors_origin = origin
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await self._preflight(send, cors_origin, origin)
                return
        if cors_origin is not None:
            send = _with_cors(send, cors_origin)
        try:
            self._check(scope, headers)
        except ApiError as exc:
            if self.on_reject:
                self.on_reject(exc.status)
            await send_error(send, exc)
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            receive = self._limited(receive)
            started = False

            async def tracking_send(message: Message) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await self.app(scope, receive, tracking_send)
            except BodyTooLarge:
                if started:
                    raise
                if self.on_reject:
                    self.on_reject(413)
                await send_error(send, self._too_large())
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope, headers: dict[str, str]) -> None:
        path = scope["path"]
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise self._too_large()
        if self.api_key is not None and _matches(path, PROTECTED_PREFIXES):
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.api_key):
                raise ApiError(
                    401,
                    "missing or wrong API key: send `Authorization: Bearer <key>`",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        if self.limiter is not None and _matches(path, LIMITED_PREFIXES):
            client = scope.get("client")
            wait = self.limiter.acquire(client[0] if client else "unknown")
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                raise ApiError(
                    429,
                    f"rate limit of {int(self.limiter.capacity)} requests per minute reached; retry in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )

    def _too_large(self) -> ApiError:
        return ApiError(413, f"request body larger than {self.max_body} bytes (max_body_bytes)")

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return limited_receive

    async def _preflight(self, send: Send, allowed: str | None, origin: str) -> None:
        if allowed is None:
            await send_error(
                send,
                ApiError(
                    400, f"origin {origin} is not allowed (cors_origins)", code="cors_origin_not_allowed"
                ),
            )
            return
        headers = [
            (b"access-control-allow-origin", allowed.encode()),
            (b"access-control-allow-methods", CORS_METHODS.encode()),
            (b"access-control-allow-headers", CORS_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _same_origin(origin: str, scope: Scope, headers: dict[str, str]) -> bool:
    host = headers.get("host")
    return host is not None and origin.rstrip("/") == f"{scope.get('scheme', 'http')}://{host}"


def _with_cors(send: Send, origin: str) -> Send:
    async def cors_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [
                *message.get("headers", []),
                (b"access-control-allow-origin", origin.encode()),
                (b"access-control-expose-headers", b"Retry-After"),
                (b"vary", b"Origin"),
            ]
        await send(message)

    return cors_send


async def send_error(send: Send, error: ApiError) -> None:
    """Answer with ``error`` as JSON (used before the app or a stream has started the response)."""
    body = error.body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
