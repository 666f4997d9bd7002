"""The real `transformers serve` engine on a tiny local HF model, through the whole `serve` flow (auto choice)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from edubot_cli import serving
from edubot_cli.procgroup import free_port
from tests.support.engine_fakes import Recorder
from tests.support.tiny_hf_model import build_tiny_hf_model

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def test_hf_directory_is_served_by_transformers_on_cpu(make_settings, no_nvidia_smi, tmp_path: Path) -> None:
    model = build_tiny_hf_model(tmp_path / "models" / "tiny")
    replies: list[httpx.Response] = []
    health: list[dict] = []

    def ask_then_stop(url: str) -> None:
        try:
            health.append(httpx.get(url + "/health", timeout=30).json())
            body = {"message": "what is photosynthesis", "max_tokens": 5, "temperature": 0.0}
            replies.append(httpx.post(url + "/chat", json=body, timeout=120))
            replies.append(httpx.get(url + "/v1/models", timeout=30))
            body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "temperature": 0.0}
            replies.append(httpx.post(url + "/v1/chat/completions", json=body, timeout=120))
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    settings = make_settings(
        model=model, port=free_port(), rate_limit_per_minute=0, ready_timeout=300, client_sampling=True
    )
    recorder = Recorder(on_ready=ask_then_stop)
    outcome = serving.serve(settings, recorder)
    assert outcome == serving.ServeOutcome("terminated", "transformers")
    assert recorder.events[0] == "started transformers"
    assert health[0]["engine"] == "ok"
    assert replies[0].status_code == 200, replies[0].text
    assert 1 <= replies[0].json()["completion_tokens"] <= 5
    # The model is named as served_model_name says, and its path on this machine is in no answer.
    assert health[0]["engines"][0]["model"] == "edubot"
    assert replies[0].json()["model"] == "edubot"
    assert [m["id"] for m in replies[1].json()["data"]] == ["edubot"]
    assert replies[2].status_code == 200, replies[2].text
    assert replies[2].json()["model"] == "edubot"
    for text in [str(health[0]), *(reply.text for reply in replies)]:
        assert str(tmp_path) not in text
