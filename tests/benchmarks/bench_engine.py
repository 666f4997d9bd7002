"""The embedded model through the full stack vs llama-cpp direct, same engine, same run.

Full stack: an `edubot serve --engine external` process (the real backend, its own interpreter) streaming
``POST /chat`` from the engine. Direct: ``POST /v1/chat/completions`` (stream) on that same llama-cpp engine, with
the same system prompt, question, temperature 0 and token budget, so both sides generate the same tokens.
Requests alternate between the two paths. Targets: full stack ≥ 90% of direct tokens/s; TTFT ≤ 0.5 s.
Tokens/s is the generation rate after the first token (TTFT is reported on its own); the end-to-end rate
(tokens over the whole request) is printed too.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edubot_cli.config import FIELDS
from edubot_cli.engines.base import Engine
from edubot_cli.engines.process import free_port
from edubot_cli.serving import running_engine
from tests.support.live_backend import isolated_settings

EDUBOT = Path(sys.executable).with_name("edubot")
QUESTION = "Explain photosynthesis to a ten-year-old, step by step."
MAX_TOKENS = 128
ROUNDS = 10
SYSTEM_PROMPT = FIELDS["system_prompt"][0]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with running_engine(isolated_settings({"logs_dir": tmp_path_factory.mktemp("logs")})) as started:
        yield started


@pytest.fixture(scope="module")
def backend(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env["EDUBOT_RATE_LIMIT_PER_MINUTE"] = "0"
    proc = subprocess.Popen(
        [str(EDUBOT), "serve", "--engine", "external", "--engine-url", engine.urls[0], "--port", str(port)],
        cwd=tmp_path_factory.mktemp("backend"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "backend did not start"
        time.sleep(0.1)
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def _sse_data(response: httpx.Response) -> Iterator[dict]:
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[len("data: ") :])


Run = tuple[float, float, float, int, str]
"""(TTFT, seconds from first to last token, total seconds, content chunks, text) of one streamed request."""


def via_backend(client: httpx.Client, url: str) -> Run:
    """One streamed /chat through the backend."""
    body = {"message": QUESTION, "stream": True, "max_tokens": MAX_TOKENS, "temperature": 0.0}
    start = time.perf_counter()
    first = last = None
    chunks: list[str] = []
    with client.stream("POST", url + "/chat", json=body) as response:
        assert response.status_code == 200
        for event in _sse_data(response):
            if event.get("delta"):
                last = time.perf_counter()
                first = first or last
                chunks.append(event["delta"])
            assert "error" not in event, event
    end = time.perf_counter()
    assert first is not None
    return first - start, last - first, end - start, len(chunks), "".join(chunks)


def direct(client: httpx.Client, engine_url: str) -> Run:
    """The same generation straight from llama-cpp's OpenAI endpoint."""
    body = {
        "model": "edubot",
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": QUESTION}],
        "stream": True,
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
    }
    start = time.perf_counter()
    first = last = None
    chunks: list[str] = []
    with client.stream("POST", engine_url + "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        for event in _sse_data(response):
            choices = event.get("choices") or [{}]
            content = (choices[0].get("delta") or {}).get("content")
            if content:
                last = time.perf_counter()
                first = first or last
                chunks.append(content)
    end = time.perf_counter()
    assert first is not None
    return first - start, last - first, end - start, len(chunks), "".join(chunks)


def test_full_stack_vs_direct(engine: Engine, backend: str) -> None:
    results: dict[str, list[Run]] = {"direct": [], "backend": []}
    with httpx.Client(timeout=300, trust_env=False) as client:
        direct(client, engine.urls[0])  # warm-up: loads caches on both sides
        via_backend(client, backend)
        for index in range(ROUNDS):
            order = ("direct", "backend") if index % 2 == 0 else ("backend", "direct")
            for path in order:
                run = direct(client, engine.urls[0]) if path == "direct" else via_backend(client, backend)
                results[path].append(run)

    def summary(path: str) -> tuple[float, float, float, float]:
        runs = results[path]
        ttft = statistics.median(r[0] for r in runs)
        rate = statistics.median((r[3] - 1) / r[1] for r in runs)
        end_to_end = statistics.median(r[3] / r[2] for r in runs)
        return ttft, rate, end_to_end, statistics.median(r[3] for r in runs)

    d_ttft, d_rate, d_e2e, d_tokens = summary("direct")
    b_ttft, b_rate, b_e2e, b_tokens = summary("backend")
    same_text = results["direct"][0][4] == results["backend"][0][4]
    ratio = b_rate / d_rate
    print(
        f"\n[bench engine] embedded SmolLM2-135M Q4_1, {ROUNDS} streamed runs per path, max_tokens {MAX_TOKENS}"
    )
    for label, (ttft, rate, e2e, tokens) in (
        ("direct llama-cpp", (d_ttft, d_rate, d_e2e, d_tokens)),
        ("full stack /chat", (b_ttft, b_rate, b_e2e, b_tokens)),
    ):
        print(
            f"[bench engine] {label}: {rate:6.1f} tokens/s  TTFT {ttft * 1000:5.0f} ms  "
            f"end-to-end {e2e:6.1f} tokens/s  ({tokens:.0f} tokens)"
        )
    print(f"[bench engine] same text both ways: {same_text}")
    print(
        f"[bench engine] tokens/s ratio full/direct {ratio:.1%} (target ≥ 90%: {'met' if ratio >= 0.9 else 'MISSED'})"
    )
    print(f"[bench engine] end-to-end tokens/s ratio {b_e2e / d_e2e:.1%}")
    print(
        f"[bench engine] TTFT full stack {b_ttft:.3f} s (target ≤ 0.5 s: {'met' if b_ttft <= 0.5 else 'MISSED'})"
    )
