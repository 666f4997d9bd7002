"""Several engines behind one backend: balancing, failover on connection errors, health out and back in."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.live_backend import LiveBackend
from tests.support.poll import eventually
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]
CHAT = {"message": "hello"}


@pytest.fixture
def pair() -> Iterator[tuple[StubEngine, StubEngine]]:
    with StubEngine("model-a") as a, StubEngine("model-b") as b:
        yield a, b


def test_round_robin_when_equally_busy(
    pair: tuple[StubEngine, StubEngine], live_backend: MakeBackend
) -> None:
    a, b = pair
    backend = live_backend({}, [a.url, b.url])
    for _ in range(6):
        assert httpx.post(f"{backend.url}/chat", json=CHAT).status_code == 200
    assert (len(a.requests), len(b.requests)) == (3, 3)


def test_least_busy_engine_gets_the_next_request(
    pair: tuple[StubEngine, StubEngine], live_backend: MakeBackend
) -> None:
    a, b = pair
    backend = live_backend({}, [a.url, b.url])
    # A stream paused after its first chunk keeps one engine busy until the test leaves it.
    a.default = b.default = Step(chunks=["x", "y"], gate=threading.Event(), gate_after=1)
    with httpx.stream("POST", f"{backend.url}/chat", json={**CHAT, "stream": True}) as busy:
        lines = busy.iter_lines()  # kept referenced: a dropped iterator closes the connection
        assert next(line for line in lines if line.startswith('data: {"delta"')) == 'data: {"delta":"x"}'
        first = a if a.requests else b
        other = b if first is a else a
        first.default = other.default = Step()
        for _ in range(4):
            assert httpx.post(f"{backend.url}/chat", json=CHAT).status_code == 200
        assert (len(first.requests), len(other.requests)) == (1, 4)


def test_connection_error_moves_to_another_engine(
    pair: tuple[StubEngine, StubEngine], live_backend: MakeBackend
) -> None:
    a, b = pair
    backend = live_backend({}, [a.url, b.url], health_interval=3600)
    a.stop()
    for _ in range(4):
        r = httpx.post(f"{backend.url}/chat", json=CHAT)
        assert r.status_code == 200
        assert r.json()["model"] == "model-b"
    assert len(b.requests) == 4
    engines = {e["name"]: e["status"] for e in httpx.get(f"{backend.url}/stats").json()["engines"]}
    assert engines == {"engine 1": "unreachable", "engine 2": "ok"}


def test_no_retry_once_the_engine_has_the_request(
    pair: tuple[StubEngine, StubEngine], live_backend: MakeBackend
) -> None:
    a, b = pair
    backend = live_backend({}, [a.url, b.url])
    a.default = b.default = Step(fail_after=0)
    r = httpx.post(f"{backend.url}/chat", json=CHAT)
    assert r.status_code == 502
    assert len(a.requests) + len(b.requests) == 1


def test_all_engines_down_is_503_without_their_urls(
    pair: tuple[StubEngine, StubEngine], live_backend: MakeBackend
) -> None:
    a, b = pair
    backend = live_backend({}, [a.url, b.url], health_interval=3600)
    a.stop()
    b.stop()
    r = httpx.post(f"{backend.url}/chat", json=CHAT)
    assert r.status_code == 503
    assert r.json()["error"]["message"] == "none of the 2 engines can be reached; are they running?"
    assert r.headers["retry-after"] == "5"
    health = httpx.get(f"{backend.url}/health")
    assert health.status_code == 503
    assert (health.json()["status"], health.json()["engine"]) == ("unhealthy", "unreachable")


def test_failing_engine_is_taken_out_and_put_back(
    pair: tuple[StubEngine, StubEngine], live_backend: MakeBackend
) -> None:
    a, b = pair
    backend = live_backend({}, [a.url, b.url], health_interval=0.05)
    pool = backend.app.state.backend.pool
    a.healthy = False  # answers /v1/models with 503
    assert eventually(lambda: not pool.engines[0].healthy)
    for _ in range(4):
        assert httpx.post(f"{backend.url}/chat", json=CHAT).status_code == 200
    assert (len(a.requests), len(b.requests)) == (0, 4)
    health = httpx.get(f"{backend.url}/health").json()
    assert (health["status"], health["engine"]) == ("healthy", "degraded")
    assert [e["status"] for e in health["engines"]] == ["unreachable", "ok"]

    a.healthy = True
    assert eventually(lambda: pool.engines[0].healthy)
    for _ in range(4):
        assert httpx.post(f"{backend.url}/chat", json=CHAT).status_code == 200
    assert (len(a.requests), len(b.requests)) == (2, 6)


def test_engine_restarted_on_the_same_port_comes_back(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({}, [stub_engine.url], health_interval=0.05)
    pool = backend.app.state.backend.pool
    stub_engine.stop()
    assert eventually(lambda: not pool.engines[0].healthy)
    assert httpx.get(f"{backend.url}/health").status_code == 503
    stub_engine.start()
    assert eventually(lambda: pool.engines[0].healthy)
    assert httpx.get(f"{backend.url}/health").status_code == 200
    assert httpx.post(f"{backend.url}/chat", json=CHAT).status_code == 200


def test_models_lists_every_healthy_engine(
    pair: tuple[StubEngine, StubEngine], live_backend: MakeBackend
) -> None:
    a, b = pair
    backend = live_backend({}, [a.url + "/v1", b.url + "/"])
    assert httpx.get(f"{backend.url}/models").json() == {
        "engine": "external",
        "default": "model-a",
        "models": [{"id": "model-a", "engine": "engine 1"}, {"id": "model-b", "engine": "engine 2"}],
    }
