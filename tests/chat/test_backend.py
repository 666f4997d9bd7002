"""`edubot chat` through the real backend (create_app under uvicorn) in front of the scripted stub engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from edubot_cli.chat.client import ChatClient, ContextOverflowError
from edubot_cli.errors import ChatError
from edubot_cli.main import app
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]
MESSAGES = [{"role": "user", "content": "hi"}]


pytestmark = pytest.mark.usefixtures("cli_env")


def test_one_shot_through_the_backend(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])
    stub_engine.script(Step(chunks=["Through", " the", " backend."]))
    result = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", "hi", "--temperature", "0.3"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Through the backend.\n", "")
    assert stub_engine.requests[0]["messages"][-1] == {"role": "user", "content": "hi"}
    assert stub_engine.requests[0]["temperature"] == 0.3


def test_stopping_an_answer_cancels_the_engine_behind_the_backend(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])
    stub_engine.script(Step(chunks=[f" w{i}" for i in range(300)], delay=0.05))
    with ChatClient(backend.url) as client, client.stream_chat(MESSAGES, model="stub-model") as stream:
        for count, _ in enumerate(stream, 1):
            if count == 2:
                break
    assert stream.stopped
    assert stub_engine.wait_cancelled(1)
    assert stub_engine.completed == 0


def test_api_key_required_by_the_backend(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend({"api_key": "s3cret"}, engine_urls=[stub_engine.url])
    refused = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", "hi"])
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0].startswith(
        f"error: {backend.url}/v1/models refused the request (401)"
    )
    assert (
        refused.stderr.splitlines()[1] == "hint: pass the server's key with --api-key (or set EDUBOT_API_KEY)"
    )
    accepted = CliRunner().invoke(app, ["chat", "--url", backend.url, "--api-key", "s3cret", "-q", "hi"])
    assert (accepted.exit_code, accepted.stdout) == (0, "Hello from the stub.\n")


def test_engine_down_behind_the_backend(stub_engine: StubEngine, live_backend: MakeBackend) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])
    stub_engine.stop()
    with ChatClient(backend.url) as client, pytest.raises(ChatError) as caught:
        client.list_models()
    assert caught.value.message.startswith(f"{backend.url}/v1/models answered 503: ")
    assert caught.value.hint == "check that the engine behind the backend is running (`edubot serve` logs)"


def test_context_overflow_is_recognised_through_the_backend(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])
    overflow = "This model's maximum context length is 2048 tokens. However, you requested 2600 tokens."
    stub_engine.script(Step(status=400, error_message=overflow))
    with ChatClient(backend.url) as client, pytest.raises(ContextOverflowError) as caught:
        client.stream_chat(MESSAGES, model="stub-model").__enter__()
    assert overflow in caught.value.message
