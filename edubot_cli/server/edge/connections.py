"""Connection guards of the backend's HTTP server: read timeouts for a request's headers and body, and a cap on
the connections one client address may hold open.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but never times out a client that is slow to
*send* a request: a connection that drips one header byte every few seconds, or announces a ``Content-Length`` and
never finishes the body, stays open for as long as the client likes, and a few hundred of them exhaust the
server's file descriptors and memory. ``guarded_protocol`` returns a subclass of uvicorn's httptools protocol (the
one ``http="auto"`` picks; httptools comes with the serve extra) that adds, per connection:

* a header timer, armed when the connection is made and when the first byte of a later request arrives on a
  keep-alive connection, disarmed once the request line and headers are complete. When it fires, a client that
  sent part of a request gets ``408`` (the API's error JSON) and the connection is closed; one that sent nothing
  is closed silently. An idle keep-alive connection between requests is left to uvicorn's own
  ``timeout_keep_alive``.
* a body timer, armed once the headers are complete when the body is not (no timer for requests without a body),
  disarmed when the last byte of the body arrives. When it fires before the answer started, the client gets
  ``408`` and the connection is closed; the application sees a disconnect. An answer that already started is
  finished, and the connection closed after it.
* caps on the request head: its URL (``max_url_bytes``, else ``414``), its request line and headers together
  (``max_header_bytes``, else ``431``) and its number of header fields (``max_headers``, else ``431``). The bytes
  of a head are handed to the parser only up to ``max_header_bytes``, so a huge header is never held whole; a head
  that breaks a cap before it ends is answered at once, a complete one by a small ASGI app in place of the
  application. The chunk lines and trailer fields of a chunked body count against ``max_header_bytes`` too.
* a count of the open connections per client address: beyond ``max_per_client``, a new connection gets ``429``
  with ``Retry-After`` before anything is read, and is closed. Addresses in ``exempt`` (trusted reverse proxies,
  which carry many clients on their connections) are not counted.

A connection refused for good (too many connections, a head over a cap) is half-closed after its answer and read
for up to ``LINGER`` s more, what arrives being dropped: closing a socket that still has unread data, or that
receives data later, resets the connection, and clients that are still sending their request then report the
reset instead of the answer.

Nothing runs while an answer is being produced or streamed, so an SSE answer of any length is never cut. The cost
on the hot path is a timer per connection (two per request only for requests that arrive in pieces) and a few
attribute checks per received chunk.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ...config import FIELDS
from ...errors import ConfigError
from ..api_errors import ApiError, error_payload, send_error
from .client_address import parse_networks

if TYPE_CHECKING:
    from ...config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NOTICE_INTERVAL = 60.0
"""Seconds between two log lines about the same kind of refused or timed-out connection."""
LINGER = 2.0
"""Seconds a refused connection is still read (and what arrives dropped) after its answer, so that closing it does
not reset it before the client has read the answer."""

RETRY_AFTER = 1
"""Seconds a client refused for holding too many connections is asked to wait (``Retry-After``): connections free
up as answers end."""

Refusal = tuple[int, str, str]
"""An answer to a request head that breaks a cap: HTTP status, error code, message."""


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take to send a request's headers and body, how large a request's head may be, and how
    many connections one client address may hold open (connections from an ``exempt`` network are not counted)."""

    header_timeout: float = FIELDS["header_timeout"][0]
    body_timeout: float = FIELDS["body_timeout"][0]
    max_per_client: int = FIELDS["max_connections_per_client"][0]
    max_url_bytes: int = FIELDS["max_url_bytes"][0]
    max_header_bytes: int = FIELDS["max_header_bytes"][0]
    max_headers: int = FIELDS["max_headers"][0]
    exempt: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        """The limits ``settings`` ask for; ``trusted_proxies`` are exempt from the per-client cap."""
        try:
            exempt = parse_networks(settings.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(
                f"trusted_proxies: {exc}", hint="give IP addresses or CIDR networks, e.g. 10.0.0.0/8"
            ) from exc
        return cls(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_per_client=settings.max_connections_per_client,
            max_url_bytes=settings.max_url_bytes,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            exempt=exempt,
        )


class ClientConnections:
    """Open connections per client address, with a cap. Used from the event loop's thread only."""

    def __init__(self, limit: int, exempt: tuple[Network, ...] = ()) -> None:
        self.limit = limit
        self.exempt = exempt
        self.open: dict[str, int] = {}
        self._exempted: dict[str, bool] = {}

    def acquire(self, host: str) -> bool:
        """Count one more connection from ``host``: False (nothing counted) when it already holds ``limit``."""
        count = self.open.get(host, 0)
        if count >= self.limit:
            return False
        self.open[host] = count + 1
        return True

    def release(self, host: str) -> None:
        count = self.open.get(host, 0) - 1
        if count > 0:
            self.open[host] = count
        else:
            self.open.pop(host, None)

    def exempted(self, host: str) -> bool:
        """Whether connections from ``host`` are not counted (it is in an ``exempt`` network)."""
        if not self.exempt:
            return False
        found = self._exempted.get(host)
        if found is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                found = False
            else:
                mapped = getattr(address, "ipv4_mapped", None)
                found = any(address in net or (mapped is not None and mapped in net) for net in self.exempt)
            if len(self._exempted) >= 10_000:
                self._exempted.clear()
            self._exempted[host] = found
        return found


class Notices:
    """At most one warning per ``interval`` seconds for one kind of event; the ones held back are counted in the
    next."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = NOTICE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def note(self, kind: str, message: str) -> None:
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        held = self._held.pop(kind, 0)
        self._last[kind] = now
        self.logger.warning(message + (f" ({held} more like it since the last notice)" if held else ""))


def error_response(status: int, code: str, message: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete HTTP/1.1 answer with ``headers`` and the API's error JSON that closes the connection."""
    body = json.dumps(error_payload(code, message)).encode()
    head = [STATUS_LINE[status]]
    for name, value in headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: application/json\r\ncontent-length: ",
        str(len(body)).encode("ascii"),
        b"\r\nconnection: close\r\n\r\n",
        body,
    ]
    return b"".join(head)


def refusal_app(status: int, code: str, message: str) -> Any:
    """An ASGI app that answers every request with the API's error JSON and closes the connection: it stands in
    for the application when a complete request head breaks a cap."""
    error = ApiError(status, message, code=code, headers={"connection": "close"})

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send_error(send, error)

    return app


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body read timeouts and a per-client connection cap (see the
    module docstring); get a configured subclass from ``guarded_protocol``."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    clients: ClassVar[ClientConnections] = ClientConnections(ConnectionLimits().max_per_client)
    notices: ClassVar[Notices] = Notices(logging.getLogger("uvicorn.error"))

    # Per-connection state (class-level defaults, set on the instance when they change).
    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _awaiting_headers = True  # between requests, or inside a request line and headers
    _partial = False  # part of a request line or headers has arrived
    _counted: str | None = None  # the client address counted in ``clients``
    _refused = False  # answered for good: what the client still sends is dropped
    _head_bytes = 0  # bytes of the current request head handed to the parser
    _in_body = False  # a request's headers are complete, its body is not
    _body_seen = False  # the parser handed over body bytes from the last read
    _framing = 0  # bytes read since the last body bytes: chunk lines, trailer fields
    _pending: bytes | None = None  # a refusal to send once the answers in progress are done
    _linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else None
        if host is not None and not self.clients.exempted(host):
            if not self.clients.acquire(host):
                self._refuse(host)
                return
            self._counted = host
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._header_timeout)

    def _refuse(self, host: str) -> None:
        self._refused = True
        self.connections.discard(self)
        limit = self.limits.max_per_client
        self.notices.note(
            "refused",
            f"refused a connection from {host}: it already holds {limit} open connections "
            "(max_connections_per_client)",
        )
        self._answer_and_close(
            error_response(
                429,
                "too_many_connections",
                f"too many open connections from your address (at most {limit}); close some and retry",
                [*self.server_state.default_headers, (b"retry-after", b"%d" % RETRY_AFTER)],
            )
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        if self._counted is not None:
            self.clients.release(self._counted)
            self._counted = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_body:
            self._receive_body(data)
        elif self._head_bytes + len(data) <= self.limits.max_header_bytes:
            self._head_bytes += len(data)
            super().data_received(data)
            self._check_head()
        else:
            self._receive_in_pieces(memoryview(data))
        self._arm_timers()

    def _receive_in_pieces(self, data: memoryview) -> None:
        """Hand ``data`` to the parser in pieces, so that it never gets more than ``max_header_bytes`` of one
        request head. A body is handed over whole (its size is the application's business), and so is what follows
        it in the same read: the head of a pipelined request is counted from the next read on."""
        limit = self.limits.max_header_bytes
        while data and not self._refused and not self.transport.is_closing():
            if self._in_body:
                self._receive_body(data)  # type: ignore[arg-type]  # the parser takes any buffer
                return
            room = limit - self._head_bytes
            if room <= 0:  # only empty lines so far
                self._refuse_head(self._too_large())
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)  # type: ignore[arg-type]
            self._check_head()

    def _receive_body(self, data: bytes) -> None:
        """Hand body bytes to the parser, counting those that carry no body: the chunk-size lines and the trailer
        fields of a chunked body (the parser holds a trailer field whole until it ends), which may add up to
        ``max_header_bytes`` between two pieces of body."""
        self._body_seen = False
        super().data_received(data)
        if self._body_seen or not self._in_body:
            self._framing = 0
            return
        self._framing += len(data)
        if self._framing > self.limits.max_header_bytes and not self._refused:
            self._refuse_framing()

    def _refuse_framing(self) -> None:
        limit = self.limits.max_header_bytes
        message = (
            f"the request's chunk lines and trailer fields are larger than {limit} bytes (max_header_bytes)"
        )
        self._note_refusal(message)
        self._refused = True
        cycle = self.cycle
        if cycle.response_complete:
            self.transport.close()  # answered already; the rest of the body is not read
        elif cycle.response_started:
            cycle.keep_alive = False  # finish the answer, then close
        else:
            cycle.disconnected = True  # the application's receive() now returns http.disconnect
            cycle.message_event.set()
            self._answer_and_close(
                error_response(431, "headers_too_large", message, self.server_state.default_headers)
            )

    def _check_head(self) -> None:
        """Refuse the request head in progress as soon as it breaks a cap."""
        if self._partial and not self._refused:
            refusal = self._head_refusal()
            if refusal is None and self._head_bytes >= self.limits.max_header_bytes:
                refusal = self._too_large()  # and the head is not complete: it needs at least one more byte
            if refusal is not None:
                self._refuse_head(refusal)

    def _head_refusal(self) -> Refusal | None:
        """The answer to a request head (complete or not) whose URL or number of header fields is over its cap."""
        limits = self.limits
        if len(self.url) > limits.max_url_bytes:
            return (
                414,
                "url_too_long",
                f"the request URL is longer than {limits.max_url_bytes} bytes (max_url_bytes)",
            )
        if len(self.headers) > limits.max_headers:
            return (
                431,
                "headers_too_large",
                f"the request has more than {limits.max_headers} header fields (max_headers)",
            )
        return None

    def _too_large(self) -> Refusal:
        limit = self.limits.max_header_bytes
        return (
            431,
            "headers_too_large",
            f"the request line and headers are larger than {limit} bytes (max_header_bytes)",
        )

    def _refuse_head(self, refusal: Refusal) -> None:
        """Answer a request head that broke a cap before it ended, after the answers already in progress."""
        status, code, message = refusal
        self._note_refusal(message)
        self._refused = True
        self._cancel_header_timer()
        answer = error_response(status, code, message, self.server_state.default_headers)
        if self.pipeline or (self.cycle is not None and not self.cycle.response_complete):
            self._pending = answer  # sent by on_response_complete
        else:
            self._answer_and_close(answer)

    def _note_refusal(self, message: str) -> None:
        host = self.client[0] if self.client else "a client"
        self.notices.note("head", f"refused a request from {host}: {message}")

    def _answer_and_close(self, answer: bytes) -> None:
        """Send a last answer and close. The connection is still read for up to ``LINGER`` s (what arrives is
        dropped): a socket closed with unread data is reset, and the reset can destroy the answer before the client
        has read it."""
        self._refused = True
        self._cancel_header_timer()
        self._cancel_body_timer()
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(answer)
        if transport.can_write_eof():
            transport.write_eof()  # the client sees the end of the answer; it closes, or the timer does
            self._linger_timer = self.loop.call_later(LINGER, transport.close)
        else:
            transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True
        self._partial = True

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._partial = False
        self._head_bytes = 0
        self._in_body = True
        self._cancel_header_timer()
        refusal = self._head_refusal()
        if refusal is None:
            super().on_headers_complete()
            return
        status, code, message = refusal
        self._note_refusal(message)
        app, self.app = self.app, refusal_app(status, code, message)
        try:
            super().on_headers_complete()  # the request runs with the refusal in place of the application
        finally:
            self.app = app

    def on_body(self, body: bytes) -> None:
        self._body_seen = True
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._cancel_body_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if not self.pipeline:  # else the next request's headers are complete already
            self._awaiting_headers = True
        super().on_response_complete()
        if self._pending is not None and not self.pipeline and self.cycle.response_complete:
            self._unset_keepalive_if_required()
            answer, self._pending = self._pending, None
            self._answer_and_close(answer)
            return
        if self._partial and self.timeout_keep_alive_task is not None:
            # Part of the next request arrived while this answer ran: not idle, so its headers are timed.
            self._unset_keepalive_if_required()
        self._arm_timers()

    def _arm_timers(self) -> None:
        """Arm the timer the connection's state needs, if it is not armed: after data arrived, and after an
        answer completed."""
        cycle = self.cycle
        if self._refused:
            return
        if self._awaiting_headers:
            # Only while no answer is in progress (a request pipelined behind a running one waits for it), and not
            # while idle between requests: that is uvicorn's keep-alive timeout.
            if (
                self._header_timer is None
                and self.timeout_keep_alive_task is None
                and (cycle is None or cycle.response_complete)
                and not self.transport.is_closing()
            ):
                self._header_timer = self.loop.call_later(self.limits.header_timeout, self._header_timeout)
        elif (
            self._body_timer is None
            and cycle is not None
            and cycle.more_body
            and not cycle.response_complete
            and not self.pipeline  # the cycle runs (a pipelined one gets its timer when it starts)
            and not self.transport.is_closing()
        ):
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self._refused:
            return
        seconds = self.limits.header_timeout
        if not self._partial:
            self.transport.close()  # nothing came: nothing to answer
            return
        self._note_timeout("headers", f"the request line and headers did not arrive within {seconds:g} s")
        self._answer_and_close(
            error_response(
                408,
                "request_timeout",
                f"the request line and headers did not arrive within {seconds:g} s (header_timeout)",
                self.server_state.default_headers,
            )
        )

    def _body_timeout(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body or self.transport.is_closing():
            return
        seconds = self.limits.body_timeout
        what = f"the request body did not arrive within {seconds:g} s"
        self._note_timeout(
            "body", what + (" (after the answer in progress)" if cycle.response_started else "")
        )
        if cycle.response_complete:
            self.transport.close()  # answered already; the rest of the body never came
        elif cycle.response_started:
            cycle.keep_alive = False  # finish the answer, then close: the unread body spoils the framing
        else:
            cycle.disconnected = True  # the application's receive() now returns http.disconnect
            cycle.message_event.set()
            self._answer_and_close(
                error_response(
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {seconds:g} s (body_timeout)",
                    self.server_state.default_headers,
                )
            )

    def _note_timeout(self, kind: str, what: str) -> None:
        host = self.client[0] if self.client else "a client"
        self.notices.note(kind, f"closing a connection from {host}: {what}")


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedProtocol]:
    """A ``GuardedProtocol`` subclass enforcing ``limits``, with its own connection count: pass it to
    ``uvicorn.Config(http=...)``, one per server."""

    attributes: dict[str, Any] = {
        "limits": limits,
        "clients": ClientConnections(limits.max_per_client, limits.exempt),
        "notices": Notices(logging.getLogger("uvicorn.error")),
    }
    return type("GuardedHttpProtocol", (GuardedProtocol,), attributes)
