"""Soak: `edubot serve` on the embedded engine while students keep asking and the engine keeps dying.

200 streamed ``POST /chat`` questions start at random moments over 60 s, and the engine (llama-server) is killed
with SIGKILL 10 times at random moments, each time some seconds after it came back. Every client must be told
what happened: an answer (``done``), an ``event: error`` (a stream the death cut), or an HTTP error with its
JSON body (a question that came while the engine restarted, or the line was full); a client whose connection
just ended is "cut off". Then `edubot serve` is stopped with SIGTERM.

Reported: clients cut off (target 0), engine processes left behind (target 0: every engine, first or restarted,
dies with edubot), and the backend's open file descriptors and resident memory once all is quiet again, against
the same figures before the first question (target: within 10%).

``EDUBOT_SOAK_SECONDS`` and ``EDUBOT_SOAK_STREAMS`` / ``EDUBOT_SOAK_KILLS`` shorten it for a quick look.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from edubot_cli.procgroup import free_port
from tests.support.serve_process import serve_env, start_serve, wait_healthy

SECONDS = float(os.environ.get("EDUBOT_SOAK_SECONDS", "60"))
STREAMS = int(os.environ.get("EDUBOT_SOAK_STREAMS", "200"))
KILLS = int(os.environ.get("EDUBOT_SOAK_KILLS", "10"))
MAX_TOKENS = 24
QUESTIONS = [
    "What is a cell?",
    "Why is the sky blue?",
    "What do plants need to grow?",
    "How many legs does a spider have?",
    "What is the water cycle?",
]
SEED = 7  # the same moments every run


def _engines(port: int) -> list[int]:
    """PIDs of llama-server processes serving on ``port`` (whoever their parent is)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        serving = b"--port" in args and args[args.index(b"--port") + 1 :][:1] == [str(port).encode()]
        if serving and Path(args[0].decode(errors="replace")).name == "llama-server":
            found.append(int(entry.name))
    return sorted(found)


def _footprint(pid: int) -> tuple[int, int]:
    """(open file descriptors, resident memory in KiB) of process ``pid``."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return fds, int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


async def _health(client: httpx.AsyncClient, url: str) -> dict:
    try:
        reply = await client.get(url + "/health", timeout=5)
        return reply.json() if reply.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}


async def _engine_ok(client: httpx.AsyncClient, url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while (await _health(client, url)).get("engine") != "ok":
        assert time.monotonic() < deadline, "the engine never came back"
        await asyncio.sleep(0.2)


async def _ask(client: httpx.AsyncClient, url: str, question: str) -> str:
    """How one streamed question ended: ``answered``, ``error_event <code>``, ``refused <status>`` or ``cut``."""
    body = {"message": question, "stream": True, "max_tokens": MAX_TOKENS, "temperature": 0}
    try:
        async with client.stream("POST", url + "/chat", json=body, timeout=600) as response:
            if response.status_code != 200:
                text = await response.aread()
                told = "error" in json.loads(text) if text.startswith(b"{") else False
                return f"refused {response.status_code}" if told else "cut"
            name = "message"
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line[len("event: ") :]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: ") :])
                    if name == "error" and "error" in data:
                        return f"error_event {data['error'].get('code')}"
                    if data.get("done") is True:
                        return "answered"
                    name = "message"
    except (httpx.HTTPError, ValueError):
        return "cut"
    return "cut"


async def _soak(url: str, engine_port: int) -> tuple[Counter[str], list[int]]:
    rng = random.Random(SEED)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=None)) as client:

        async def one(at: float) -> str:
            await asyncio.sleep(at)
            return await _ask(client, url, rng.choice(QUESTIONS))

        async def ready_anew(killed: list[int]) -> int:
            """The engine's PID once one not yet killed runs and ``/health`` says it is ready (``/health`` is
            cached: right after a kill it may still say "ok")."""
            while True:
                await _engine_ok(client, url)
                fresh = [pid for pid in _engines(engine_port) if pid not in killed]
                if fresh:
                    return fresh[0]
                await asyncio.sleep(0.2)

        async def killer() -> list[int]:
            killed: list[int] = []
            while len(killed) < KILLS:
                pid = await ready_anew(killed)
                await asyncio.sleep(rng.uniform(1.0, max(1.5, SECONDS / KILLS)))
                if pid in _engines(engine_port):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            await ready_anew(killed)
            return killed

        moments = sorted(rng.uniform(0, SECONDS) for _ in range(STREAMS))
        outcomes, killed = await asyncio.gather(asyncio.gather(*(one(at) for at in moments)), killer())
    return Counter(outcomes), killed


@pytest.mark.engine
def test_soak_streams_and_engine_deaths(tmp_path: Path) -> None:
    port, engine_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    # restarts allowed for the kills; a wide line so that the figures are about deaths, not a full queue
    env = serve_env(
        tmp_path,
        EDUBOT_MAX_RESTARTS=str(KILLS + 5),
        EDUBOT_MAX_QUEUE=str(STREAMS),
        EDUBOT_SHUTDOWN_GRACE="5",
        EDUBOT_CLIENT_SAMPLING="true",  # short answers (the requests' own max_tokens)
    )
    output = tmp_path / "serve.out"
    with output.open("w") as sink:
        proc = start_serve(port, "--engine-port", str(engine_port), cwd=tmp_path, env=env, sink=sink)
        try:
            wait_healthy(url, proc, timeout=300)
            asyncio.run(_engine_ok_once(url))
            before = _footprint(proc.pid)
            started = time.monotonic()
            outcomes, killed = asyncio.run(_soak(url, engine_port))
            elapsed = time.monotonic() - started
            after = _footprint(proc.pid)
            left_during = [pid for pid in _engines(engine_port) if _ppid(pid) != proc.pid]
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    left_after = _engines(engine_port)
    for pid in left_after:
        os.kill(pid, signal.SIGKILL)
    told = sum(n for kind, n in outcomes.items() if kind != "cut")
    print(
        f"\n[bench soak] {STREAMS} streams over {SECONDS:.0f} s ({elapsed:.0f} s in all), "
        f"{len(killed)} engine kills (SIGKILL); outcomes: {dict(sorted(outcomes.items()))}"
    )
    print(
        f"[bench soak] told: {told}/{STREAMS}; cut off without an error event: {outcomes['cut']} (target 0); "
        f"engines not edubot's own during the run: {len(left_during)}, left after the stop: {len(left_after)} "
        f"(target 0); edubot serve exited {code}"
    )
    fd_ratio, rss_ratio = after[0] / before[0], after[1] / before[1]
    print(
        f"[bench soak] backend fds {before[0]} → {after[0]} ({fd_ratio:.2f}x), RSS {before[1] / 1024:.0f} → "
        f"{after[1] / 1024:.0f} MiB ({rss_ratio:.2f}x) (target: within 10%)"
    )
    assert outcomes["cut"] == 0
    assert (left_during, left_after, code) == ([], [], 0)
    assert len(killed) == KILLS
    assert fd_ratio <= 1.10 and rss_ratio <= 1.10


async def _engine_ok_once(url: str) -> None:
    async with httpx.AsyncClient() as client:
        await _engine_ok(client, url)


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
