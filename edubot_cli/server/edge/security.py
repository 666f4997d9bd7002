"""Request guards as one pure ASGI middleware: Host allow-list, CORS allow-list, security headers, body size
limit, JSON-only bodies, API key (with a lockout after repeated wrong keys) and a per-client rate limit.

A single pass-through layer (rather than one ``BaseHTTPMiddleware`` per concern) keeps the proxy overhead small:
the hot path is a few dictionary look-ups and no extra task.

In the order they apply to a request:

* **Host** (``allowed_hosts``): on a loopback bind, the ``Host`` header must name this server (``localhost``,
  ``127.0.0.1``, ``[::1]`` or the bound address, with the bound port or none) or an ``allowed_hosts`` entry, so
  that a web page whose name was re-pointed at 127.0.0.1 (DNS rebinding) cannot talk to the backend: 400
  ``host_not_allowed``. On other binds the same check runs once ``allowed_hosts`` is set.
* **CORS** (``cors_origins``): preflights from other origins are answered only for allowed origins.
* **Body size** (``max_body_bytes``): 413, whether the length is declared or the body just keeps coming.
* **JSON only**: a POST to ``/chat`` or ``/v1/*`` (and one with a body to ``/class/*`` or ``/teacher/*``) must
  say ``Content-Type: application/json`` (a charset of UTF-8 may follow), else 415. A cross-origin page can send a
  ``text/plain`` or form POST without a CORS preflight; this keeps such requests away from the engine.
* **API key** (``api_key``): ``/chat``, ``/v1/*`` and ``/stats`` need ``Authorization: Bearer <key>``, compared in
  constant time. A client that sent ``auth_failures_per_minute`` wrong keys within a minute is locked out of
  those paths (429 with ``Retry-After``, even with the right key, so that the lockout reveals nothing) until the
  oldest of those failures is a minute old. Only requests that carry an ``Authorization`` header count: a
  cross-origin page cannot add one without a preflight, so it cannot lock a user out.
* **Rate limit** (``rate_limit_per_minute``): a token bucket per client on ``/chat`` and ``/v1/*``.
* **Sessions** (the classroom, ``sessions``): who is asking from the student's and the teacher's cookies, and what
  each may reach: with a class defined, ``/chat`` needs a student's session unless the request holds the API key
  (``sessions`` has the rules). ``/class/*`` and ``/teacher/*`` POST bodies must be JSON too.

"Client" is the TCP peer address, or, when the peer is one of ``trusted_proxies``, the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy. Every answer, errors included, carries
``Content-Security-Policy``, ``X-Content-Type-Options``, ``Referrer-Policy`` and ``X-Frame-Options`` unless the
route set its own (``/docs`` sets its own policy).

The parts with state or rules of their own live beside it: ``host_check`` (the Host allow-list),
``client_address`` (who the client is), ``throttles`` (rate limit and wrong-key lockout) and ``sessions`` (the
classroom's cookies and rules).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import ConfigError
from ..api_errors import ApiError, send_error
from ..paths import CHAT, CLASS, STATS, TEACHER, V1
from ..request_ids import KEY_HOLDER, trace_of
from .client_address import ClientResolver, Network, parse_networks, peer_address
from .host_check import HostCheck
from .sessions import SESSION_PREFIXES, SessionGuard
from .throttles import AuthFailures, RateLimiter

if TYPE_CHECKING:
    from ...config import Settings
    from ..classroom import Classroom

PROTECTED_PREFIXES = (CHAT, V1, STATS)  # need the API key when one is set
LIMITED_PREFIXES = (CHAT, V1)  # count against the per-client rate limit; their POST bodies must be JSON
JSON_PREFIXES = (CHAT, V1, CLASS, TEACHER)  # POST bodies must be JSON
BODY_METHODS = ("POST", "PUT", "PATCH")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "authorization, content-type, x-request-id"


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The policy of every answer: only this origin, no plugins, no forms, no framing; ``script_hashes``
    (``sha256-<base64>``) allow inline scripts with those hashes (/docs has one)."""
    scripts = " ".join(["'self'", *(f"'{h}'" for h in script_hashes)])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


# The chat page's policy: the same as the <meta> tag of index.html, plus frame-ancestors, which only a header can
# set.
PAGE_CSP = content_security_policy()

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", PAGE_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def is_json(content_type: str | None) -> bool:
    """``application/json``, optionally with ``charset=utf-8``; anything else is refused with 415."""
    if content_type is None:
        return False
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "application/json":
        return False
    for param in params.split(";"):
        if not param.strip():
            continue
        name, _, value = param.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def guard_options(settings: Settings) -> dict[str, Any]:
    """``GuardMiddleware``'s keyword arguments from ``settings``; a ``ConfigError`` names a bad entry."""
    try:
        trusted = parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(
            f"trusted_proxies: {exc}", hint="give IP addresses or CIDR networks, e.g. 10.0.0.0/8"
        ) from exc
    try:
        hosts = HostCheck(settings.host, settings.allowed_hosts)
    except ValueError as exc:
        raise ConfigError(
            f"allowed_hosts: {exc}", hint="give host names as browsers send them, e.g. edubot.school.example"
        ) from exc
    return {
        "api_key": settings.api_key,
        "cors_origins": list(settings.cors_origins),
        "rate_limit_per_minute": settings.rate_limit_per_minute,
        "max_body_bytes": settings.max_body_bytes,
        "trusted_proxies": trusted,
        "auth_failures_per_minute": settings.auth_failures_per_minute,
        "hosts": hosts,
    }


class BodyTooLarge(HTTPException):
    """Raised while the body is being read; an HTTPException so that the framework answers 413, not 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes (max_body_bytes)")


class GuardMiddleware:
    """Host check, CORS, security headers, body limit, JSON content type, API key and rate limit for every HTTP
    request (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        cors_origins: list[str],
        rate_limit_per_minute: int,
        max_body_bytes: int,
        trusted_proxies: tuple[Network, ...] = (),
        auth_failures_per_minute: int = 5,
        hosts: HostCheck | None = None,
        on_reject: Callable[[int], None] | None = None,
        classroom: Classroom | None = None,
    ) -> None:
        self.app = app
        self.api_key = hashlib.sha256(api_key.encode()).digest() if api_key else None
        self.any_origin = "*" in cors_origins
        self.origins = {o.rstrip("/") for o in cors_origins if o != "*"}
        self.limiter = RateLimiter(rate_limit_per_minute) if rate_limit_per_minute > 0 else None
        self.auth_failures = AuthFailures(auth_failures_per_minute)
        self.clients = ClientResolver(trusted_proxies)
        self.hosts = hosts or HostCheck("0.0.0.0", [])
        self.max_body = max_body_bytes
        self.on_reject = on_reject
        self.sessions = (
            SessionGuard(classroom, self._missing_key if self.api_key is not None else None)
            if classroom is not None
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        hosts = sum(1 for name, _ in scope["headers"] if name == b"host")
        if hosts > 1:  # which one would count? (RFC 9112: answer 400)
            await self._reject(
                _secured(send, ()), ApiError(400, f"the request has {hosts} Host headers; send one")
            )
            return
        if self.hosts.enforced:
            server = scope.get("server")
            host = headers.get("host")
            if not self.hosts.allows(host, server[1] if server else None):
                shown = "(none)" if host is None else repr(host[:100])
                await self._reject(
                    _secured(send, ()),
                    ApiError(
                        400,
                        f"Host header {shown} is not allowed: use this server's address or add the name "
                        "to allowed_hosts",
                        code="host_not_allowed",
                    ),
                )
                return
        origin = headers.get("origin")
        cors_origin = None
        if origin is not None and not _same_origin(origin, scope, headers):
            if self.any_origin or origin.rstrip("/") in self.origins:
                cors_origin = origin
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await self._preflight(_secured(send, ()), cors_origin, origin)
                return
        send = _secured(send, _cors_headers(cors_origin) if cors_origin is not None else ())
        try:
            limit_later = self._check(scope, headers, receive)
            if self.sessions is not None and _matches(scope["path"], SESSION_PREFIXES):
                trace = trace_of(scope)
                trace.https = self._https(scope, receive, headers)
                trace.client = self._client(scope, receive, headers)
                await self.sessions.identify(scope, headers.get("cookie"))
                if limit_later:
                    self._limit(trace.client)
        except ApiError as exc:
            await self._reject(send, exc)
            return
        if scope["method"] in BODY_METHODS:
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
                await self._reject(send, self._too_large())
            return
        await self.app(scope, receive, send)

    async def _reject(self, send: Send, error: ApiError) -> None:
        if self.on_reject:
            self.on_reject(error.status)
        await send_error(send, error)

    def _check(self, scope: Scope, headers: dict[str, str], receive: Receive) -> bool:
        """Every guard but the sessions; True when the API key's check (and so the rate limit, which comes after
        it) is left to the session rules: a /chat request without a key may hold a session instead."""
        path = scope["path"]
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise self._too_large()
        limited = _matches(path, LIMITED_PREFIXES)
        # The classroom's POSTs without a body (leave, logout) need no type: only a body can smuggle anything.
        json_only = limited or (_matches(path, JSON_PREFIXES) and _has_body(headers))
        if json_only and scope["method"] in BODY_METHODS and not is_json(headers.get("content-type")):
            got = headers.get("content-type")
            raise ApiError(
                415,
                "send the request body as JSON with `Content-Type: application/json`"
                + (f" (got {got[:100]!r})" if got is not None else " (no Content-Type sent)"),
            )
        client: str | None = None
        if self.api_key is not None and _matches(path, PROTECTED_PREFIXES):
            client = self._client(scope, receive, headers)
            wait = self.auth_failures.locked(client)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                raise ApiError(
                    429,
                    f"too many wrong API keys from your address ({self.auth_failures.limit} per minute, "
                    f"auth_failures_per_minute); retry in {seconds} s",
                    code="too_many_auth_failures",
                    headers={"Retry-After": str(seconds)},
                )
            auth = headers.get("authorization")
            if auth is None and path == CHAT and self.sessions is not None:
                return True  # a student's or the teacher's session may do instead: the session rules decide
            if auth is None or not self._key_matches(auth):
                if auth is not None:
                    self.auth_failures.fail(client)
                raise self._missing_key()
            trace_of(scope).who = KEY_HOLDER
        if limited and self.limiter is not None:
            self._limit(client or self._client(scope, receive, headers))
        return False

    def _limit(self, client: str) -> None:
        """The per-client rate limit of /chat and /v1/*: 429 when the client's bucket is empty."""
        if self.limiter is not None:
            wait = self.limiter.acquire(client)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                raise ApiError(
                    429,
                    f"rate limit of {int(self.limiter.capacity)} requests per minute reached; retry in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )

    @staticmethod
    def _missing_key() -> ApiError:
        return ApiError(
            401,
            "missing or wrong API key: send `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def _https(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> bool:
        """Whether the request came over https: its own scheme, or a trusted proxy's ``X-Forwarded-Proto`` (any
        hop that says https: a forged one only makes a cookie stricter)."""
        if scope.get("scheme") == "https":
            return True
        if not self.clients.trusted or "x-forwarded-proto" not in headers:
            return False
        if not self.clients.trusts(peer_address(scope, receive)):
            return False
        values = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-forwarded-proto"]
        return any(p.strip().lower() == "https" for value in values for p in value.split(","))

    def _key_matches(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        # Digests of equal length: the comparison takes the same time whatever the key's length and content.
        digest = hashlib.sha256(token.strip().encode("latin-1")).digest()
        return scheme.lower() == "bearer" and hmac.compare_digest(digest, self.api_key or b"")

    def _client(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> str:
        peer = peer_address(scope, receive)
        forwarded: list[str] = []
        if self.clients.trusted and "x-forwarded-for" in headers:
            forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"x-forwarded-for"]
        return self.clients.client(peer, forwarded)

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


def _has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0").strip() not in ("0", "") or "transfer-encoding" in headers


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _same_origin(origin: str, scope: Scope, headers: dict[str, str]) -> bool:
    host = headers.get("host")
    return host is not None and origin.rstrip("/") == f"{scope.get('scheme', 'http')}://{host}"


def _cors_headers(origin: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-expose-headers", b"Retry-After, X-Request-ID"),
        (b"vary", b"Origin"),
    )


def _secured(send: Send, extra: tuple[tuple[bytes, bytes], ...]) -> Send:
    """``send`` adding the security headers the answer does not set itself, and ``extra`` (CORS) headers."""

    async def secured_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            headers = list(message.get("headers", []))
            present = {bytes(name).lower() for name, _ in headers}
            headers += [h for h in SECURITY_HEADERS if h[0] not in present]
            headers += extra
            message["headers"] = headers
        await send(message)

    return secured_send
