"""The embedded SmolLM2, converted to safetensors, served by `edubot serve --engine transformers`, answers."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from edubot_cli import serving
from edubot_cli.checkpoints.convert import ConvertResult
from edubot_cli.procgroup import free_port
from tests.support.engine_fakes import Recorder, make_settings, no_nvidia_smi

pytestmark = [pytest.mark.engine, pytest.mark.slow]
__all__ = ["make_settings", "no_nvidia_smi"]  # fixtures used below


def test_converted_smollm2_served_by_transformers_answers_a_real_question(
    converted: ConvertResult, make_settings, no_nvidia_smi
) -> None:
    replies: list[httpx.Response] = []

    def ask_then_stop(url: str) -> None:
        try:
            body = {"message": "What is the capital of France?", "max_tokens": 16, "temperature": 0.0}
            replies.append(httpx.post(url + "/chat", json=body, timeout=300))
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    settings = make_settings(
        model=converted.target,
        engine="transformers",
        port=free_port(),
        rate_limit_per_minute=0,
        ready_timeout=600,
        system_prompt="You are a helpful assistant.",
        client_sampling=True,  # the request's own max_tokens and temperature, as a script's would be
    )
    recorder = Recorder(on_ready=ask_then_stop)
    outcome = serving.serve(settings, recorder)
    assert outcome == serving.ServeOutcome("terminated", "transformers")
    assert recorder.events[0] == "started transformers"
    assert replies and replies[0].status_code == 200, replies[0].text if replies else "no reply"
    reply = replies[0].json()
    assert "Paris" in reply["response"], reply
    assert 1 <= reply["completion_tokens"] <= 16
