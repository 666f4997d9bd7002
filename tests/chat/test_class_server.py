"""`edubot chat` and the /chat stream reader with a backend that sets the temperature and max tokens itself
(``client_sampling`` off, a class's server), and with events the reader does not know (``stage``, a newer
backend's): they are skipped."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from edubot_cli.chat.client import ChatClient
from edubot_cli.chat.commands import CommandError, execute
from edubot_cli.chat.session import ChatDefaults, Conversation
from edubot_cli.chat.stream import BackendChatStream
from edubot_cli.main import app
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]


def events(*items: Any) -> str:
    return "".join(f"data: {json.dumps(item)}\n\n" for item in items)


def client_for(body: str) -> ChatClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    return ChatClient("http://edubot.test", transport=httpx.MockTransport(answer))


def test_events_the_reader_does_not_know_are_skipped() -> None:
    places: list[int] = []
    body = events(
        {"started": {"id": "abc"}},
        {"queued": {"ahead": 0}},
        {"stage": "writing"},
        {"stage": {"something": "new"}},
        {"progress": 0.5},
        {"delta": "A"},
        {"delta": "B"},
        {"done": True, "usage": {"completion_tokens": 2}, "sources": []},
    )
    with (
        client_for(body) as client,
        BackendChatStream(client, {"message": "q", "stream": True}, on_queued=places.append) as stream,
    ):
        assert list(stream) == ["A", "B"]
    assert (stream.text, places, stream.finished, stream.sampling) == ("AB", [0], True, None)


def test_the_limit_the_server_used_says_whether_the_answer_was_cut() -> None:
    done = {
        "done": True,
        "usage": {"completion_tokens": 8},
        "sampling": {"temperature": 0.7, "max_tokens": 8},
    }
    with (
        client_for(events({"delta": "cut"}, done)) as client,
        BackendChatStream(client, {"message": "q", "stream": True, "max_tokens": 512}) as stream,
    ):
        list(stream)
    assert stream.sampling == {"temperature": 0.7, "max_tokens": 8}
    assert stream.finish_reason == "length"  # the server's 8, not the 512 asked for


@pytest.mark.usefixtures("cli_env")
def test_chat_with_a_class_server_uses_its_values_and_says_so(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(
        {"client_sampling": False, "temperature": 0.4, "max_tokens": 99}, [stub_engine.url]
    )
    stub_engine.script(Step(chunks=["Four."]))
    result = CliRunner().invoke(
        app, ["chat", "--url", backend.url, "--temperature", "1.5", "--max-tokens", "7", "-q", "2+2?"]
    )
    assert (result.exit_code, result.stdout) == (0, "Four.\n")
    assert " ".join(result.stderr.split()) == (
        f"warning: {backend.url} sets the temperature (0.4) and maximum tokens (99) itself (client_sampling is "
        "off): --temperature and --max-tokens are not used"
    )
    assert (stub_engine.requests[0]["temperature"], stub_engine.requests[0]["max_tokens"]) == (0.4, 99)


@pytest.mark.usefixtures("cli_env")
def test_chat_with_a_server_that_lets_clients_choose_sends_the_flags(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"client_sampling": True}, [stub_engine.url])
    result = CliRunner().invoke(
        app, ["chat", "--url", backend.url, "--temperature", "1.5", "--max-tokens", "7", "-q", "2+2?"]
    )
    assert (result.exit_code, result.stderr) == (0, "")
    assert (stub_engine.requests[0]["temperature"], stub_engine.requests[0]["max_tokens"]) == (1.5, 7)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("temp", "this server sets the temperature itself (0.4)"),
        ("max", "this server sets the maximum tokens per answer itself (99)"),
    ],
)
def test_temp_and_max_say_the_server_decides(command: str, message: str) -> None:
    conversation = Conversation(temperature=1.5, max_tokens=7)  # e.g. loaded from a file
    defaults = ChatDefaults(system_prompt=None, temperature=0.4, max_tokens=99, server_sampling=True)
    ctx = SimpleNamespace(conversation=conversation, defaults=defaults, console=Console(file=None))
    with pytest.raises(CommandError) as caught:
        execute(ctx, command, "0.2" if command == "temp" else "10")  # type: ignore[arg-type]
    assert caught.value.message == f"{message}: it does not let clients choose (client_sampling is off)"
    assert caught.value.hint == "`edubot chat --local` chats with a model on this computer, where you choose"
    assert (defaults.temperature_for(conversation), defaults.max_tokens_for(conversation)) == (0.4, 99)
