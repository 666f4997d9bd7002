"""An engine that answers 200 with something that is not a chat completion: /chat says so with a 502 naming it
(an HTTP error while nothing was sent, an error event once deltas were)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.server.helpers import chat_events
from tests.support.canned_engine import CannedEngine
from tests.support.live_backend import LiveBackend


@pytest.fixture
def engine() -> Iterator[CannedEngine]:
    """An engine answering GET /v1/models normally and every POST with ``answer`` (status 200)."""
    with CannedEngine() as canned:
        yield canned


@pytest.fixture
def backend(engine: CannedEngine) -> Iterator[tuple[LiveBackend, str]]:
    with LiveBackend({}, [engine.url]) as live:
        yield live, engine.url


def test_json_answer_without_choices_is_502(engine: CannedEngine, backend: tuple[LiveBackend, str]) -> None:
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


def test_stream_that_breaks_its_format_before_any_delta_ends_with_an_error_event(
    engine: CannedEngine, backend: tuple[LiveBackend, str]
) -> None:
    # The stream started once the engine had the question: the failure is its error event.
    live, _ = backend
    engine.answer, engine.content_type = b"data: not json\n\n", "text/event-stream"
    r = httpx.post(f"{live.url}/chat", json={"message": "hi", "stream": True})
    assert r.status_code == 200
    error = {"error": {"code": "bad_gateway", "message": "engine 1 sent a malformed stream event"}}
    assert chat_events(r) == [("error", error)]


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"data: not json\n\n", "sent a malformed stream event"),
        (b"", "ended the stream before the answer was complete"),
    ],
)
def test_stream_that_breaks_its_format_after_a_delta_ends_with_an_error_event(
    engine: CannedEngine, backend: tuple[LiveBackend, str], tail: bytes, message: str
) -> None:
    live, _ = backend
    answer = b'data: {"choices": [{"delta": {"content": "half"}}]}\n\n' + tail
    engine.answer, engine.content_type = answer, "text/event-stream"
    with httpx.stream("POST", f"{live.url}/chat", json={"message": "hi", "stream": True}) as r:
        assert r.status_code == 200
        events = chat_events(r)
    assert events == [
        ("message", {"delta": "half"}),
        ("error", {"error": {"code": "bad_gateway", "message": f"engine 1 {message}"}}),
    ]
