"""The classroom record: what it costs an answer, and a class's lesson with nothing lost (issue 25 §5).

Both run the real backend (``edubot serve --engine external``) in front of the stub engine in its own process
(8 deltas 5 ms apart, about what a small model streams), with 32 students of one class, each a client holding its
own session cookie (joined through the store, as ``POST /class/join`` would, which throttles one address).

- **Cost**: 32 students stream ``POST /chat`` at once, several messages each, through a backend with the class
  (every answer recorded) and through one without a class (nothing recorded), in alternating rounds. Target: the
  record adds ≤ 2 ms to the p50 of an answer's latency.
- **Soak**: a class of 32 sends 10 messages a minute each for ``EDUBOT_BENCH_SOAK_SECONDS`` (120), on SQLite and on
  a real PostgreSQL the benchmark starts; then SIGTERM (pending writes are flushed). Targets: every exchange
  asked is in the store (0 lost), no "database is locked" or other store error in the backend's log, every
  request answered 200.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from edubot_cli.classroom.store import Store
from edubot_cli.procgroup import free_port
from tests.benchmarks.bench_server import _start_stub, _stop, _wait_ready
from tests.benchmarks.targets import Targets
from tests.support.live_backend import isolated_settings
from tests.support.postgres import PostgresServer, require_binaries

EDUBOT = Path(sys.executable).with_name("edubot")
STUDENTS = 32
COST_ROUNDS = 3
COST_MESSAGES = 5  # per student per round
SOAK_SECONDS = float(os.environ.get("EDUBOT_BENCH_SOAK_SECONDS", "120"))
SOAK_INTERVAL = 6.0  # 10 messages a minute
STORE_ERRORS = ("database is locked", "OperationalError", "classroom_unavailable", "Traceback")


@contextmanager
def _backend(
    stub_port: int, tmp: Path, **settings: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``edubot serve`` in front of the stub with ``settings`` (EDUBOT_* values); its process, URL and log."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env |= {"EDUBOT_RATE_LIMIT_PER_MINUTE": "0", "EDUBOT_LOGS_DIR": str(tmp / "logs")} | settings
    log = tmp / f"backend-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(EDUBOT), "serve", "--engine", "external", "--engine-url", f"http://127.0.0.1:{stub_port}",
             "--port", str(port)],
            cwd=tmp, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(f"{url}/health", proc)
            yield proc, url, log
        finally:
            _stop(proc)


def _class_of(store: Store, name: str) -> list[str]:
    """A class of ``STUDENTS`` joined students in ``store``: their session tokens."""
    klass = store.create_class(name)
    return [store.join(klass.code, f"student{i}")[1] for i in range(STUDENTS)]


async def _ask(client: httpx.AsyncClient, text: str) -> tuple[int, float]:
    """One streamed ``/chat`` read to its end: the status and the seconds it took."""
    started = time.perf_counter()
    async with client.stream("POST", "/chat", json={"message": text, "stream": True}) as reply:
        async for _ in reply.aiter_bytes():
            pass
        return reply.status_code, time.perf_counter() - started


async def _burst(url: str, tokens: list[str | None], messages: int) -> list[float]:
    """Every student asks ``messages`` questions one after another, all students at once: the latencies."""
    latencies: list[float] = []

    async def student(i: int, token: str | None) -> None:
        cookies = {"edubot_session": token} if token else None
        async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=120) as client:
            for j in range(messages):
                status, seconds = await _ask(client, f"Question {j} from student {i}: what is a cell?")
                assert status == 200
                latencies.append(seconds)

    await asyncio.gather(*(student(i, t) for i, t in enumerate(tokens)))
    return latencies


def test_what_the_record_costs_an_answer(tmp_path: Path) -> None:
    targets = Targets("classroom cost")
    stub, stub_port = _start_stub(["--chunks", "8", "--delay", "0.005"])
    try:
        recorded_dir, open_dir = tmp_path / "recorded", tmp_path / "open"
        recorded_dir.mkdir()
        open_dir.mkdir()
        with Store.open(isolated_settings({"data_dir": recorded_dir / "data"})) as store:
            tokens: list[str | None] = list(_class_of(store, "cost"))
        with (
            _backend(stub_port, recorded_dir, EDUBOT_DATA_DIR=str(recorded_dir / "data")) as (
                _,
                recorded,
                _log,
            ),
            _backend(stub_port, open_dir, EDUBOT_DATA_DIR=str(open_dir / "data")) as (_, plain, _log2),
        ):
            asyncio.run(_burst(recorded, tokens, 1))  # warm both up
            asyncio.run(_burst(plain, [None] * STUDENTS, 1))
            on: list[float] = []
            off: list[float] = []
            for _ in range(COST_ROUNDS):
                off += asyncio.run(_burst(plain, [None] * STUDENTS, COST_MESSAGES))
                on += asyncio.run(_burst(recorded, tokens, COST_MESSAGES))
        p50_on, p50_off = statistics.median(on) * 1000, statistics.median(off) * 1000
        cost = p50_on - p50_off
        print(
            f"\n[bench classroom cost] {STUDENTS} streams at once, {len(on)} answers each way: p50 recorded "
            f"{p50_on:.1f} ms, not recorded {p50_off:.1f} ms: the record adds {cost:+.1f} ms "
            f"({targets.check('record adds ≤ 2 ms at p50', cost <= 2.0)}); ratio {p50_on / p50_off:.3f}x"
        )
    finally:
        _stop(stub)
    targets.assert_met()


def _soak(url: str, tokens: list[str]) -> tuple[int, int]:
    """Each student asks every ``SOAK_INTERVAL`` seconds (first at a random moment) for ``SOAK_SECONDS``: how many
    questions were asked and how many got a 200."""
    asked = answered = 0

    async def student(i: int, token: str) -> None:
        nonlocal asked, answered
        async with httpx.AsyncClient(base_url=url, cookies={"edubot_session": token}, timeout=120) as client:
            await asyncio.sleep(random.uniform(0, SOAK_INTERVAL))
            end = time.monotonic() + SOAK_SECONDS
            n = 0
            while time.monotonic() < end:
                asked += 1
                status, seconds = await _ask(client, f"Question {n} from student {i}: why is the sky blue?")
                answered += status == 200
                n += 1
                await asyncio.sleep(max(0.0, SOAK_INTERVAL - seconds))

    async def lesson() -> None:
        await asyncio.gather(*(student(i, t) for i, t in enumerate(tokens)))

    asyncio.run(lesson())
    return asked, answered


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_lesson_loses_nothing(tmp_path: Path, database: str) -> None:
    targets = Targets(f"classroom soak {database}")
    server = PostgresServer(require_binaries()).start() if database == "postgresql" else None
    stub, stub_port = _start_stub(["--chunks", "8", "--delay", "0.005"])
    try:
        settings = {"data_dir": tmp_path / "data"}
        env = {"EDUBOT_DATA_DIR": str(tmp_path / "data")}
        if server is not None:
            url = server.database()
            settings["database_url"] = url  # type: ignore[assignment]
            env["EDUBOT_DATABASE_URL"] = url
        with Store.open(isolated_settings(settings)) as store:
            tokens = _class_of(store, "soak")
        with _backend(stub_port, tmp_path, **env) as (proc, url_, log):
            asked, answered = _soak(url_, tokens)
            proc.send_signal(signal.SIGTERM)  # the stop flushes what is pending
            proc.wait(timeout=120)
            text = log.read_text(errors="replace")
        with Store.open(isolated_settings(settings)) as store:
            rows = list(store.export("soak"))
        questions = sum(row["role"] == "user" for row in rows)
        answers = sum(row["role"] == "assistant" for row in rows)
        errors = sum(text.count(marker) for marker in STORE_ERRORS)
        print(
            f"\n[bench classroom soak {database}] {STUDENTS} students x 10/min x {SOAK_SECONDS:.0f} s: asked "
            f"{asked}, answered 200 {answered} ({targets.check('every request 200', answered == asked)}); in the "
            f"store {questions} questions, {answers} answers ({targets.check('0 lost', questions == answers == asked)}); "
            f"store errors in the log {errors} ({targets.check('0 lock errors', errors == 0)}); exit {proc.returncode}"
        )
    finally:
        _stop(stub)
        if server is not None:
            server.stop()
    targets.assert_met()
