"""`edubot chat` through the real backend (create_app under uvicorn) in front of the scripted stub engine."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console
from typer.testing import CliRunner

from edubot_cli.chat.client import ChatClient
from edubot_cli.chat.failures import ContextOverflowError
from edubot_cli.chat.repl import ChatRepl
from edubot_cli.errors import ChatError
from edubot_cli.main import app
from tests.chat.conftest import DEFAULTS, HeldSlot
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
    stub_engine.script(
        Step(chunks=[f" w{i}" for i in range(300)], gate=threading.Event(), gate_after=3)
    )  # paused
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
    assert caught.value.message.endswith("cannot be reached; is it running?")
    assert caught.value.hint == (  # the backend's Retry-After first: edubot may be restarting the engine
        "wait 5 s and try again; if it keeps failing, "
        "check that the engine behind the backend is running (`edubot serve` logs)"
    )


def test_context_overflow_is_recognised_through_the_backend(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])
    overflow = "This model's maximum context length is 2048 tokens. However, you requested 2600 tokens."
    stub_engine.script(Step(status=400, error_message=overflow))
    with ChatClient(backend.url) as client, pytest.raises(ContextOverflowError) as caught:
        client.stream_chat(MESSAGES, model="stub-model").__enter__()
    assert overflow in caught.value.message


# --- the backend's admission queue (one engine slot, held by a long answer) ---


def test_a_queued_request_reports_its_place_then_streams(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url], capacity=1)
    stub_engine.script(HeldSlot.STEP, Step(chunks=["Second", " answer."]))
    held = HeldSlot(backend.url)
    places: list[int] = []

    def on_queued(ahead: int) -> None:
        places.append(ahead)
        held.release()  # this request is next in line: it gets the slot

    with (
        ChatClient(backend.url) as client,
        client.stream_chat(MESSAGES, model="stub-model", on_queued=on_queued) as stream,
    ):
        deltas = list(stream)
    assert places == [0]
    assert (deltas, stream.queued, stream.finished) == (["Second", " answer."], 0, True)
    assert stub_engine.wait_cancelled(1)  # the held answer, stopped by release


def hold_after_listing(monkeypatch: pytest.MonkeyPatch, backend_url: str, *, release: bool) -> list[HeldSlot]:
    """Take the backend's only slot right after `edubot chat` has listed the models, so that its chat request
    meets a busy engine (GET /v1/models goes through the backend's admission too and would otherwise wait
    first); with ``release`` the slot is freed once that request waits in line. Returns the held slot."""
    held: list[HeldSlot] = []
    list_models = ChatClient.list_models

    def list_then_hold(client: ChatClient) -> list[str]:
        models = list_models(client)
        held.append(HeldSlot(backend_url))
        if release:
            held[0].release_when_queued(backend_url)
        return models

    monkeypatch.setattr(ChatClient, "list_models", list_then_hold)
    return held


def test_one_shot_says_it_is_waiting_on_stderr_only(
    stub_engine: StubEngine, live_backend: MakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url], capacity=1)
    stub_engine.script(HeldSlot.STEP, Step(chunks=["Second", " answer."]))
    held = hold_after_listing(monkeypatch, backend.url, release=True)
    result = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", "hi"])
    assert len(held) == 1
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "Second answer.\n",
        "waiting for a free slot\n",
    )
    assert stub_engine.wait_cancelled(1)  # the held answer, stopped by the release


def test_a_plain_chat_says_it_is_waiting_on_its_notice_console(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url], capacity=1)
    stub_engine.script(HeldSlot.STEP, Step(chunks=["Second", " answer."]))
    held = HeldSlot(backend.url)
    releaser = held.release_when_queued(backend.url)
    out, notices = io.StringIO(), io.StringIO()
    with create_pipe_input() as pipe, ChatClient(backend.url) as client:
        pipe.send_text("hi\r\x04")
        ChatRepl(
            client,
            Console(file=out, width=200, color_system=None),
            model="stub-model",
            defaults=DEFAULTS,
            plain=True,
            pt_input=pipe,
            pt_output=DummyOutput(),
            notices=Console(file=notices, width=200, color_system=None),
        ).run()
    releaser.join(10)
    assert notices.getvalue() == "waiting for a free slot\n"
    assert out.getvalue().splitlines()[1] == "Second answer."
    assert out.getvalue().splitlines()[2].startswith("2 tokens · ")


def test_a_full_queue_is_a_503_with_the_retry_after_hint(
    stub_engine: StubEngine, live_backend: MakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = live_backend({"max_queue": 0}, engine_urls=[stub_engine.url], capacity=1)
    stub_engine.script(HeldSlot.STEP)
    held = hold_after_listing(monkeypatch, backend.url, release=False)
    try:
        result = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", "hi"])
    finally:
        for slot in held:
            slot.release()
    assert len(held) == 1
    assert (result.exit_code, result.stdout) == (1, "")
    # through the backend, edubot chat asks its own /chat (grounded answers), no longer /v1/chat/completions
    assert result.stderr.splitlines() == [
        f"error: {backend.url}/chat answered 503: the engine is busy: "
        "1 requests in progress and 0 waiting (max_queue); try again shortly",
        "hint: wait 2 s and try again",
    ]
    assert len(stub_engine.requests) == 1  # the refused question never reached the engine


def test_one_shot_cut_by_max_tokens_says_so_on_stderr(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])
    stub_engine.script(Step(chunks=["A", " noun", " is", " a"]), Step(chunks=["Short."]))
    cut = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", "hi", "--max-tokens", "4"])
    assert (cut.exit_code, cut.stdout) == (0, "A noun is a\n")
    assert cut.stderr == (
        "warning: the answer was cut at the token limit (4 tokens); ask again with a larger --max-tokens\n"
    )
    whole = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", "hi", "--max-tokens", "4"])
    assert (whole.exit_code, whole.stdout, whole.stderr) == (0, "Short.\n", "")
