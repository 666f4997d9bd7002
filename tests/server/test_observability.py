"""/stats and /metrics after a known sequence of requests; the percentile arithmetic."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from edubot_cli.server.metrics import Metrics, percentile, summary
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]


def _known_traffic(backend: LiveBackend, stub: StubEngine) -> None:
    stub.script(
        Step(chunks=["a", "b", "c"]),  # JSON: 3 completion tokens
        Step(chunks=["d", "e"]),  # stream: 2
        Step(status=500),  # JSON: engine error
        Step(chunks=["f", "g"], fail_after=1),  # stream: broken after its first token
        Step(chunks=["g", "h"]),  # pass-through JSON: 2
    )
    url = backend.url
    assert httpx.post(f"{url}/chat", json={"message": "one two"}).status_code == 200
    with httpx.stream("POST", f"{url}/chat", json={"message": "three", "stream": True}) as r:
        r.read()
    assert httpx.post(f"{url}/chat", json={"message": "x"}).status_code == 502
    with httpx.stream("POST", f"{url}/chat", json={"message": "y", "stream": True}) as r:
        r.read()
    body = {"messages": [{"role": "user", "content": "four five six"}]}
    assert httpx.post(f"{url}/v1/chat/completions", json=body).status_code == 200
    assert httpx.post(f"{url}/chat", json={"message": ""}).status_code == 422


def test_stats_are_exact_after_known_traffic(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({"system_prompt": "Be kind."}, [stub_engine.url])
    _known_traffic(backend, stub_engine)
    stats = httpx.get(f"{backend.url}/stats").json()
    assert stats["requests"] == 5
    assert stats["errors"] == 2
    assert stats["cancelled"] == 0
    assert stats["in_flight"] == 0
    assert stats["rejected"] == {"422": 1}
    assert stats["requests_by_endpoint"] == {"/chat": 4, "/v1/chat/completions": 1}
    # prompts: "Be kind." + "one two" = 4, "Be kind." + "three" = 3, pass-through "four five six" = 3
    assert stats["tokens"] == {"prompt": 10, "completion": 7, "total": 17}
    assert stats["latency_seconds"]["count"] == 3
    assert stats["ttft_seconds"]["count"] == 2  # both streams produced a first token
    lat = stats["latency_seconds"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert stats["engines"] == [{"name": "engine 1", "status": "ok", "in_flight": 0, "model": "stub-model"}]


def test_prometheus_metrics_are_exact_after_known_traffic(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"system_prompt": "Be kind."}, [stub_engine.url])
    _known_traffic(backend, stub_engine)
    r = httpx.get(f"{backend.url}/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    assert samples[("edubot_requests_total", (("endpoint", "/chat"), ("outcome", "ok")))] == 2
    assert samples[("edubot_requests_total", (("endpoint", "/chat"), ("outcome", "error")))] == 2
    assert samples[("edubot_requests_total", (("endpoint", "/v1/chat/completions"), ("outcome", "ok")))] == 1
    assert samples[("edubot_rejected_requests_total", (("status", "422"),))] == 1
    assert samples[("edubot_tokens_total", (("kind", "prompt"),))] == 10
    assert samples[("edubot_tokens_total", (("kind", "completion"),))] == 7
    assert samples[("edubot_request_latency_seconds_count", (("endpoint", "/chat"),))] == 2
    assert samples[("edubot_time_to_first_token_seconds_count", (("endpoint", "/chat"),))] == 2
    assert samples[("edubot_requests_in_flight", ())] == 0
    assert samples[("edubot_engine_up", (("engine", "engine 1"),))] == 1


def test_each_app_has_its_own_registry(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    first = live_backend({}, [stub_engine.url])
    second = live_backend({}, [stub_engine.url])
    httpx.post(f"{first.url}/chat", json={"message": "x"})
    assert "edubot_requests_total" in httpx.get(f"{first.url}/metrics").text
    assert httpx.get(f"{second.url}/stats").json()["requests"] == 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 90) == 90.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 50) == 3.0
    assert percentile([], 50) is None


def test_summary_of_known_samples() -> None:
    assert summary(deque([0.4, 0.1, 0.3, 0.2])) == {
        "count": 4,
        "p50": 0.2,
        "p90": 0.4,
        "p99": 0.4,
        "max": 0.4,
    }
    assert summary(deque()) == {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}


def test_metrics_window_is_bounded() -> None:
    metrics = Metrics()
    for i in range(12_000):
        metrics.begin("/chat")
        metrics.finish("/chat", "ok", latency=float(i))
    snap = metrics.snapshot()
    assert snap["requests"] == 12_000
    assert snap["latency_seconds"]["count"] == 10_000
    assert snap["latency_seconds"]["max"] == 11_999.0
