"""POST /chat against the scripted stub engine: JSON and SSE answers, engine failures, timeouts, disconnects."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.server.helpers import chat_events, raw_request, started_line
from tests.support.live_backend import LiveBackend
from tests.support.poll import eventually
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]
SYSTEM = "You are a test tutor."


@pytest.fixture
def backend(stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    return live_backend({"system_prompt": SYSTEM, "max_tokens": 77, "temperature": 0.3}, [stub_engine.url])


def test_json_answer_and_what_the_engine_receives(backend: LiveBackend, stub_engine: StubEngine) -> None:
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    r = httpx.post(
        f"{backend.url}/chat", json={"message": "What is a cell?", "conversation_history": history}
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "response", "model", "tokens_used", "prompt_tokens", "completion_tokens", "latency_seconds", "timestamp",
        "sources", "faithfulness", "truncated", "sampling",
    }  # fmt: skip
    assert body["sources"] == []  # grounding is off here
    assert (body["faithfulness"], body["truncated"]) == ("unchecked", False)
    assert body["sampling"] == {"temperature": 0.3, "max_tokens": 77}
    assert body["response"] == "Hello from the stub."
    assert body["model"] == "stub-model"
    # prompt = words of "You are a test tutor." + "Hi" + "Hello!" + "What is a cell?"
    assert (body["prompt_tokens"], body["completion_tokens"], body["tokens_used"]) == (11, 4, 15)
    assert body["timestamp"].endswith("Z")
    assert stub_engine.requests == [
        {
            "model": "stub-model",
            "messages": [
                {"role": "system", "content": SYSTEM},
                *history,
                {"role": "user", "content": "What is a cell?"},
            ],
            "max_tokens": 77,
            "temperature": 0.3,
            "stream": False,
        }
    ]


def test_request_overrides_max_tokens_and_temperature(backend: LiveBackend, stub_engine: StubEngine) -> None:
    r = httpx.post(f"{backend.url}/chat", json={"message": "x", "max_tokens": 5, "temperature": 0})
    assert r.status_code == 200
    assert (stub_engine.requests[0]["max_tokens"], stub_engine.requests[0]["temperature"]) == (5, 0)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (b'{"message": "a", "max_tokens": true}', "max_tokens", "Input should be a valid integer"),
        (b'{"message": "a", "max_tokens": "4"}', "max_tokens", "Input should be a valid integer"),
        (b'{"message": "a", "max_tokens": 4.5}', "max_tokens", "Input should be a valid integer"),  # 4.0 is 4
        (b'{"message": "a", "stream": 0}', "stream", "Input should be a valid boolean"),
        (b'{"message": "a", "stream": "true"}', "stream", "Input should be a valid boolean"),
        (b'{"message": "a", "temperature": true}', "temperature", "Input should be a valid number"),
        (b'{"message": "a", "temperature": "0.5"}', "temperature", "Input should be a valid number"),
        (b'{"message": "a", "grounded": 1}', "grounded", "Input should be a valid boolean"),
        (b'{"message": 5}', "message", "Input should be a valid string"),
        (
            b'{"message": "a", "conversation_history": [{"role": "user", "content": 1}]}',
            "conversation_history.0.content",
            "Input should be a valid string",
        ),
        (b'{"message": "a", "message": "b"}', "message", "given more than once; send each field once"),
        (
            b'{"message": "a", "conversation_history": [{"role": "user", "content": "x", "role": "user"}]}',
            "conversation_history.0.role",
            "given more than once; send each field once",
        ),
    ],
)
def test_loose_types_and_duplicate_keys_are_refused(
    backend: LiveBackend, stub_engine: StubEngine, raw: bytes, field: str, message: str
) -> None:
    r = httpx.post(f"{backend.url}/chat", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json() == {
        "error": {"code": "validation_error", "message": f"{field}: {message}", "field": field}
    }
    assert stub_engine.requests == []


def test_integers_are_numbers_for_temperature(backend: LiveBackend, stub_engine: StubEngine) -> None:
    r = httpx.post(f"{backend.url}/chat", json={"message": "x", "temperature": 1, "stream": False})
    assert r.status_code == 200
    assert stub_engine.requests[0]["temperature"] == 1


def test_system_prompt_override_refused_unless_allowed(
    stub_engine: StubEngine, live_backend: MakeBackend, backend: LiveBackend
) -> None:
    r = httpx.post(f"{backend.url}/chat", json={"message": "x", "system_prompt": "Be a pirate."})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"
    assert "allow_system_prompt_override" in r.json()["error"]["message"]
    assert stub_engine.requests == []

    allowing = live_backend({"allow_system_prompt_override": True}, [stub_engine.url])
    assert (
        httpx.post(f"{allowing.url}/chat", json={"message": "x", "system_prompt": "Be a pirate."}).status_code
        == 200
    )
    assert stub_engine.requests[0]["messages"][0] == {"role": "system", "content": "Be a pirate."}


def test_stream_deltas_then_done(backend: LiveBackend, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["Photo", "synthesis", " is ", "light → sugar"], delay=0.01))
    with httpx.stream(
        "POST", f"{backend.url}/chat", json={"message": "What is photosynthesis?", "stream": True}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        events = chat_events(r)
    assert events[:4] == [("message", {"delta": d}) for d in ["Photo", "synthesis", " is ", "light → sugar"]]
    assert len(events) == 5
    name, done = events[4]
    assert name == "message"
    assert set(done) == {
        "done", "model", "usage", "latency_seconds", "ttft_seconds", "sources", "faithfulness", "truncated",
        "sampling",
    }  # fmt: skip
    assert done["sources"] == []
    assert (done["faithfulness"], done["truncated"]) == ("unchecked", False)
    assert done["done"] is True
    assert done["model"] == "stub-model"
    assert done["usage"] == {"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12}
    assert 0 < done["ttft_seconds"] <= done["latency_seconds"]
    assert stub_engine.requests[0]["stream"] is True
    assert stub_engine.requests[0]["stream_options"] == {"include_usage": True}


def test_slow_first_byte_is_waited_for(backend: LiveBackend, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["late"], first_byte_delay=0.3))
    with httpx.stream("POST", f"{backend.url}/chat", json={"message": "x", "stream": True}) as r:
        events = chat_events(r)
    assert events[0] == ("message", {"delta": "late"})
    assert events[1][1]["ttft_seconds"] >= 0.3


def test_a_stream_starts_before_the_engine_answers(backend: LiveBackend, stub_engine: StubEngine) -> None:
    """The headers and the ``started`` event come while the engine still reads the prompt (its headers held)."""
    import threading

    gate = threading.Event()
    stub_engine.script(Step(chunks=["at last"], gate=gate))
    with httpx.stream("POST", f"{backend.url}/chat", json={"message": "x", "stream": True}) as r:
        assert (r.status_code, r.headers["content-type"]) == (200, "text/event-stream; charset=utf-8")
        lines = r.iter_lines()
        first = next(lines)  # while the engine holds its answer, headers included, until the gate opens
        assert stub_engine.wait_held()
        assert first == started_line(r)
        gate.set()
        rest = [line for line in lines if line]
    assert rest[0] == 'data: {"delta":"at last"}'
    assert json.loads(rest[1][len("data: ") :])["done"] is True
    assert len(rest) == 2


def test_failure_mid_stream_ends_with_an_error_event(backend: LiveBackend, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["a", "b", "c"], fail_after=2))
    with httpx.stream("POST", f"{backend.url}/chat", json={"message": "x", "stream": True}) as r:
        assert r.status_code == 200
        events = chat_events(r)
    assert events[:2] == [("message", {"delta": "a"}), ("message", {"delta": "b"})]
    assert len(events) == 3
    name, data = events[2]
    assert name == "error"
    assert data["error"]["code"] == "bad_gateway"
    assert data["error"]["message"].startswith("engine 1 broke off the answer")


def test_failure_in_a_json_answer_is_502(backend: LiveBackend, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(fail_after=0))
    r = httpx.post(f"{backend.url}/chat", json={"message": "x"})
    assert r.status_code == 502
    assert r.json()["error"]["message"].startswith("engine 1 broke off the answer")


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("engine_status", "status", "code"),
    [(500, 502, "bad_gateway"), (503, 503, "engine_unavailable"), (400, 400, "bad_request")],
)
def test_engine_error_status_becomes_an_api_error(
    backend: LiveBackend, stub_engine: StubEngine, stream: bool, engine_status: int, status: int, code: str
) -> None:
    stub_engine.script(Step(status=engine_status, error_message="model exploded"))
    r = httpx.post(f"{backend.url}/chat", json={"message": "x", "stream": stream})
    error = {"error": {"code": code, "message": f"engine 1 answered {engine_status}: model exploded"}}
    if stream:  # the engine had the question: the stream had started
        assert (r.status_code, chat_events(r)) == (200, [("error", error)])
    else:
        assert (r.status_code, r.json()) == (status, error)


@pytest.mark.parametrize("stream", [False, True])
def test_engine_down_is_503_naming_the_url(
    stub_engine: StubEngine, live_backend: MakeBackend, stream: bool
) -> None:
    url = stub_engine.url
    stub_engine.stop()
    backend = live_backend({}, [url])
    r = httpx.post(f"{backend.url}/chat", json={"message": "x", "stream": stream})
    assert r.status_code == 503
    assert r.json() == {
        "error": {"code": "engine_unavailable", "message": "engine 1 cannot be reached; is it running?"}
    }
    assert r.headers["retry-after"] == "5"


@pytest.mark.parametrize("stream", [False, True])
def test_no_first_byte_within_request_timeout_is_a_504_or_a_timeout_event(
    stub_engine: StubEngine, live_backend: MakeBackend, stream: bool
) -> None:
    backend = live_backend({"request_timeout": 0.3}, [stub_engine.url])
    stub_engine.script(Step(first_byte_delay=60))
    r = httpx.post(f"{backend.url}/chat", json={"message": "x", "stream": stream})
    error = {"error": {"code": "engine_timeout", "message": "engine 1 did not answer within 0.3 s"}}
    if stream:  # the engine had the question: the stream had started
        assert (r.status_code, chat_events(r)) == (200, [("error", error)])
    else:
        assert (r.status_code, r.json()) == (504, error)
    assert stub_engine.wait_cancelled()


def test_engine_stalling_mid_stream_ends_with_a_timeout_event(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"request_timeout": 0.3}, [stub_engine.url])
    stub_engine.script(Step(chunks=["a", "b"], delay=60))
    with httpx.stream("POST", f"{backend.url}/chat", json={"message": "x", "stream": True}) as r:
        events = chat_events(r)
    assert events == [
        ("message", {"delta": "a"}),
        (
            "error",
            {
                "error": {
                    "code": "engine_timeout",
                    "message": "engine 1 did not answer within 0.3 s",
                }
            },
        ),
    ]


def test_client_leaving_a_stream_cancels_the_engine_request(
    backend: LiveBackend, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=["x"] * 200, delay=0.5))
    with httpx.stream("POST", f"{backend.url}/chat", json={"message": "x", "stream": True}) as r:
        lines = r.iter_lines()
        assert [next(lines), next(lines), next(lines)] == [
            started_line(r),
            "",
            'data: {"delta":"x"}',
        ]
    assert stub_engine.wait_cancelled()
    stats = backend.app.state.backend.metrics
    assert eventually(lambda: stats.cancelled == 1)
    assert (stats.requests, stats.errors, stats.in_flight) == (1, 0, 0)


def test_client_leaving_while_the_engine_thinks_cancels_it(
    backend: LiveBackend, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(first_byte_delay=30))
    port = int(backend.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(raw_request(port, "POST", "/chat", json.dumps({"message": "x"}).encode()))
        assert stub_engine.wait_requests(1)
    assert stub_engine.wait_cancelled()


def test_concurrent_streams_do_not_mix(backend: LiveBackend, stub_engine: StubEngine) -> None:
    import threading

    stub_engine.default = Step(chunks=["p", "q", "r"], delay=0.01)
    results: list[Any] = []

    def one() -> None:
        with httpx.stream(
            "POST", f"{backend.url}/chat", json={"message": "x", "stream": True}, timeout=10
        ) as r:
            results.append([d.get("delta") for _, d in chat_events(r)])

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [["p", "q", "r", None]] * 10
