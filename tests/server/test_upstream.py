"""Engine pool routing rules, the admission queue and the supervisor's view, without a network."""

from __future__ import annotations

import asyncio

import pytest

from edubot_cli.server.api_errors import ApiError
from edubot_cli.server.engine.upstream import Admission, EnginePool, Upstream
from tests.support.fake_watch import FakeWatch
from tests.support.poll import until


def test_pick_prefers_healthy_then_least_busy_then_round_robin() -> None:
    pool = EnginePool(Upstream(["http://a", "http://b", "http://c"]), timeout=1)
    a, b, c = pool.engines
    assert [pool.pick(set()).url for _ in range(6)] == ["http://b", "http://c", "http://a"] * 2
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    assert {pool.pick(set()).url for _ in range(4)} == {"http://b"}
    b.healthy = False
    assert {pool.pick(set()).url for _ in range(4)} == {"http://c"}
    assert pool.pick({c.index}).url == "http://a"
    assert pool.status() == "degraded"
    assert [e["name"] for e in pool.describe()] == ["engine 1", "engine 2", "engine 3"]


def test_all_unhealthy_still_tries_them_all() -> None:
    pool = EnginePool(Upstream(["http://a", "http://b"]), timeout=1)
    for engine in pool.engines:
        engine.healthy = False
    assert pool.status() == "unreachable"
    assert pool.pick(set()) is not None
    assert pool.pick({0, 1}) is None


def test_a_pool_needs_an_engine() -> None:
    with pytest.raises(ValueError, match="at least one engine URL"):
        EnginePool(Upstream([]), timeout=1)


def test_capacity_is_per_engine_and_busy_when_every_slot_is_taken() -> None:
    pool = EnginePool(Upstream(["http://a", "http://b"], capacity=2), timeout=1, max_queue=3)
    assert pool.admission.describe() == {"capacity": 4, "active": 0, "waiting": 0}
    pool.admission.active = 4
    assert pool.status() == "busy"
    assert EnginePool(Upstream(["http://a"]), timeout=1).admission.capacity is None


def test_the_supervisor_decides_restarting_and_a_restart_clears_stale_probes() -> None:
    watch = FakeWatch()
    pool = EnginePool(Upstream(["http://a"], watch=watch), timeout=1)
    watch.killed("was killed by SIGSEGV")
    pool.engines[0].healthy = False  # a probe failed while it was down
    assert pool.status() == "restarting"
    assert pool.describe()[0]["status"] == "restarting"
    error = pool.restarting_error()
    assert (error.status, error.headers) == (503, {"Retry-After": "5"})
    assert (
        error.message == "the engine is restarting after it was killed by SIGSEGV; try again in a few seconds"
    )
    watch.back()
    assert pool.status() == "ok"
    assert pool.engines[0].healthy
    watch.state = "failed"
    assert pool.status() == "unreachable"
    assert pool.restarting_error().message == (
        "the engine stopped after it was killed by SIGSEGV and edubot gave up restarting it"
    )


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_admission_without_capacity_never_waits() -> None:
    async def main() -> int:
        admission = Admission(None, 0)
        for _ in range(100):
            await admission.acquire()
        return admission.active

    assert run(main()) == 100


def test_admission_serves_waiters_first_in_first_out_and_reports_their_place() -> None:
    async def main() -> tuple[list[str], dict[str, list[int]]]:
        admission = Admission(1, 5)
        order: list[str] = []
        places: dict[str, list[int]] = {}
        await admission.acquire()

        async def wait(name: str) -> None:
            async def report(ahead: int) -> None:
                places.setdefault(name, []).append(ahead)

            await admission.acquire(report)
            order.append(name)
            await asyncio.sleep(0)
            admission.release()

        tasks = [asyncio.create_task(wait(name)) for name in ("a", "b", "c")]
        assert await until(lambda: admission.describe()["waiting"] == 3)
        assert admission.describe() == {"capacity": 1, "active": 1, "waiting": 3}
        admission.release()
        await asyncio.gather(*tasks)
        assert admission.describe() == {"capacity": 1, "active": 0, "waiting": 0}
        return order, places

    order, places = run(main())
    assert order == ["a", "b", "c"]
    assert places == {"a": [0], "b": [1, 0], "c": [2, 1, 0]}


def test_a_full_line_is_503_with_retry_after() -> None:
    async def main() -> ApiError:
        admission = Admission(1, 1)
        await admission.acquire()
        waiter = asyncio.create_task(admission.acquire())
        assert await until(lambda: admission.describe()["waiting"] == 1)
        with pytest.raises(ApiError) as info:
            await admission.acquire()
        waiter.cancel()
        return info.value

    error = run(main())
    assert (error.status, error.headers) == (503, {"Retry-After": "2"})
    assert error.message == (
        "the engine is busy: 1 requests in progress and 1 waiting (max_queue); try again shortly"
    )


def test_a_waiter_that_leaves_gives_up_its_place() -> None:
    async def main() -> tuple[dict[str, int | None], list[int]]:
        admission = Admission(1, 5)
        await admission.acquire()
        seen: list[int] = []

        async def report(ahead: int) -> None:
            seen.append(ahead)

        leaving = asyncio.create_task(admission.acquire())
        staying = asyncio.create_task(admission.acquire(report))
        assert await until(lambda: admission.describe()["waiting"] == 2)
        leaving.cancel()
        assert await until(lambda: admission.describe()["waiting"] == 1)
        admission.release()
        await staying
        return admission.describe(), seen

    state, seen = run(main())
    assert state == {"capacity": 1, "active": 1, "waiting": 0}
    assert seen == [1, 0]


def test_a_slot_handed_to_a_waiter_that_just_left_goes_to_the_next() -> None:
    async def main() -> dict[str, int | None]:
        admission = Admission(1, 5)
        await admission.acquire()
        first = asyncio.create_task(admission.acquire())
        second = asyncio.create_task(admission.acquire())
        assert await until(lambda: admission.describe()["waiting"] == 2)
        admission.release()  # hands the slot to `first` ...
        first.cancel()  # ... which leaves before it runs
        await asyncio.gather(first, return_exceptions=True)
        await second
        return admission.describe()

    assert run(main()) == {"capacity": 1, "active": 1, "waiting": 0}
