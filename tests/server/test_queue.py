"""The admission queue over HTTP, with the scripted stub engine holding the slots: a request beyond the engine's
slots waits in line and is told its place, a full line is a 503, a client that leaves gives up its place."""

from __future__ import annotations

import json
import socket
import threading

import httpx
import pytest

from tests.server.helpers import raw_request
from tests.support.fake_watch import FakeWatch
from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING, eventually
from tests.support.stub_engine import Step, StubEngine

pytestmark = pytest.mark.timeout(120)


def held() -> tuple[Step, threading.Event]:
    """A reply that keeps its slot until the test sets the event."""
    gate = threading.Event()
    return Step(chunks=["held"], gate=gate), gate


def queue_state(backend: LiveBackend) -> dict:
    return httpx.get(backend.url + "/health", timeout=10).json()["queue"]


def hold_the_slot(backend: LiveBackend) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: httpx.post(backend.url + "/chat", json={"message": "first"}, timeout=CEILING),
        daemon=True,
    )
    thread.start()
    assert eventually(lambda: queue_state(backend)["active"] == 1)
    return thread


def test_a_streamed_chat_waits_in_line_and_is_told_its_place(stub_engine: StubEngine, live_backend) -> None:
    backend = live_backend({"max_queue": 4}, [stub_engine.url], capacity=1)
    step, gate = held()
    stub_engine.script(step)
    holder = hold_the_slot(backend)
    health = httpx.get(backend.url + "/health", timeout=10).json()
    assert (health["status"], health["engine"]) == ("healthy", "busy")
    events = []
    with httpx.stream(
        "POST", backend.url + "/chat", json={"message": "second", "stream": True}, timeout=CEILING
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
                if "queued" in events[-1]:
                    gate.set()  # told its place: now the slot is given back
    holder.join()
    assert events[:2] == [{"started": {"id": response.headers["x-request-id"]}}, {"queued": {"ahead": 0}}]
    assert [e["delta"] for e in events if "delta" in e] == ["Hello", " from", " the", " stub."]
    assert events[-1]["done"] is True
    assert queue_state(backend) == {"capacity": 1, "active": 0, "waiting": 0}


def test_openai_streams_carry_the_place_as_a_comment(stub_engine: StubEngine, live_backend) -> None:
    backend = live_backend({"max_queue": 4}, [stub_engine.url], capacity=1)
    step, gate = held()
    stub_engine.script(step)
    holder = hold_the_slot(backend)
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    lines = []
    with httpx.stream("POST", backend.url + "/v1/chat/completions", json=body, timeout=CEILING) as response:
        for line in response.iter_lines():
            if line:
                lines.append(line)
                gate.set()  # told its place: now the slot is given back
    holder.join()
    assert lines[0] == ': queued {"ahead": 0}'
    assert lines[-1] == "data: [DONE]"


def test_a_full_line_is_503_with_retry_after(stub_engine: StubEngine, live_backend) -> None:
    backend = live_backend({"max_queue": 1}, [stub_engine.url], capacity=1)
    step, gate = held()
    stub_engine.script(step, step)
    holder = hold_the_slot(backend)
    waiter = threading.Thread(
        target=lambda: httpx.post(backend.url + "/chat", json={"message": "second"}, timeout=CEILING),
        daemon=True,
    )
    waiter.start()
    assert eventually(lambda: queue_state(backend)["waiting"] == 1)
    response = httpx.post(backend.url + "/chat", json={"message": "third"}, timeout=30)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json() == {
        "error": {
            "code": "engine_unavailable",
            "message": "the engine is busy: 1 requests in progress and 1 waiting (max_queue); try again shortly",
        }
    }
    gate.set()
    holder.join()
    waiter.join()
    assert len(stub_engine.requests) == 2  # the refused request never reached the engine


def test_a_client_that_leaves_the_line_gives_up_its_place(stub_engine: StubEngine, live_backend) -> None:
    backend = live_backend({"max_queue": 4}, [stub_engine.url], capacity=1)
    step, gate = held()
    stub_engine.script(step)
    holder = hold_the_slot(backend)
    with httpx.stream(
        "POST", backend.url + "/chat", json={"message": "x", "stream": True}, timeout=CEILING
    ) as response:
        lines = response.iter_lines()  # kept: a discarded line iterator closes the response
        data = (json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: "))
        first, second = next(data), next(data)
        assert (first, second) == (
            {"started": {"id": response.headers["x-request-id"]}},
            {"queued": {"ahead": 0}},
        )
        assert queue_state(backend) == {"capacity": 1, "active": 1, "waiting": 1}
    assert eventually(lambda: queue_state(backend)["waiting"] == 0)
    gate.set()
    holder.join()
    assert len(stub_engine.requests) == 1  # the one that left never reached the engine
    assert eventually(lambda: queue_state(backend) == {"capacity": 1, "active": 0, "waiting": 0})


def test_listing_models_does_not_wait_in_line(stub_engine: StubEngine, live_backend) -> None:
    backend = live_backend({"max_queue": 0}, [stub_engine.url], capacity=1)
    step, gate = held()
    stub_engine.script(step)
    holder = hold_the_slot(backend)
    response = httpx.get(backend.url + "/v1/models", timeout=10)
    assert response.status_code == 200
    assert [model["id"] for model in response.json()["data"]] == ["stub-model"]
    assert queue_state(backend) == {"capacity": 1, "active": 1, "waiting": 0}
    gate.set()
    holder.join()


def test_every_slot_gets_the_system_prompt_at_start_and_after_a_restart(
    stub_engine: StubEngine, live_backend
) -> None:
    watch = FakeWatch()
    backend = live_backend(
        {"system_prompt": "Be kind."},
        [stub_engine.url],
        capacity=3,
        health_interval=0.05,
        watch=watch,
        warm=True,
    )
    assert stub_engine.wait_requests(3)
    warm = {
        "model": "edubot",
        "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": ""}],
        "max_tokens": 1,
        "temperature": 0,
    }
    assert stub_engine.requests == [warm] * 3
    assert queue_state(backend) == {"capacity": 3, "active": 0, "waiting": 0}  # the warm-up takes no place
    watch.back()  # the supervisor brought a fresh engine back
    assert stub_engine.wait_requests(6)
    assert stub_engine.requests[3:] == [warm] * 3


def asked(stub: StubEngine) -> list[str]:
    """The last message of every chat request the stub got, in order: "" for a warm-up."""
    return [r["messages"][-1]["content"] for r in stub.requests]


def test_the_first_question_does_not_wait_behind_the_warm_up(stub_engine: StubEngine, live_backend) -> None:
    """In the engine's slots a question would wait for the warm-up: the backend drops the warm-up for it."""
    stub_engine.script(*[Step(first_byte_delay=30)] * 3)  # the warm-up of the three slots, held by the engine
    backend = live_backend({"system_prompt": "Be kind."}, [stub_engine.url], capacity=3, warm=True)
    assert stub_engine.wait_requests(3)
    answer = httpx.post(backend.url + "/chat", json={"message": "hi"}, timeout=30)
    assert answer.status_code == 200
    assert stub_engine.wait_cancelled(3)  # the warm-up's connections were closed: the engine drops that work
    assert asked(stub_engine) == ["", "", "", "hi"]


def test_after_a_restart_the_warm_up_waits_for_the_questions(stub_engine: StubEngine, live_backend) -> None:
    watch = FakeWatch()
    backend = live_backend(
        {"system_prompt": "Be kind.", "max_queue": 4},
        [stub_engine.url],
        capacity=1,
        health_interval=0.05,
        watch=watch,
        warm=True,
    )
    pool = backend.app.state.backend.pool
    assert stub_engine.wait_completed(1)  # the warm-up at start
    stub_engine.script(Step(chunks=["held"], first_byte_delay=30))
    port = int(backend.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as first:
        first.sendall(raw_request(port, "POST", "/chat", json.dumps({"message": "first"}).encode()))
        assert stub_engine.wait_requests(2)
        watch.restarts = 1  # the engine came back while "first" is in it: the warm-up is due again
        assert eventually(lambda: pool._restarts_seen == 1)
        second = threading.Thread(
            target=lambda: httpx.post(backend.url + "/chat", json={"message": "second"}, timeout=30)
        )
        second.start()
        assert eventually(lambda: queue_state(backend)["waiting"] == 1)
    # "first" leaves; "second" takes its slot; only then, with no question left, does the warm-up run.
    second.join(30)
    assert stub_engine.wait_requests(4)
    assert asked(stub_engine) == ["", "first", "second", ""]


def test_no_warm_up_without_slots_or_system_prompt(stub_engine: StubEngine, live_backend) -> None:
    live_backend({"system_prompt": "Be kind."}, [stub_engine.url], warm=True)  # external: no known slots
    live_backend({"system_prompt": ""}, [stub_engine.url], capacity=2, warm=True)
    httpx.post(live_backend({}, [stub_engine.url]).url + "/chat", json={"message": "hi"}, timeout=10)
    assert [r["messages"][-1]["content"] for r in stub_engine.requests] == ["hi"]
