"""The real llama-cpp engine with the embedded model, started by the code `edubot serve` uses, behind the backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edubot_cli.engines.base import Engine
from edubot_cli.serving import running_engine
from tests.support.live_backend import LiveBackend, isolated_settings

pytestmark = pytest.mark.engine

QUESTION = "What is photosynthesis?"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    settings = isolated_settings({"logs_dir": tmp_path_factory.mktemp("logs")})
    with running_engine(settings) as started:
        yield started


@pytest.fixture(scope="module")
def backend(engine: Engine) -> Iterator[LiveBackend]:
    with LiveBackend({"max_tokens": 24, "temperature": 0.0}, engine.urls, engine.name) as live:
        yield live


def test_the_engine_announces_the_served_model_name(engine: Engine) -> None:
    assert engine.name == "llama-cpp"
    assert Path(engine.model).name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    models = httpx.get(engine.urls[0] + "/v1/models", timeout=10).json()
    assert [model["id"] for model in models["data"]] == ["edubot"]
    assert engine.log_path is not None and engine.log_path.read_text().startswith("$ ")


def test_backend_health_names_the_engine(backend: LiveBackend, engine: Engine) -> None:
    response = httpx.get(backend.url + "/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["engine"], body["engine_name"]) == ("healthy", "ok", "llama-cpp")


def test_chat_returns_real_tokens(backend: LiveBackend) -> None:
    response = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"].strip()
    assert 0 < body["completion_tokens"] <= 24
    assert body["prompt_tokens"] > len(QUESTION.split())  # the system prompt and chat template count too
    assert body["tokens_used"] == body["prompt_tokens"] + body["completion_tokens"]


def test_streamed_chat_returns_real_tokens(backend: LiveBackend) -> None:
    events: list[dict] = []
    with httpx.stream(
        "POST", backend.url + "/chat", json={"message": QUESTION, "stream": True}, timeout=120
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
    deltas = [event["delta"] for event in events if "delta" in event]
    assert len(deltas) >= 2 and "".join(deltas).strip()
    final = events[-1]
    assert final["done"] is True
    assert 0 < final["usage"]["completion_tokens"] <= 24
    assert final["ttft_seconds"] <= final["latency_seconds"]
