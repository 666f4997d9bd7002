"""The OpenAI-compatible API: /v1/models and /v1/chat/completions, streamed or not (validation:
test_openai_validation.py; engine errors: test_openai_engine_errors.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.server.helpers import sse_events
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]
BODY = {
    "model": "stub-model",
    "messages": [{"role": "user", "content": "hi there"}],
    "max_tokens": 9,
    "seed": 4,
}


@pytest.fixture
def backend(stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    return live_backend({}, [stub_engine.url])


def test_models_are_relayed(backend: LiveBackend, stub_engine: StubEngine) -> None:
    assert httpx.get(f"{backend.url}/v1/models").json() == httpx.get(f"{stub_engine.url}/v1/models").json()


def test_body_is_rebuilt_for_the_engine(backend: LiveBackend, stub_engine: StubEngine) -> None:
    raw = json.dumps(BODY, indent=1).encode()
    r = httpx.post(
        f"{backend.url}/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == 200
    assert stub_engine.requests == [BODY]  # known fields, such as "seed", are forwarded once validated
    reply = r.json()
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "Hello from the stub."}
    assert reply["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}


def test_stream_is_relayed_unchanged(backend: LiveBackend, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["x", "y"]), Step(chunks=["x", "y"]))
    with httpx.stream("POST", f"{stub_engine.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        direct = sse_events(r)
    with httpx.stream("POST", f"{backend.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        assert r.headers["content-type"] == "text/event-stream"
        proxied = sse_events(r)

    def strip(events: list) -> list:
        return [
            (n, d if d == "[DONE]" else {k: v for k, v in d.items() if k not in ("id", "created")})
            for n, d in events
        ]

    assert strip(proxied) == strip(direct)
    assert proxied[-1] == ("message", "[DONE]")


@pytest.mark.parametrize("stream", [False, True])
def test_engine_4xx_keeps_its_status_in_openai_format(
    backend: LiveBackend, stub_engine: StubEngine, stream: bool
) -> None:
    stub_engine.script(Step(status=400, error_message="context too long"))
    r = httpx.post(f"{backend.url}/v1/chat/completions", json={**BODY, "stream": stream})
    assert r.status_code == 400
    assert r.json() == {
        "error": {"message": "context too long", "type": "invalid_request_error", "param": None, "code": 400}
    }


@pytest.mark.parametrize("stream", [False, True])
def test_engine_5xx_becomes_502_naming_the_engine(
    backend: LiveBackend, stub_engine: StubEngine, stream: bool
) -> None:
    stub_engine.script(Step(status=500, error_message="oom"))
    r = httpx.post(f"{backend.url}/v1/chat/completions", json={**BODY, "stream": stream})
    assert r.status_code == 502
    assert r.json() == {"error": {"code": "bad_gateway", "message": "engine 1 answered 500: oom"}}


def test_failure_mid_stream_ends_with_an_openai_error_then_done(
    backend: LiveBackend, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=["a", "b"], fail_after=1))
    with httpx.stream("POST", f"{backend.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        assert r.status_code == 200
        events = sse_events(r)
    assert [d["choices"][0]["delta"]["content"] for _, d in events[:2]] == ["", "a"]
    name, error = events[2]
    assert name == "message"
    assert set(error) == {"error"}
    assert error["error"]["message"].startswith("engine 1 broke off the answer")
    assert {k: v for k, v in error["error"].items() if k != "message"} == {
        "type": "server_error",
        "param": None,
        "code": "bad_gateway",
    }
    assert events[3:] == [("message", "[DONE]")]


def test_engine_timeout_mid_stream_ends_with_an_openai_error_then_done(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"request_timeout": 0.3}, [stub_engine.url])
    stub_engine.script(Step(chunks=["a", "b"], delay=60))
    with httpx.stream("POST", f"{backend.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        lines = [line for line in r.iter_lines() if line]
    error = {
        "message": "engine 1 did not answer within 0.3 s",
        "type": "server_error",
        "param": None,
        "code": "engine_timeout",
    }
    assert lines[-2:] == ["data: " + json.dumps({"error": error}, separators=(",", ":")), "data: [DONE]"]
    assert [json.loads(line[6:])["choices"][0]["delta"]["content"] for line in lines[:-2]] == ["", "a"]


def test_engine_down(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    url = stub_engine.url
    stub_engine.stop()
    backend = live_backend({}, [url])
    for r in (
        httpx.get(f"{backend.url}/v1/models"),
        httpx.post(f"{backend.url}/v1/chat/completions", json=BODY),
    ):
        assert r.status_code == 503
        assert r.json()["error"] == {
            "code": "engine_unavailable",
            "message": "engine 1 cannot be reached; is it running?",
        }


def test_client_leaving_a_stream_cancels_the_engine_request(
    backend: LiveBackend, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=["x"] * 200, delay=0.5))
    with httpx.stream("POST", f"{backend.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        next(r.iter_lines())
    assert stub_engine.wait_cancelled()


def test_stats_count_passthrough_tokens(backend: LiveBackend, stub_engine: StubEngine) -> None:
    httpx.post(f"{backend.url}/v1/chat/completions", json=BODY)
    with httpx.stream("POST", f"{backend.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        r.read()
    stats = httpx.get(f"{backend.url}/stats").json()
    assert stats["requests_by_endpoint"] == {"/v1/chat/completions": 2}
    assert stats["tokens"] == {"prompt": 4, "completion": 8, "total": 12}
    assert stats["ttft_seconds"]["count"] == 1
