"""The stub engine itself: the contract other tests rely on."""

from __future__ import annotations

import json
import socket
import threading

import httpx
import pytest

from tests.support.stub_engine import Step, StubEngine

BODY = {"model": "stub-model", "messages": [{"role": "user", "content": "two words"}]}


def _events(response: httpx.Response) -> list[str]:
    return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def test_models_and_health(stub_engine: StubEngine) -> None:
    assert httpx.get(f"{stub_engine.url}/v1/models").json() == {
        "object": "list",
        "data": [{"id": "stub-model", "object": "model", "created": 0, "owned_by": "stub"}],
    }
    assert httpx.get(f"{stub_engine.url}/health").status_code == 200
    stub_engine.healthy = False
    assert httpx.get(f"{stub_engine.url}/health").status_code == 503
    assert httpx.get(f"{stub_engine.url}/v1/models").status_code == 503


def test_non_stream_reply_with_usage(stub_engine: StubEngine) -> None:
    reply = httpx.post(f"{stub_engine.url}/v1/chat/completions", json=BODY).json()
    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "Hello from the stub."}
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
    assert stub_engine.requests == [BODY]
    assert stub_engine.wait_completed(1)
    assert stub_engine.completed == 1


def test_stream_chunks_then_usage_then_done(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["a", "b"]))
    with httpx.stream("POST", f"{stub_engine.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        assert r.headers["content-type"] == "text/event-stream"
        events = _events(r)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert deltas == ["", "a", "b", None]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}


def test_script_pops_in_order_then_default(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["one"]), Step(status=500, error_message="boom"))
    url = f"{stub_engine.url}/v1/chat/completions"
    assert httpx.post(url, json=BODY).json()["choices"][0]["message"]["content"] == "one"
    failed = httpx.post(url, json=BODY)
    assert failed.status_code == 500
    assert failed.json() == {"error": {"message": "boom", "type": "server_error", "code": 500}}
    assert httpx.post(url, json=BODY).json()["choices"][0]["message"]["content"] == "Hello from the stub."
    assert len(stub_engine.requests) == 3


def test_fail_after_drops_the_stream(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["a", "b", "c"], fail_after=1))
    seen: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream("POST", f"{stub_engine.url}/v1/chat/completions", json={**BODY, "stream": True}) as r,
    ):
        for line in r.iter_lines():
            if line.startswith("data: "):
                seen.append(line[len("data: ") :])
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in seen] == ["", "a"]
    assert stub_engine.cancelled == 0


def test_fail_after_drops_a_non_stream_reply(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(fail_after=0))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{stub_engine.url}/v1/chat/completions", json=BODY)


def test_abandoned_stream_is_counted_as_cancelled(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["x"] * 100, delay=0.5))
    with httpx.stream("POST", f"{stub_engine.url}/v1/chat/completions", json={**BODY, "stream": True}) as r:
        next(r.iter_lines())
    assert stub_engine.wait_cancelled()
    assert stub_engine.cancelled == 1
    assert stub_engine.completed == 0


def test_client_leaving_during_first_byte_delay_is_counted(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(first_byte_delay=30))
    port = int(stub_engine.url.rsplit(":", 1)[1])
    body = json.dumps({**BODY, "stream": True}).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert stub_engine.wait_requests(1)
    assert stub_engine.wait_cancelled()


def test_wait_cancelled_times_out_when_nothing_is_abandoned(stub_engine: StubEngine) -> None:
    httpx.post(f"{stub_engine.url}/v1/chat/completions", json=BODY)
    assert stub_engine.wait_cancelled(timeout=0.05) is False


def test_restart_on_the_same_port() -> None:
    stub = StubEngine().start()
    url = stub.url
    stub.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")
    stub.start()
    try:
        assert stub.url == url
        assert httpx.get(f"{url}/health").status_code == 200
    finally:
        stub.stop()


def test_concurrent_streams_are_served_independently(stub_engine: StubEngine) -> None:
    stub_engine.default = Step(chunks=["p", "q"], delay=0.01)
    results: list[str] = []

    def one() -> None:
        reply = httpx.post(f"{stub_engine.url}/v1/chat/completions", json=BODY, timeout=10)
        results.append(reply.json()["choices"][0]["message"]["content"])

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["pq"] * 8
