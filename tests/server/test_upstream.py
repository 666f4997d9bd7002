"""Engine pool routing rules, without a network."""

from __future__ import annotations

import pytest

from edubot_cli.server.upstream import EnginePool, normalise_url


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"),
        (" http://h:1/v1/ ", "http://h:1"),
        ("https://gpu.example/api", "https://gpu.example/api"),
    ],
)
def test_normalise_url(given: str, base: str) -> None:
    assert normalise_url(given) == base


def test_pick_prefers_healthy_then_least_busy_then_round_robin() -> None:
    pool = EnginePool(["http://a", "http://b", "http://c"], timeout=1)
    a, b, c = pool.engines
    assert [pool.pick(set()).url for _ in range(6)] == ["http://b", "http://c", "http://a"] * 2
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    assert {pool.pick(set()).url for _ in range(4)} == {"http://b"}
    b.healthy = False
    assert {pool.pick(set()).url for _ in range(4)} == {"http://c"}
    assert pool.pick({"http://c"}).url == "http://a"
    assert pool.status() == "degraded"


def test_all_unhealthy_still_tries_them_all() -> None:
    pool = EnginePool(["http://a", "http://b"], timeout=1)
    for engine in pool.engines:
        engine.healthy = False
    assert pool.status() == "unreachable"
    assert pool.pick(set()) is not None
    assert pool.pick({"http://a", "http://b"}) is None


def test_a_pool_needs_an_engine() -> None:
    with pytest.raises(ValueError, match="at least one engine URL"):
        EnginePool([], timeout=1)
