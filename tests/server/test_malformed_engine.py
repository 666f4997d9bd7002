"""An engine that answers 200 with something that is not a chat completion: /chat says so with a 502 naming it
(an HTTP error while nothing was sent, an error event once deltas were)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.server.helpers import sse_events
from tests.support.live_backend import LiveBackend

MODELS = b'{"object": "list", "data": [{"id": "m"}]}'


class _CannedEngine(http.server.ThreadingHTTPServer):
    """Answers GET /v1/models normally and every POST with ``self.answer`` (status 200)."""

    answer = b""
    content_type = "application/json"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _CannedEngine

    def do_GET(self) -> None:
        self._send(MODELS, "application/json")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._send(self.server.answer, self.server.content_type)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def engine() -> Iterator[_CannedEngine]:
    server = _CannedEngine(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def backend(engine: _CannedEngine) -> Iterator[tuple[LiveBackend, str]]:
    url = f"http://127.0.0.1:{engine.server_address[1]}"
    with LiveBackend({}, [url]) as live:
        yield live, url


def test_json_answer_without_choices_is_502(engine: _CannedEngine, backend: tuple[LiveBackend, str]) -> None:
    live, _ = backend
    engine.answer = b'{"choices": []}'
    r = httpx.post(f"{live.url}/chat", json={"message": "hi"})
    assert r.status_code == 502
    assert r.json() == {
        "error": {
            "code": "bad_gateway",
            "message": "engine 1 sent an answer that is not a chat completion",
        }
    }


def test_stream_that_breaks_its_format_before_any_delta_is_a_502(
    engine: _CannedEngine, backend: tuple[LiveBackend, str]
) -> None:
    # Nothing was sent yet: the client gets a proper HTTP error, not a 200 stream with an error event.
    live, _ = backend
    engine.answer, engine.content_type = b"data: not json\n\n", "text/event-stream"
    r = httpx.post(f"{live.url}/chat", json={"message": "hi", "stream": True})
    assert r.status_code == 502
    assert r.json() == {"error": {"code": "bad_gateway", "message": "engine 1 sent a malformed stream event"}}


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"data: not json\n\n", "sent a malformed stream event"),
        (b"", "ended the stream before the answer was complete"),
    ],
)
def test_stream_that_breaks_its_format_after_a_delta_ends_with_an_error_event(
    engine: _CannedEngine, backend: tuple[LiveBackend, str], tail: bytes, message: str
) -> None:
    live, _ = backend
    answer = b'data: {"choices": [{"delta": {"content": "half"}}]}\n\n' + tail
    engine.answer, engine.content_type = answer, "text/event-stream"
    with httpx.stream("POST", f"{live.url}/chat", json={"message": "hi", "stream": True}) as r:
        assert r.status_code == 200
        events = sse_events(r)
    assert events == [
        ("message", {"delta": "half"}),
        ("error", {"error": {"code": "bad_gateway", "message": f"engine 1 {message}"}}),
    ]
