"""Backend proxy overhead and a streaming load test, against the stub engine in its own process.

Proxy overhead: ``POST /v1/chat/completions`` (non-stream) straight to the stub vs through the backend (the real
``edubot serve --engine external`` process in front of the same stub), at concurrency 1, 32 and 128, measured
alternately in the same run by a lean keep-alive HTTP/1.1 client (so the load generator is not what is being
measured). Targets: backend p50 ≤ direct p50 + 1 ms, p99 ≤ direct p99 + 5 ms, requests/s ≥ 80% of direct.
``POST /chat`` (JSON) through the backend is printed alongside, and so is the CPU time each server process
spent per request (read from /proc, so it does not depend on how busy the machine is). Measured twice: against
an instant stub (the backend's whole cost shows; requests/s then compares two CPU-bound Python servers) and
against a stub that takes 20 ms per answer, closer to a real engine.

Load: 200 concurrent SSE streams on ``POST /chat`` for 60 s through the backend: 0 errors expected, and the
backend's open file descriptors during the run and after it are printed (stable = no leak).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from edubot_cli.procgroup import free_port
from edubot_cli.server.engine.http1 import Client, UpstreamError
from edubot_cli.server.engine.sse import EventLines
from edubot_cli.urls import engine_url

ROOT = Path(__file__).resolve().parents[2]
EDUBOT = Path(sys.executable).with_name("edubot")
CONCURRENCY = (1, 32, 128)
WARMUP_S = 1.0
MEASURE_S = float(os.environ.get("EDUBOT_BENCH_SECONDS", "5"))
ROUNDS = 2  # direct and proxied alternate, each measured this many times per concurrency
LOAD_STREAMS = 200
LOAD_SECONDS = float(os.environ.get("EDUBOT_BENCH_LOAD_SECONDS", "60"))
OPENAI_BODY = json.dumps(
    {"model": "stub-model", "messages": [{"role": "user", "content": "What is a cell?"}]}
).encode()
CHAT_BODY = json.dumps({"message": "What is a cell?"}).encode()
# "serve" (default): the backend as users run it, `edubot serve --engine external`. "uvicorn": create_app under a
# plain `uvicorn.run(host, port)`, to tell the app's own cost from the way `edubot serve` hosts it.
BACKEND_RUNNER = os.environ.get("EDUBOT_BENCH_BACKEND", "serve")
UVICORN_RUNNER = """
import sys, uvicorn
from edubot_cli.server.app import create_app
from edubot_cli.server.engine.upstream import Upstream
from tests.support.live_backend import isolated_settings
app = create_app(isolated_settings({"rate_limit_per_minute": 0}), Upstream([sys.argv[1]]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Servers:
    stub_port: int
    backend_port: int
    stub_pid: int
    backend_pid: int


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (CPU per request does not depend on how busy the machine is)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_stub(args: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.stub_engine", "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_ready(f"http://127.0.0.1:{port}/health", proc)
    return proc, port


def _start_backend(stub_port: int, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env["EDUBOT_RATE_LIMIT_PER_MINUTE"] = "0"
    engine_url = f"http://127.0.0.1:{stub_port}"
    if BACKEND_RUNNER == "serve":
        cmd = [str(EDUBOT), "serve", "--engine", "external", "--engine-url", engine_url, "--port", str(port)]
    else:
        cmd = [sys.executable, "-c", UVICORN_RUNNER, engine_url, str(port)]
        env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_ready(f"http://127.0.0.1:{port}/health", proc)
    return proc, port


@contextmanager
def _servers(tmp: Path, stub_args: list[str]) -> Iterator[Servers]:
    stub, stub_port = _start_stub(stub_args)
    try:
        backend, backend_port = _start_backend(stub_port, tmp)
    except BaseException:
        _stop(stub)
        raise
    try:
        yield Servers(stub_port, backend_port, stub.pid, backend.pid)
    finally:
        _stop(backend)
        _stop(stub)


# ---- a lean keep-alive HTTP/1.1 load generator ----------------------------------------------------------------
@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    total: int = 0  # answers including the warm-up
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used by each server during the run

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


def _request(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _worker(port: int, payload: bytes, run: Run, record_from: float, stop_at: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                return
            writer.write(payload)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            run.total += 1
            if start >= record_from:
                if status.startswith(b"HTTP/1.1 200"):
                    run.latencies.append(time.perf_counter() - start)
                else:
                    run.errors += 1
    finally:
        writer.close()


async def _load(
    port: int, path: str, body: bytes, concurrency: int, pids: dict[str, int] | None = None
) -> Run:
    run = Run(seconds=MEASURE_S)
    record_from = time.perf_counter() + WARMUP_S
    stop_at = record_from + MEASURE_S
    payload = _request(port, path, body)
    before = {name: _cpu_seconds(pid) for name, pid in (pids or {}).items()}
    await asyncio.gather(*(_worker(port, payload, run, record_from, stop_at) for _ in range(concurrency)))
    run.cpu = {name: _cpu_seconds(pid) - before[name] for name, pid in (pids or {}).items()}
    return run


def _merge(runs: list[Run]) -> Run:
    merged = Run(seconds=sum(r.seconds for r in runs))
    for r in runs:
        merged.latencies += r.latencies
        merged.errors += r.errors
        merged.total += r.total
        for name, seconds in r.cpu.items():
            merged.cpu[name] = merged.cpu.get(name, 0.0) + seconds
    return merged


def _cpu_us(run: Run, name: str) -> float:
    return run.cpu[name] / run.total * 1e6


def _compare(servers: Servers, title: str) -> list[str]:
    """Direct vs through the backend at each concurrency; prints a table, returns the targets missed."""
    stub_only = {"stub": servers.stub_pid}
    both = {"stub": servers.stub_pid, "backend": servers.backend_pid}
    print(
        f"\n{title} ({BACKEND_RUNNER}): POST /v1/chat/completions, {MEASURE_S:g} s x {ROUNDS} per cell, same run;"
    )
    print("latencies in ms, CPU in µs per request")
    print(
        f"{'conc':>5} {'direct p50':>11} {'backend p50':>12} {'Δp50':>7} {'direct p99':>11} {'backend p99':>12}"
        f" {'Δp99':>7} {'direct rps':>11} {'backend rps':>12} {'ratio':>6} {'/chat rps':>10} {'/chat p50':>10}"
        f" {'stub CPU':>9} {'backend CPU':>12}"
    )
    misses = []
    for concurrency in CONCURRENCY:
        direct, proxied, chat = [], [], []
        for _ in range(ROUNDS):
            path = "/v1/chat/completions"
            direct.append(asyncio.run(_load(servers.stub_port, path, OPENAI_BODY, concurrency, stub_only)))
            proxied.append(asyncio.run(_load(servers.backend_port, path, OPENAI_BODY, concurrency, both)))
        chat.append(asyncio.run(_load(servers.backend_port, "/chat", CHAT_BODY, concurrency)))
        d, p, c = _merge(direct), _merge(proxied), _merge(chat)
        d50, p50, d99, p99 = d.pct(50), p.pct(50), d.pct(99), p.pct(99)
        ratio = p.rps / d.rps
        print(
            f"{concurrency:>5} {d50:>11.2f} {p50:>12.2f} {p50 - d50:>+7.2f} {d99:>11.2f} {p99:>12.2f}"
            f" {p99 - d99:>+7.2f} {d.rps:>11.0f} {p.rps:>12.0f} {ratio:>6.0%} {c.rps:>10.0f} {c.pct(50):>10.2f}"
            f" {_cpu_us(d, 'stub'):>9.0f} {_cpu_us(p, 'backend'):>12.0f}"
        )
        assert d.errors == p.errors == c.errors == 0
        if p50 - d50 > 1:
            misses.append(f"c={concurrency}: Δp50 {p50 - d50:+.2f} ms > +1 ms")
        if p99 - d99 > 5:
            misses.append(f"c={concurrency}: Δp99 {p99 - d99:+.2f} ms > +5 ms")
        if ratio < 0.8:
            misses.append(f"c={concurrency}: {ratio:.0%} of direct requests/s < 80%")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print("targets: " + ("all met" if not misses else "; ".join(misses)))
    return misses


def test_proxy_overhead(tmp_path: Path) -> None:
    """An instant stub: the backend's whole cost shows, and requests/s compares two CPU-bound servers."""
    with _servers(tmp_path, []) as servers:
        misses = _compare(servers, "proxy overhead, instant stub")
    assert misses == [], "[bench server] targets missed: " + "; ".join(misses)


def test_proxy_overhead_with_an_engine_that_takes_20_ms(tmp_path: Path) -> None:
    """A stub that needs 20 ms per answer (4 tokens x 5 ms), closer to what an engine costs."""
    with _servers(tmp_path, ["--chunks", "4", "--delay", "0.005"]) as servers:
        misses = _compare(servers, "proxy overhead, 20 ms stub")
    assert misses == [], "[bench server] targets missed: " + "; ".join(misses)


# ---- load: 200 concurrent streams for 60 s --------------------------------------------------------------------
def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def _stream_worker(client: Client, stop_at: float, counts: dict[str, int], failures: list[str]) -> None:
    body = json.dumps({"message": "What is a cell?", "stream": True}).encode()
    while time.perf_counter() < stop_at:
        try:
            response = await client.send("POST", "/chat", body)
            try:
                if response.status_code != 200:
                    failures.append(f"status {response.status_code}")
                    continue
                lines = EventLines()
                done = False
                async for chunk in response.aiter_raw():
                    for _, data in lines.feed(chunk):
                        if data.startswith(b'{"done":true'):
                            done = True
                        elif data.startswith(b'{"error"'):
                            failures.append(data.decode())
                        else:
                            counts["events"] += 1
                if done:
                    counts["streams"] += 1
                else:
                    failures.append("stream ended without done")
            finally:
                await response.aclose()
        except UpstreamError as exc:
            failures.append(f"{type(exc).__name__}: {exc}")


def test_load_200_streams(tmp_path_factory: pytest.TempPathFactory) -> None:
    stub, stub_port = _start_stub(["--chunks", "16", "--delay", "0.05"])
    backend, port = _start_backend(stub_port, tmp_path_factory.mktemp("load"))
    try:
        fds: list[tuple[str, int]] = [("start", _open_fds(backend.pid))]

        async def main() -> tuple[dict[str, int], list[str]]:
            counts = {"streams": 0, "events": 0}
            failures: list[str] = []
            # The backend's own lean HTTP/1.1 client as the load generator: httpx would saturate this process
            # long before the backend.
            clients = [
                Client(engine_url(f"http://127.0.0.1:{port}"), timeout=30) for _ in range(LOAD_STREAMS)
            ]
            stop_at = time.perf_counter() + LOAD_SECONDS
            workers = [asyncio.create_task(_stream_worker(c, stop_at, counts, failures)) for c in clients]
            for i in range(1, 4):
                await asyncio.sleep(LOAD_SECONDS / 4)
                fds.append((f"{i * 25}%", _open_fds(backend.pid)))
            await asyncio.gather(*workers)
            for c in clients:
                await c.aclose()
            return counts, failures

        began = time.perf_counter()
        counts, failures = asyncio.run(main())
        elapsed = time.perf_counter() - began
        time.sleep(1)  # let the backend close the client connections
        fds.append(("end +1 s", _open_fds(backend.pid)))
        # idle keep-alive connections to the engine stay pooled until the engine drops them (uvicorn: after
        # 5 s) and the next health check (every 5 s) closes them
        time.sleep(11)
        fds.append(("end +12 s", _open_fds(backend.pid)))
        stats = httpx.get(f"http://127.0.0.1:{port}/stats").json()
    finally:
        _stop(backend)
        _stop(stub)
    print(
        f"\nload: {LOAD_STREAMS} concurrent streams for {elapsed:.0f} s through the backend: "
        f"{counts['streams']} streams, {counts['events']} delta events ({counts['events'] / elapsed:.0f}/s), "
        f"{len(failures)} errors"
    )
    if failures:
        print("errors: " + "; ".join(sorted(set(failures))[:5]))
    print("backend open fds: " + ", ".join(f"{name} {n}" for name, n in fds))
    print(
        f"backend /stats: requests {stats['requests']}, errors {stats['errors']}, "
        f"ttft p50 {stats['ttft_seconds']['p50'] * 1000:.1f} ms p99 {stats['ttft_seconds']['p99'] * 1000:.1f} ms, "
        f"latency p50 {stats['latency_seconds']['p50']:.3f} s p99 {stats['latency_seconds']['p99']:.3f} s"
    )
    assert failures == []
    assert stats["errors"] == 0
    assert counts["streams"] > 0
