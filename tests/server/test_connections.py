"""``server.connections``: the per-client count, the limits from settings, and the guarded uvicorn protocol's edge
cases (pipelining, early answers, exempt proxies) under a bare ASGI app on raw sockets."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from edubot_cli.config import FIELDS
from edubot_cli.errors import ConfigError
from edubot_cli.server.edge.connections import (
    ClientConnections,
    ConnectionLimits,
    Notices,
    error_response,
    guarded_protocol,
    parse_networks,
)
from tests.support.live_backend import isolated_settings
from tests.support.poll import CEILING, eventually
from tests.support.sockets import read_until_closed

TIMEOUT = 0.3
MARGIN = CEILING
"""How much later than a timeout a connection may be closed: a bound for a failing test only; the timeout shows in
the answer (a 408) and in the time it took at least, never in an upper bound that a busy machine could miss."""

# ---- pieces ----------------------------------------------------------------------------------------------------


def test_limits_default_to_the_settings_defaults() -> None:
    limits = ConnectionLimits()
    assert limits.header_timeout == FIELDS["header_timeout"][0]
    assert limits.body_timeout == FIELDS["body_timeout"][0]
    assert limits.max_per_client == FIELDS["max_connections_per_client"][0]
    assert (limits.max_url_bytes, limits.max_header_bytes, limits.max_headers) == (16384, 65536, 100)
    assert limits.max_url_bytes == FIELDS["max_url_bytes"][0]
    assert limits.max_header_bytes == FIELDS["max_header_bytes"][0]
    assert limits.max_headers == FIELDS["max_headers"][0]
    assert limits.exempt == ()


def test_limits_from_settings() -> None:
    settings = isolated_settings(
        {
            "header_timeout": 2.5,
            "body_timeout": 7,
            "max_connections_per_client": 9,
            "max_url_bytes": 2000,
            "max_header_bytes": 9000,
            "max_headers": 30,
            "trusted_proxies": ["10.0.0.0/8", "192.168.1.7", "fd00::/8"],
        }
    )
    assert ConnectionLimits.from_settings(settings) == ConnectionLimits(
        header_timeout=2.5,
        body_timeout=7.0,
        max_per_client=9,
        max_url_bytes=2000,
        max_header_bytes=9000,
        max_headers=30,
        exempt=(
            ipaddress.ip_network("10.0.0.0/8"),
            ipaddress.ip_network("192.168.1.7/32"),
            ipaddress.ip_network("fd00::/8"),
        ),
    )


def test_a_bad_trusted_proxy_is_a_config_error() -> None:
    settings = isolated_settings({"trusted_proxies": ["10.0.0.0/8", "proxy.example"]})
    with pytest.raises(ConfigError) as info:
        ConnectionLimits.from_settings(settings)
    assert info.value.message == "trusted_proxies: not an IP address or network: 'proxy.example'"


def test_parse_networks_accepts_host_bits() -> None:
    assert parse_networks([" 10.1.2.3/8 "]) == (ipaddress.ip_network("10.0.0.0/8"),)


def test_client_connections_cap_and_release() -> None:
    clients = ClientConnections(2)
    assert clients.acquire("1.2.3.4") and clients.acquire("1.2.3.4")
    assert not clients.acquire("1.2.3.4")
    assert clients.acquire("5.6.7.8")
    clients.release("1.2.3.4")
    assert clients.acquire("1.2.3.4")
    for _ in range(2):
        clients.release("1.2.3.4")
    clients.release("5.6.7.8")
    assert clients.open == {}


def test_exempted_addresses() -> None:
    clients = ClientConnections(1, parse_networks(["10.0.0.0/8", "2001:db8::/32"]))
    assert clients.exempted("10.9.8.7")
    assert clients.exempted("::ffff:10.9.8.7")  # IPv4-mapped, on a dual-stack socket
    assert clients.exempted("2001:db8::1")
    assert not clients.exempted("11.0.0.1")
    assert not clients.exempted("not-an-address")
    assert not ClientConnections(1).exempted("10.9.8.7")


def test_notices_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    notices = Notices(logging.getLogger("test.notices"), interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.notices"):
        notices.note("body", "first")
        notices.note("body", "second")
        notices.note("headers", "other kind")
        notices.note("body", "third")
        now[0] = 61
        notices.note("body", "fourth")
    assert [r.getMessage() for r in caplog.records] == [
        "first",
        "other kind",
        "fourth (2 more like it since the last notice)",
    ]


def test_error_response() -> None:
    data = error_response(408, "request_timeout", "too slow", [(b"server", b"uvicorn")])
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"HTTP/1.1 408 Request Timeout",
        b"server: uvicorn",
        b"content-type: application/json",
        b"content-length: %d" % len(body),
        b"connection: close",
    ]
    assert json.loads(body) == {"error": {"code": "request_timeout", "message": "too slow"}}


# ---- the protocol under uvicorn ----------------------------------------------------------------------------------


class App:
    """A bare ASGI app: ``/stream`` answers in ``parts`` pieces ``pause`` s apart; ``/early`` answers 413 without
    reading the body; ``/echo`` reads the body and returns its length; anything else answers ``ok``. What it saw
    is kept in ``seen``."""

    def __init__(self, parts: int = 6, pause: float = TIMEOUT / 2) -> None:
        self.parts = parts
        self.pause = pause
        self.seen: list[str] = []
        self.paths: list[str] = []  # the requests it was called for

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        path = scope["path"]
        self.paths.append(path)
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for i in range(self.parts):
                await asyncio.sleep(self.pause)
                await send({"type": "http.response.body", "body": b"part%d\n" % i, "more_body": True})
            await send({"type": "http.response.body", "body": b"end\n"})
            return
        if path == "/early":
            await send({"type": "http.response.start", "status": 413, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"no"})
            return
        body = b""
        if path == "/echo":
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    self.seen.append("disconnect")
                    return
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
        answer = str(len(body)).encode() if path == "/echo" else b"ok"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(answer))],
            }
        )
        await send({"type": "http.response.body", "body": answer})


@contextmanager
def serving(app: App, limits: ConnectionLimits, **config: Any) -> Iterator[int]:
    """uvicorn with ``guarded_protocol(limits)`` (as ``serving.run_backend`` configures it) in a thread; yields
    the port."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    options: dict[str, Any] = {"log_config": None, "log_level": "warning", "lifespan": "on", **config}
    server = uvicorn.Server(uvicorn.Config(app, http=guarded_protocol(limits), ws="none", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert eventually(lambda: server.started or not thread.is_alive()) and server.started, (
        "the server did not start"
    )
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=CEILING)


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before {marker!r}: {data!r}"
        data += chunk
    return data


LIMITS = ConnectionLimits(header_timeout=TIMEOUT, body_timeout=TIMEOUT, max_per_client=4)


def test_a_pipelined_partial_request_does_not_cut_the_running_stream() -> None:
    with serving(App(), LIMITS) as port, connect(port) as sock:
        started = time.monotonic()
        # The stream, then the start of a second request on the same connection at once.
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHo")
        data = read_until(sock, b"end\n\r\n0\r\n\r\n")
        assert time.monotonic() - started >= TIMEOUT * 2.5
        assert all(b"part%d\n" % i in data for i in range(6))
        # Then the second request's headers are timed from the end of the answer: 408, closed.
        ended = time.monotonic()
        rest = read_until_closed(sock, ended + TIMEOUT + MARGIN)
        assert rest.startswith(b"HTTP/1.1 408 "), rest
        assert time.monotonic() - ended >= TIMEOUT * 0.8


def test_a_complete_pipelined_request_is_answered_after_a_stream() -> None:
    with serving(App(), LIMITS) as port, connect(port) as sock:
        sock.sendall(
            b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc"
        )
        data = read_until_closed(sock, time.monotonic() + TIMEOUT * 6 + MARGIN)
        assert b"end\n\r\n0\r\n\r\n" in data
        assert data.endswith(b"\r\n\r\n3")


def test_the_application_sees_a_disconnect_when_the_body_times_out() -> None:
    app = App()
    with serving(app, LIMITS) as port, connect(port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\ncontent-length: 10\r\n\r\nabc")
        data = read_until_closed(sock, time.monotonic() + TIMEOUT + MARGIN)
        assert data.startswith(b"HTTP/1.1 408 ")
        assert eventually(lambda: app.seen)
        assert app.seen == ["disconnect"]


def test_an_early_answer_then_a_dripped_body_is_closed() -> None:
    with serving(App(), LIMITS) as port, connect(port) as sock:
        sock.sendall(b"POST /early HTTP/1.1\r\nHost: x\r\ncontent-length: 1000\r\n\r\nabc")
        started = time.monotonic()
        data = b""
        closed = False
        while not closed:  # keep dripping the body the server already answered
            assert time.monotonic() - started < TIMEOUT + MARGIN, f"still open: {data!r}"
            sock.settimeout(0.1)
            try:
                chunk = sock.recv(65536)
                data += chunk
                closed = not chunk
            except TimeoutError:
                try:
                    sock.sendall(b"x")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
            except ConnectionResetError:
                closed = True
        assert data.startswith(b"HTTP/1.1 413 ")


def test_an_answer_streamed_before_the_body_ended_is_finished_then_closed() -> None:
    with serving(App(), LIMITS) as port, connect(port) as sock:
        sock.sendall(b"POST /stream HTTP/1.1\r\nHost: x\r\ncontent-length: 1000\r\n\r\nabc")
        data = read_until_closed(sock, time.monotonic() + TIMEOUT * 6 + MARGIN)
        assert data.startswith(b"HTTP/1.1 200 ")
        assert data.endswith(b"end\n\r\n0\r\n\r\n")


def test_keep_alive_idle_is_uvicorns_timeout() -> None:
    with serving(App(), LIMITS, timeout_keep_alive=1) as port, connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_until(sock, b"ok").startswith(b"HTTP/1.1 200 ")
        idle = time.monotonic()
        assert read_until_closed(sock, idle + 1 + MARGIN) == b""  # silently, by uvicorn
        assert time.monotonic() - idle >= 0.9


def test_exempt_addresses_are_not_capped() -> None:
    limits = ConnectionLimits(
        header_timeout=CEILING, body_timeout=CEILING, max_per_client=1, exempt=parse_networks(["127.0.0.0/8"])
    )
    with serving(App(), limits) as port:
        socks = [connect(port) for _ in range(3)]
        try:
            for sock in socks:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_until(sock, b"ok").startswith(b"HTTP/1.1 200 ")
        finally:
            for sock in socks:
                sock.close()


def test_each_server_counts_its_own_connections() -> None:
    limits = ConnectionLimits(header_timeout=CEILING, body_timeout=CEILING, max_per_client=1)
    with (
        serving(App(), limits) as first,
        serving(App(), limits) as second,
        connect(first) as a,
        connect(second) as b,
    ):
        for sock in (a, b):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_until(sock, b"ok").startswith(b"HTTP/1.1 200 ")
        with connect(first) as extra:
            assert read_until_closed(extra, time.monotonic() + MARGIN).startswith(b"HTTP/1.1 429 ")


# ---- the request head's size ---------------------------------------------------------------------------------


HEAD_LIMITS = ConnectionLimits(
    header_timeout=10,
    body_timeout=10,
    max_per_client=4,
    max_url_bytes=1024,
    max_header_bytes=4096,
    max_headers=8,
)


def answer_of(data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body)


@pytest.fixture
def fed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the pieces the guarded protocol hands to uvicorn's (and so to the parser)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    sizes: list[int] = []
    original = HttpToolsProtocol.data_received

    def spy(self: Any, data: bytes) -> None:
        sizes.append(len(data))
        original(self, data)

    monkeypatch.setattr(HttpToolsProtocol, "data_received", spy)
    return sizes


def send_all_tolerating_close(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)  # the server may answer and close before all of it was sent


def test_a_huge_header_is_refused_without_being_read_whole(fed: list[int]) -> None:
    app = App()
    with serving(app, HEAD_LIMITS) as port, connect(port) as sock:
        send_all_tolerating_close(
            sock, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
        )
        status, headers, payload = answer_of(read_until_closed(sock, time.monotonic() + MARGIN + 5))
    assert status == 431
    assert headers["connection"] == "close"
    assert payload == {
        "error": {
            "code": "headers_too_large",
            "message": "the request line and headers are larger than 4096 bytes (max_header_bytes)",
        }
    }
    assert sum(fed) <= 4096  # the parser never held more than the limit
    assert app.paths == []


def test_a_head_of_exactly_the_limit_is_served() -> None:
    start = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: "
    head = start + b"a" * (4096 - len(start) - 4) + b"\r\n\r\n"
    assert len(head) == 4096
    with serving(App(), HEAD_LIMITS) as port, connect(port) as sock:
        for _ in range(2):  # twice on one connection: the count starts again for the next request
            sock.sendall(head)
            assert read_until(sock, b"ok").startswith(b"HTTP/1.1 200 ")


def test_a_pipelined_request_after_a_large_one_has_its_own_count() -> None:
    start = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: "
    head = start + b"a" * (3000 - len(start) - 4) + b"\r\n\r\n"
    with serving(App(), HEAD_LIMITS) as port, connect(port) as sock:
        sock.sendall(head + head[:-2] + b"Connection: close\r\n\r\n")  # 6 KB in one piece, two heads of 3 KB
        data = read_until_closed(sock, time.monotonic() + MARGIN + 5)
    assert data.count(b"HTTP/1.1 200 ") == 2, data


def test_too_many_headers_are_refused() -> None:
    fields = b"".join(b"X-%d: 1\r\n" % i for i in range(8))
    with serving(App(), HEAD_LIMITS) as port:
        with connect(port) as sock:  # Host and 7 more: the limit
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + fields[: fields.index(b"X-7")] + b"\r\n")
            assert read_until(sock, b"ok").startswith(b"HTTP/1.1 200 ")
        with connect(port) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
            status, headers, payload = answer_of(read_until_closed(sock, time.monotonic() + MARGIN + 5))
    assert (status, headers["connection"]) == (431, "close")
    assert payload == {
        "error": {
            "code": "headers_too_large",
            "message": "the request has more than 8 header fields (max_headers)",
        }
    }


def test_too_many_headers_are_refused_before_the_head_ends() -> None:
    fields = b"".join(b"X-%d: 1\r\n" % i for i in range(20))
    with serving(App(), HEAD_LIMITS) as port, connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + fields)  # no blank line: the head is not complete
        status, _, payload = answer_of(read_until_closed(sock, time.monotonic() + MARGIN + 5))
    assert status == 431
    assert payload["error"]["message"] == "the request has more than 8 header fields (max_headers)"


@pytest.mark.parametrize("complete", [True, False], ids=["whole-head", "line-only"])
def test_a_long_url_is_refused(complete: bool) -> None:
    app = App()
    with serving(app, HEAD_LIMITS) as port:
        with connect(port) as sock:
            sock.sendall(b"GET /" + b"a" * 1023 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_until(sock, b"ok").startswith(b"HTTP/1.1 200 ")
        with connect(port) as sock:
            sock.sendall(b"GET /" + b"a" * 1024 + (b" HTTP/1.1\r\nHost: x\r\n\r\n" if complete else b""))
            status, headers, payload = answer_of(read_until_closed(sock, time.monotonic() + MARGIN + 5))
    assert status == 414
    assert headers["connection"] == "close"
    assert payload == {
        "error": {
            "code": "url_too_long",
            "message": "the request URL is longer than 1024 bytes (max_url_bytes)",
        }
    }
    assert app.paths == ["/" + "a" * 1023]


def test_a_huge_pipelined_head_waits_for_the_running_answer() -> None:
    with serving(App(), HEAD_LIMITS) as port, connect(port) as sock:
        send_all_tolerating_close(
            sock, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nX: " + b"a" * 8192
        )
        data = read_until_closed(sock, time.monotonic() + TIMEOUT * 6 + MARGIN)
    first, sep, second = data.partition(b"end\n\r\n0\r\n\r\n")
    assert sep and all(b"part%d\n" % i in first for i in range(6))  # the stream is whole
    status, _, payload = answer_of(second)
    assert status == 431
    assert payload["error"]["code"] == "headers_too_large"


def test_a_body_larger_than_the_head_cap_is_not_counted_as_head() -> None:
    body = b"b" * 100_000
    with serving(App(), HEAD_LIMITS) as port, connect(port) as sock:
        for _ in range(2):  # in one piece with its head, twice on one connection
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
            assert read_until(sock, b"\r\n\r\n100000").startswith(b"HTTP/1.1 200 ")


def test_a_chunked_body_is_read_whole() -> None:
    chunks = b"".join(b"%x\r\n%s\r\n" % (size, b"c" * size) for size in (1, 3000, 5000, 10))
    with serving(App(), HEAD_LIMITS) as port, connect(port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunks
            + b"0\r\nX-T: 1\r\n\r\n"
        )
        assert read_until(sock, b"\r\n\r\n8011").startswith(b"HTTP/1.1 200 ")


def test_a_huge_trailer_is_refused_without_being_read_whole(fed: list[int]) -> None:
    app = App()
    with serving(app, HEAD_LIMITS) as port, connect(port) as sock:
        head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T: "
        send_all_tolerating_close(sock, head + b"t" * (1 << 20))
        status, headers, payload = answer_of(read_until_closed(sock, time.monotonic() + MARGIN + 5))
    assert (status, headers["connection"]) == (431, "close")
    assert payload == {
        "error": {
            "code": "headers_too_large",
            "message": "the request's chunk lines and trailer fields are larger than 4096 bytes (max_header_bytes)",
        }
    }
    # Cut off within two reads (of at most 256 KiB): the one that held the last body bytes is not counted.
    assert sum(fed) <= 2 * 256 * 1024
    assert app.seen == ["disconnect"]  # the application waiting for the end of the body is told
