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
* **JSON only**: a POST to ``/chat`` or ``/v1/*`` must say ``Content-Type: application/json`` (a charset of
  UTF-8 may follow), else 415. A cross-origin page can send a ``text/plain`` or form POST without a CORS
  preflight; this keeps such requests away from the engine.
* **API key** (``api_key``): ``/chat``, ``/v1/*`` and ``/stats`` need ``Authorization: Bearer <key>``, compared in
  constant time. A client that sent ``auth_failures_per_minute`` wrong keys within a minute is locked out of
  those paths (429 with ``Retry-After``, even with the right key, so that the lockout reveals nothing) until the
  oldest of those failures is a minute old. Only requests that carry an ``Authorization`` header count: a
  cross-origin page cannot add one without a preflight, so it cannot lock a user out.
* **Rate limit** (``rate_limit_per_minute``): a token bucket per client on ``/chat`` and ``/v1/*``.

"Client" is the TCP peer address, or, when the peer is one of ``trusted_proxies``, the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy. Every answer, errors included, carries
``Content-Security-Policy``, ``X-Content-Type-Options``, ``Referrer-Policy`` and ``X-Frame-Options`` unless the
route set its own (``/docs`` sets its own policy).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ConfigError
from .api_errors import ApiError, send_error

if TYPE_CHECKING:
    from ..config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

PROTECTED_PREFIXES = ("/chat", "/v1", "/stats")  # need the API key when one is set
LIMITED_PREFIXES = ("/chat", "/v1")  # count against the per-client rate limit; their POST bodies must be JSON
BODY_METHODS = ("POST", "PUT", "PATCH")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "authorization, content-type"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
AUTH_WINDOW = 60.0  # seconds over which auth_failures_per_minute counts


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


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests, refilled continuously. At most ``MAX_CLIENTS`` buckets
    are kept: full ones are forgotten first, then the least recently seen."""

    MAX_CLIENTS = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, client: str) -> float:
        """Take one request for ``client``: 0 when allowed, else the seconds to wait."""
        now = self.clock()
        # Popped and put back: the dict stays ordered from the least to the most recently seen client.
        tokens, last = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.MAX_CLIENTS:
            self._forget_idle(now)
        return wait

    def _forget_idle(self, now: float) -> None:
        # A client whose bucket has refilled is indistinguishable from a new one.
        full = [c for c, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.capacity]
        for client in full:
            del self._buckets[client]
        while len(self._buckets) > self.MAX_CLIENTS:  # still too many: the least recently seen go
            del self._buckets[next(iter(self._buckets))]


class AuthFailures:
    """Wrong API keys per client in a sliding window: after ``limit`` of them within ``window`` seconds the client
    is locked out until the oldest of those is ``window`` seconds old. At most ``MAX_CLIENTS`` clients are
    tracked: those with no failure left in the window are forgotten first, then the least recently failing."""

    MAX_CLIENTS = 10_000

    def __init__(
        self, limit: int, window: float = AUTH_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def locked(self, client: str) -> float:
        """Seconds until ``client`` may try again: 0 when it is not locked out."""
        failures = self._failures.get(client)
        if failures is None or len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window - self.clock())

    def fail(self, client: str) -> None:
        """Count one wrong key for ``client``."""
        now = self.clock()
        failures = self._failures.pop(client, None) or deque(maxlen=self.limit)
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        failures.append(now)
        self._failures[client] = failures  # (re)inserted last: the dict stays in least-recent-failure order
        if len(self._failures) > self.MAX_CLIENTS:
            expired = [c for c, f in self._failures.items() if f[-1] + self.window <= now]
            for gone in expired:
                del self._failures[gone]
            while len(self._failures) > self.MAX_CLIENTS:
                del self._failures[next(iter(self._failures))]


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks as networks; raises ``ValueError`` naming a value that is neither."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {value!r}") from exc
    return tuple(networks)


def _address(text: str) -> Address | None:
    """An address as a proxy or the socket names it (``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]:80``), an
    IPv4-mapped IPv6 address as IPv4; None when it is none of those."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


class ClientResolver:
    """Who a request comes from: the TCP peer, or behind ``trusted`` proxies the right-most ``X-Forwarded-For``
    address that is not itself a trusted proxy (the left part of that header is whatever the client wrote)."""

    MAX_CACHED = 10_000

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted
        self._trust: dict[Address, bool] = {}

    def is_trusted(self, address: Address) -> bool:
        found = self._trust.get(address)
        if found is None:
            found = any(address in net for net in self.trusted)
            if len(self._trust) >= self.MAX_CACHED:
                self._trust.clear()
            self._trust[address] = found
        return found

    def client(self, peer: str | None, forwarded_for: list[str]) -> str:
        """The client's address for a request from ``peer`` with these ``X-Forwarded-For`` header values."""
        if peer is None:
            return "unknown"
        address = _address(peer)
        if address is None:
            return peer  # not an IP peer (a Unix socket): nothing to trust
        if not self.trusted or not forwarded_for or not self.is_trusted(address):
            return str(address)
        hops = [hop for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            hop_address = _address(hop)
            if hop_address is None:  # not a proxy's entry: the last hop that could be checked is the client
                return str(address)
            address = hop_address
            if not self.is_trusted(address):
                return str(address)
        return str(address)  # a chain of trusted proxies only: the left-most


def peer_address(scope: Scope, receive: Receive) -> str | None:
    """The TCP peer's address.

    uvicorn's ``proxy_headers`` (on unless turned off) replaces ``scope["client"]`` with an ``X-Forwarded-For``
    address whenever the peer is 127.0.0.1 or ::1 (``--forwarded-allow-ips``), so any local program, or a reverse
    proxy on the same machine that passes the header on, could choose its address. The connection's own peer
    address comes from uvicorn's transport when it can be reached; ``scope["client"]`` otherwise.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None:
        peer = transport.get_extra_info("peername")
        if isinstance(peer, (tuple, list)) and peer and isinstance(peer[0], str):
            return peer[0]
    client = scope.get("client")
    return str(client[0]) if client else None


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``name[:port]`` or ``[v6]:port`` as (lower-case name, port or None); None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        name, _, port_text = value.partition(":")
    else:
        name, port_text = value, None
    if not name or any(c in name for c in " /\\@?#"):
        return None
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` accepts connections from this machine only."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostCheck:
    """The ``Host`` header allow-list (see the module docstring): ``enforced`` on a loopback bind, or elsewhere
    once ``allowed_hosts`` is set. Entries are ``name`` (any port), ``name:port``, ``*.domain`` (its subdomains)
    or ``*`` (no check)."""

    def __init__(self, bind_host: str, allowed_hosts: Iterable[str]) -> None:
        entries = [e.strip().lower() for e in allowed_hosts]
        self.enforced = (is_loopback(bind_host) or bool(entries)) and "*" not in entries
        self.local = set(LOOPBACK_NAMES)
        bound = bind_host.strip().lower()
        if bound and bound not in ("0.0.0.0", "::", "[::]"):
            self.local.add(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
        self.any_port: set[str] = set()
        self.with_port: set[tuple[str, int]] = set()
        self.suffixes: list[str] = []
        for entry in entries:
            if entry == "*":
                continue
            if entry.startswith("*."):
                parsed = _split_host(entry[2:])
                if parsed is None or parsed[1] is not None:
                    raise ValueError(f"not a host name pattern: {entry!r}")
                self.suffixes.append("." + parsed[0])
                continue
            parsed = _split_host(entry)
            if parsed is None:
                raise ValueError(f"not a host name, host:port or *.domain: {entry!r}")
            name, port = parsed
            if port is None:
                self.any_port.add(name)
            else:
                self.with_port.add((name, port))

    def allows(self, host: str | None, port: int | None) -> bool:
        """Whether a request with this ``Host`` header (None: none sent) that arrived on ``port`` is accepted."""
        if not self.enforced:
            return True
        parsed = _split_host(host) if host is not None else None
        if parsed is None:
            return False
        name, given = parsed
        if name in self.local and (given is None or port is None or given == port):
            return True
        if name in self.any_port or (given is not None and (name, given) in self.with_port):
            return True
        return any(name.endswith(suffix) for suffix in self.suffixes)


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
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
            self._check(scope, headers, receive)
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

    def _check(self, scope: Scope, headers: dict[str, str], receive: Receive) -> None:
        path = scope["path"]
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise self._too_large()
        limited = _matches(path, LIMITED_PREFIXES)
        if limited and scope["method"] in BODY_METHODS and not is_json(headers.get("content-type")):
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
            if auth is None or not self._key_matches(auth):
                if auth is not None:
                    self.auth_failures.fail(client)
                raise ApiError(
                    401,
                    "missing or wrong API key: send `Authorization: Bearer <key>`",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        if self.limiter is not None and limited:
            wait = self.limiter.acquire(client or self._client(scope, receive, headers))
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                raise ApiError(
                    429,
                    f"rate limit of {int(self.limiter.capacity)} requests per minute reached; retry in {seconds} s",
                    headers={"Retry-After": str(seconds)},
                )

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


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _same_origin(origin: str, scope: Scope, headers: dict[str, str]) -> bool:
    host = headers.get("host")
    return host is not None and origin.rstrip("/") == f"{scope.get('scheme', 'http')}://{host}"


def _cors_headers(origin: str) -> tuple[tuple[bytes, bytes], ...]:
    return (
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-expose-headers", b"Retry-After"),
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
