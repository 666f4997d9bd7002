"""The backend as `edubot serve` runs it (``serving.run_backend``: uvicorn with the guarded protocol) against slow
and greedy clients on raw sockets: header drip, a body that never ends, too many connections from one address,
and streams longer than the timeouts, which must not be cut."""

from __future__ import annotations

import io
import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from edubot_cli import serving
from edubot_cli.errors import EdubotError
from edubot_cli.procgroup import bind_listener
from edubot_cli.server.edge.connections import ConnectionLimits
from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING, eventually
from tests.support.sockets import read_until_closed
from tests.support.stub_engine import Step, StubEngine

TIMEOUT = 0.5  # header_timeout and body_timeout of the backend under test
MARGIN = CEILING
"""How much later than a timeout a connection may be closed: a bound for a failing test only. That the timeout
fired shows in the answer (a 408 naming it) and in the time it took at least, never in an upper bound that a busy
machine could miss (uvicorn alone closes none of these connections)."""


class _Stopped(EdubotError):
    pass


@dataclass
class Backend:
    port: int
    live: LiveBackend

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=CEILING)
        return sock

    def request(
        self, method: str = "GET", path: str = "/health", body: bytes = b"", close: bool = False
    ) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if body or method == "POST":
            head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        if close:
            head += "connection: close\r\n"
        return head.encode() + b"\r\n" + body


@contextmanager
def running(stub: StubEngine, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Iterator[Backend]:
    """``create_app`` (through ``LiveBackend``, not started) served by ``serving.run_backend`` in a thread, with
    the connection limits from its settings, as ``serving.serve`` does it."""
    monkeypatch.setattr(serving, "WATCH_INTERVAL", 0.05)
    settings = {"header_timeout": TIMEOUT, "body_timeout": TIMEOUT, **overrides}
    live = LiveBackend(settings, [stub.url + "/v1"])
    sock = bind_listener("127.0.0.1", 0, "--port")
    ready = threading.Event()
    stop = threading.Event()
    errors: list[BaseException] = []

    def alive() -> None:
        if stop.is_set():
            raise _Stopped("stopped by the test")

    def run() -> None:
        try:
            serving.run_backend(
                live.app,
                sock,
                on_ready=ready.set,
                engine_alive=alive,
                limits=ConnectionLimits.from_settings(live.settings),
            )
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="guarded-backend", daemon=True)
    thread.start()
    try:
        assert ready.wait(CEILING), f"the backend did not start: {errors}"
        yield Backend(sock.getsockname()[1], live)
    finally:
        stop.set()
        thread.join(15)
        sock.close()
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], _Stopped), errors


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer with a content-length (the connection stays usable)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before the headers: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed inside the body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def parse_error(data: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert b"connection: close" in head.lower()
    return status, json.loads(body)


@pytest.fixture
def stub() -> Iterator[StubEngine]:
    with StubEngine() as engine:
        yield engine


def test_header_drip_gets_408_and_is_closed(stub: StubEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    with running(stub, monkeypatch) as backend, backend.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        data = b""
        closed = False
        while not closed:  # one header byte every 0.1 s, reading whatever comes back
            assert time.monotonic() - started < TIMEOUT + MARGIN, "still open"
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                chunk = sock.recv(65536)
                data += chunk
                closed = not chunk
            else:
                try:
                    sock.sendall(b"X")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
        elapsed = time.monotonic() - started
        assert elapsed >= TIMEOUT * 0.9
        status, payload = parse_error(data)
        assert status == 408
        assert payload["error"]["code"] == "request_timeout"
        assert "header_timeout" in payload["error"]["message"]
        # The backend still answers.
        assert httpx.get(backend.url + "/health", timeout=30).status_code == 200


def test_silent_connection_is_closed_without_an_answer(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(stub, monkeypatch) as backend, backend.connect() as sock:
        started = time.monotonic()
        assert read_until_closed(sock, started + TIMEOUT + MARGIN) == b""
        assert time.monotonic() - started >= TIMEOUT * 0.9


def test_partial_body_gets_408_and_the_engine_is_not_asked(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(stub, monkeypatch) as backend, backend.connect() as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1:%d\r\ncontent-type: application/json\r\n"
            b'content-length: 100\r\n\r\n{"message": ' % backend.port
        )
        data = read_until_closed(sock, started + TIMEOUT + MARGIN)
        assert time.monotonic() - started >= TIMEOUT * 0.9
        status, payload = parse_error(data)
        assert status == 408
        assert payload == {
            "error": {
                "code": "request_timeout",
                "message": f"the request body did not arrive within {TIMEOUT:g} s (body_timeout)",
            }
        }
        assert stub.requests == []
        answer = httpx.post(backend.url + "/chat", json={"message": "hi"}, timeout=30)
        assert answer.status_code == 200
        assert answer.json()["response"] == "Hello from the stub."


def test_slow_body_within_the_timeout_is_served(stub: StubEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"message": "hi"}).encode()
    with running(stub, monkeypatch, body_timeout=CEILING) as backend, backend.connect() as sock:
        request = backend.request("POST", "/chat", body)
        sock.sendall(request[: -len(body)])
        for byte in body[:4]:  # a little at a time, well within body_timeout
            time.sleep(0.2)
            sock.sendall(bytes([byte]))
        sock.sendall(body[4:])
        status, _, answer = read_response(sock)
        assert status == 200
        assert json.loads(answer)["response"] == "Hello from the stub."


def test_connections_per_client_are_capped(stub: StubEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    cap = 3
    with running(stub, monkeypatch, max_connections_per_client=cap, header_timeout=CEILING) as backend:
        held = [backend.connect() for _ in range(cap)]
        try:
            with backend.connect() as extra:
                data = read_until_closed(extra, time.monotonic() + MARGIN)
            status, payload = parse_error(data)
            assert status == 429
            assert payload["error"]["code"] == "too_many_connections"
            for sock in held:  # the ones within the cap stay usable, and keep-alive
                for _ in range(2):
                    sock.sendall(backend.request())
                    status, _, _ = read_response(sock)
                    assert status == 200
            # Closing one frees its place (the server notices the close a moment later).
            held.pop().close()

            def released() -> bool:
                with backend.connect() as again:
                    again.sendall(backend.request(close=True))
                    data = read_until_closed(again, time.monotonic() + MARGIN)
                assert data.startswith((b"HTTP/1.1 200", b"HTTP/1.1 429")), data
                return data.startswith(b"HTTP/1.1 200")

            assert eventually(released, interval=0.05), "the closed connection was never released"
        finally:
            for sock in held:
                sock.close()


def test_streams_longer_than_the_timeouts_are_not_cut(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [f" part{i}" for i in range(6)]
    stub.script(Step(chunks=chunks, delay=TIMEOUT / 2), Step(first_byte_delay=TIMEOUT * 3))
    with running(stub, monkeypatch) as backend, httpx.Client(timeout=CEILING) as client:
        started = time.monotonic()
        text = ""
        with client.stream(
            "POST",
            backend.url + "/v1/chat/completions",
            json={"model": "stub-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        ) as answer:
            assert answer.status_code == 200
            lines = [line for line in answer.iter_lines() if line.startswith("data: ")]
        assert time.monotonic() - started >= TIMEOUT * 2.5  # longer than both timeouts
        assert lines[-1] == "data: [DONE]"
        for line in lines[:-1]:
            for choice in json.loads(line[len("data: ") :]).get("choices", []):
                text += choice.get("delta", {}).get("content") or ""
        assert text == "".join(chunks)
        # A plain answer that takes 3x the timeouts to start arrives too, on the same keep-alive connection.
        answer = client.post(backend.url + "/chat", json={"message": "hi"})
        assert answer.status_code == 200
        assert answer.json()["response"] == "Hello from the stub."


def test_idle_keep_alive_follows_uvicorns_timeout_then_headers_are_timed_again(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(stub, monkeypatch) as backend, backend.connect() as sock:
        sock.sendall(backend.request())
        assert read_response(sock)[0] == 200
        time.sleep(TIMEOUT * 3)  # idle: longer than header_timeout, shorter than timeout_keep_alive (5 s)
        sock.sendall(backend.request())
        assert read_response(sock)[0] == 200
        # Part of a next request: the header timeout applies from its first byte.
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.")
        status, payload = parse_error(read_until_closed(sock, started + TIMEOUT + MARGIN))
        assert status == 408
        assert payload["error"]["code"] == "request_timeout"
        assert time.monotonic() - started >= TIMEOUT * 0.9


def test_many_slow_clients_at_once_are_all_closed(stub: StubEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's attack, scaled down: header-drip and partial-body connections together; all are closed within
    the timeouts while a normal client is served."""
    with running(stub, monkeypatch, max_connections_per_client=64) as backend:
        socks = [backend.connect() for _ in range(40)]
        try:
            started = time.monotonic()
            for i, sock in enumerate(socks):
                if i % 4 == 0:
                    sock.sendall(backend.request("POST", "/chat", b"{" * 50)[:-49])
                else:
                    sock.sendall(backend.request()[:-6])
            assert httpx.get(backend.url + "/health", timeout=30).status_code == 200
            for sock in socks:
                data = read_until_closed(sock, started + TIMEOUT + MARGIN)
                assert data.startswith(b"HTTP/1.1 408 "), data
        finally:
            for sock in socks:
                sock.close()
        assert httpx.post(backend.url + "/chat", json={"message": "hi"}, timeout=30).status_code == 200


def test_each_request_is_one_log_line_with_its_id(stub: StubEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    config = serving._log_config()
    config["handlers"]["default"]["stream"] = (
        stream  # where uvicorn's handler writes (stderr in `edubot serve`)
    )
    monkeypatch.setattr(serving, "_log_config", lambda: config)
    with running(stub, monkeypatch) as backend:
        answer = httpx.post(
            f"{backend.url}/chat", json={"message": "hi"}, headers={"X-Request-ID": "lesson-1"}
        )
        assert (answer.status_code, answer.headers["x-request-id"]) == (200, "lesson-1")
    lines = [line for line in stream.getvalue().splitlines() if "/chat" in line]
    assert len(lines) == 1, lines  # the backend's line, not uvicorn's access line too
    pattern = r'INFO: +127\.0\.0\.1:\d+ - "POST /chat" 200 \d+\.\d{3} s id=lesson-1 engine_id=chatcmpl-stub-1'
    assert re.fullmatch(pattern, lines[0]), lines[0]


def test_oversized_heads_get_431_or_414_with_the_default_limits(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defaults: a request line and headers of 64 KiB, 100 header fields, a URL of 16 KiB."""
    with running(stub, monkeypatch) as backend:
        host = b"Host: 127.0.0.1:%d\r\n" % backend.port
        big = b"GET /health HTTP/1.1\r\n" + host + b"X-Big: " + b"a" * (70 << 10) + b"\r\n\r\n"
        many = b"GET /health HTTP/1.1\r\n" + host + b"".join(b"X-%d: 1\r\n" % i for i in range(100)) + b"\r\n"
        long_url = b"GET /health?" + b"a" * (16 << 10) + b" HTTP/1.1\r\n" + host + b"\r\n"
        cases = [
            (
                big,
                431,
                "headers_too_large",
                "the request line and headers are larger than 65536 bytes (max_header_bytes)",
            ),
            (many, 431, "headers_too_large", "the request has more than 100 header fields (max_headers)"),
            (long_url, 414, "url_too_long", "the request URL is longer than 16384 bytes (max_url_bytes)"),
        ]
        for request, status, code, message in cases:
            with backend.connect() as sock:
                sock.sendall(request)
                answer = parse_error(read_until_closed(sock, time.monotonic() + MARGIN + 5))
            assert answer == (status, {"error": {"code": code, "message": message}})
        assert stub.requests == []
        # Just within the limits: served.
        fields = b"".join(b"X-%d: 1\r\n" % i for i in range(99))
        within = (
            b"GET /health?"
            + b"a" * ((16 << 10) - len("/health?"))
            + b" HTTP/1.1\r\n"
            + host
            + fields
            + b"\r\n"
        )
        with backend.connect() as sock:
            sock.sendall(within)
            assert read_response(sock)[0] == 200


@pytest.mark.parametrize(
    ("settings", "hosts"),
    [
        ({}, ["evil.example", "127.0.0.1:{port}"]),  # only the last one used to be checked
        ({}, ["127.0.0.1:{port}", "evil.example"]),
        ({}, ["127.0.0.1:{port}", "127.0.0.1:{port}"]),
        ({"allowed_hosts": ["*"]}, ["a.example", "b.example"]),  # even where any name is accepted
    ],
)
def test_two_host_headers_are_refused(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any], hosts: list[str]
) -> None:
    with running(stub, monkeypatch, **settings) as backend:
        for request in (
            backend.request(close=True),
            backend.request("POST", "/chat", b'{"message": "hi"}', close=True),
        ):
            head, _, rest = request.partition(b"\r\n")
            names = "".join(f"Host: {h.format(port=backend.port)}\r\n" for h in hosts).encode()
            with backend.connect() as sock:
                sock.sendall(head + b"\r\n" + names + rest.partition(b"\r\n")[2])
                status, headers, body = read_response(sock)
            assert status == 400
            assert json.loads(body) == {
                "error": {"code": "bad_request", "message": "the request has 2 Host headers; send one"}
            }
            assert headers["x-content-type-options"] == "nosniff"
        assert stub.requests == []
        assert httpx.get(backend.url + "/stats", timeout=5).json()["rejected"] == {"400": 2}


def held_connections(backend: Backend, count: int) -> list[socket.socket]:
    """``count`` connections holding a request head that never ends (open until header_timeout). The server
    counts connections in the order it accepts them, so a connection made after these is over the cap."""
    held = [backend.connect() for _ in range(count)]
    for sock in held:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
    return held


def assert_refused_for_connections(data: bytes) -> None:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert lines[0] == "HTTP/1.1 429 Too Many Requests", data
    assert (headers["retry-after"], headers["connection"]) == ("1", "close")
    assert json.loads(body) == {
        "error": {
            "code": "too_many_connections",
            "message": "too many open connections from your address (at most 4); close some and retry",
        }
    }


def test_over_the_cap_a_client_still_sending_gets_429_not_a_reset(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client still sending its request after the server answered 429: the connection must still be open for
    reading, else the client's kernel gets a reset and its next write fails (clients then report the reset, not
    the answer)."""
    piece = b" " * 1024
    with running(stub, monkeypatch, max_connections_per_client=4, header_timeout=60.0) as backend:
        held = held_connections(backend, 4)
        try:
            head = backend.request("POST", "/chat", piece * 200)[: -len(piece) * 200]
            for _ in range(4):
                with backend.connect() as sock:
                    sock.sendall(head)
                    readable, _, _ = select.select([sock], [], [], MARGIN + 5)
                    assert readable  # the 429 has arrived: the server is done with this connection
                    for _ in range(200):  # a reset, if the server closed for good, fails one of these writes
                        sock.sendall(piece)
                    assert_refused_for_connections(read_until_closed(sock, time.monotonic() + MARGIN + 5))
        finally:
            for sock in held:
                sock.close()
        assert stub.requests == []


def test_a_burst_over_the_cap_gets_429s_with_retry_after(
    stub: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's burst, scaled down: requests from one address at once, over a cap of 4 held connections; every
    one is answered 429 with Retry-After (none is a reset without a status)."""
    with running(stub, monkeypatch, max_connections_per_client=4, header_timeout=60.0) as backend:
        held = held_connections(backend, 4)
        try:
            answers: list[Any] = []

            def ask(i: int) -> None:
                try:
                    if i % 2:
                        r = httpx.post(backend.url + "/chat", json={"message": "x" * 2000}, timeout=10)
                    else:
                        r = httpx.get(backend.url + "/health", timeout=10)
                    answers.append((r.status_code, r.headers.get("retry-after")))
                except httpx.HTTPError as exc:
                    answers.append(repr(exc))

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(40)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert answers == [(429, "1")] * 40
        finally:
            for sock in held:
                sock.close()
        assert stub.requests == []
