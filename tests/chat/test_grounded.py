"""`edubot chat` through a grounded backend (the real backend in front of the stub engine, a temp taxonomy): the
answer comes from the backend's /chat, its sources are printed under it, `/sources` shows them again, `-q` keeps
the answer alone on stdout, and an ungrounded answer (no taxonomy, an engine URL) prints none."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console
from typer.testing import CliRunner

from edubot_cli.chat.client import ChatClient
from edubot_cli.chat.repl import ChatRepl
from edubot_cli.chat.session import Conversation, Source
from edubot_cli.chat.stream import BackendChatStream
from edubot_cli.errors import ChatError
from edubot_cli.main import app
from tests.chat.conftest import DEFAULTS
from tests.grounding.conftest import PLANTS, age, write
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]
QUESTION = "What do roots take up from the soil?"
FILE = "knowledge/botany/plants/qna.yaml"
CITE = f"[1] Botany: Roots take up water and minerals from the… — {FILE}:7"
SNIPPET = (  # the passage, indented under its citation
    "    Roots take up water and minerals from the soil. Tiny root hairs give the roots a large surface. "
    "Q: What do roots take up from the soil? A: Roots take up water and minerals. "
    "Q: Why do roots have root hairs? A: Root hairs give the roots a large surface."
)


@pytest.fixture
def grounded_env(cli_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """After cli_env (which clears EDUBOT_*): an isolated index cache; returns a temp taxonomy (PLANTS)."""
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "taxonomy"
    write(root, FILE, PLANTS)
    age(root)
    return root


@pytest.fixture
def grounded(grounded_env: Path, stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    # ``check``: the model (the stub) writes every answer, which the backend checks against the passages
    return live_backend(
        {"taxonomy_path": grounded_env, "grounding": None, "grounding_answer": "check"}, [stub_engine.url]
    )


def ask(conversation: Conversation, question: str = QUESTION) -> Conversation:
    conversation.add("user", question)
    return conversation


def run_repl(url: str, *lines: str, conversation: Conversation | None = None) -> tuple[str, ChatRepl]:
    """Type ``lines`` into a plain REPL talking to the backend at ``url``; what it printed, and the REPL."""
    out = io.StringIO()
    with create_pipe_input() as pipe, ChatClient(url) as client:
        pipe.send_text("".join(f"{line}\r" for line in lines) + "\x04")
        repl = ChatRepl(
            client,
            Console(file=out, width=500, color_system=None),
            model="stub-model",
            defaults=DEFAULTS,
            conversation=conversation,
            plain=True,
            pt_input=pipe,
            pt_output=DummyOutput(),
            notices=Console(file=io.StringIO(), width=200, color_system=None),
        )
        repl.run()
    return out.getvalue(), repl


# --- the client ---


def test_the_client_asks_the_backends_chat_and_receives_the_sources(
    grounded: LiveBackend, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=["Water", " and minerals [1]."]))
    conversation = ask(Conversation(temperature=0.3))
    with (
        ChatClient(grounded.url) as client,
        client.stream_answer(
            conversation, "Be brief.", model="stub-model", temperature=0.3, max_tokens=64
        ) as stream,
    ):
        deltas = list(stream)
    assert isinstance(stream, BackendChatStream)
    assert (stream.url, stream.note) == (f"{grounded.url}/chat", None)
    # the backend shows a grounded answer a whole checked sentence at a time
    assert (deltas, stream.finished, stream.finish_reason) == (["Water and minerals [1]."], True, "stop")
    assert stream.stats.completion_tokens == 2
    assert len(stream.sources) == 1
    source = stream.sources[0]
    assert (source.n, source.file, source.line, source.yaml_path) == (1, FILE, 7, "seed_examples[0].context")
    assert source.citation == CITE
    assert source.snippet.startswith("Roots take up water and minerals from the soil.")
    assert source.score is not None and source.score > 0
    # the engine got the taxonomy's passage and the client's sampling settings, not the client's system prompt
    request = stub_engine.requests[0]
    assert "Roots take up water and minerals from the soil." in request["messages"][-1]["content"]
    assert (request["temperature"], request["max_tokens"]) == (0.3, 64)
    assert "Be brief." not in json.dumps(request["messages"])


def test_history_goes_to_chat_as_conversation_history(grounded: LiveBackend, stub_engine: StubEngine) -> None:
    conversation = Conversation()
    conversation.add("user", "What is a root?")
    conversation.add("assistant", "The part under the ground.")
    ask(conversation)
    with ChatClient(grounded.url) as client, client.stream_answer(conversation, None, model="m") as stream:
        list(stream)
    messages = stub_engine.requests[0]["messages"]
    assert messages[-3:-1] == [
        {"role": "user", "content": "What is a root?"},
        {"role": "assistant", "content": "The part under the ground."},
    ]
    assert messages[-1]["content"].endswith(f"Question: {QUESTION}")


def test_an_engine_url_keeps_the_openai_path(stub_engine: StubEngine) -> None:
    with (
        ChatClient(stub_engine.url, via_backend=False) as client,
        client.stream_answer(ask(Conversation()), "Be brief.", model="stub-model") as stream,
    ):
        assert "".join(stream) == "Hello from the stub."
    assert (stream.url, stream.sources, stream.note) == (f"{stub_engine.url}/v1/chat/completions", [], None)
    assert stub_engine.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_a_custom_system_prompt_the_server_refuses_falls_back_to_v1_ungrounded(
    grounded: LiveBackend, stub_engine: StubEngine
) -> None:
    conversation = ask(Conversation(system="Talk like a pirate."))
    with ChatClient(grounded.url) as client, client.stream_answer(conversation, None, model="m") as stream:
        list(stream)
    assert stream.url == f"{grounded.url}/v1/chat/completions"
    assert stream.sources == []
    assert stream.note is not None and stream.note.startswith(
        "answers are not grounded: the server does not allow"
    )
    assert stub_engine.requests[0]["messages"][0] == {"role": "system", "content": "Talk like a pirate."}


def test_a_custom_system_prompt_the_server_allows_goes_to_chat(
    grounded_env: Path, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(
        {
            "taxonomy_path": grounded_env,
            "grounding": None,
            "grounding_answer": "check",
            "allow_system_prompt_override": True,
        },
        [stub_engine.url],
    )
    conversation = ask(Conversation(system="Talk like a pirate."))
    with ChatClient(backend.url) as client, client.stream_answer(conversation, None, model="m") as stream:
        list(stream)
    assert (stream.url, stream.note, len(stream.sources)) == (f"{backend.url}/chat", None, 1)
    assert stub_engine.requests[0]["messages"][0]["content"].startswith("Talk like a pirate.")


def test_another_model_than_the_backends_is_asked_through_v1(grounded: LiveBackend) -> None:
    with ChatClient(grounded.url) as client:
        client.grounded_model = "stub-model"
        with client.stream_answer(ask(Conversation()), None, model="other") as stream:
            list(stream)
    assert stream.url.endswith("/v1/chat/completions")
    assert stream.note == "answers are not grounded: /chat answers with stub-model (/model stub-model)"


# --- the terminal chat ---


def test_the_repl_prints_the_sources_after_the_answer(grounded: LiveBackend, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["Water", " and minerals [1]."]))
    output, repl = run_repl(grounded.url, QUESTION)
    lines = output.splitlines()
    assert lines[1:3] == ["Water and minerals [1].", CITE]
    assert lines[3].startswith("2 tokens · ")
    assert len(lines) == 4
    assert repl.conversation.answers()[-1].sources[0].citation == CITE


def test_slash_sources_shows_them_again_with_their_passages(
    grounded: LiveBackend, stub_engine: StubEngine
) -> None:
    output, _ = run_repl(grounded.url, QUESTION, "/sources")
    lines = output.splitlines()
    assert lines[-3:] == ["sources of the last answer:", CITE, SNIPPET]


def test_slash_sources_before_any_answer_and_for_an_ungrounded_one(
    cli_env: None, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])  # no knowledge in its taxonomy: ungrounded
    output, _ = run_repl(backend.url, "/sources", "hi", "/sources", "/sources 2")
    lines = output.splitlines()
    assert lines[1] == "error: no answer yet: ask a question first"
    assert lines[2] == "Hello from the stub."  # no citation line after it
    assert lines[3].startswith("4 tokens · ")
    assert lines[4:] == [
        "the last answer has no sources (it was not grounded in the taxonomy)",
        "error: /sources needs an answer number from 1 to 1 (got '2') (/sources alone shows the last answer's)",
    ]


def test_a_saved_conversation_keeps_the_sources(
    grounded: LiveBackend, stub_engine: StubEngine, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.json"
    run_repl(grounded.url, QUESTION, f"/save {path}")
    saved = json.loads(path.read_text(encoding="utf-8"))["messages"][1]["sources"]
    assert saved == [
        {
            "n": 1,
            "line": 7,
            "file": FILE,
            "yaml_path": "seed_examples[0].context",
            "title": "Botany: Roots take up water and minerals from the…",
            "snippet": saved[0]["snippet"],
        }
    ]
    output, _ = run_repl(grounded.url, f"/load {path}", "/sources")
    assert output.splitlines()[-2:] == [CITE, SNIPPET]


# --- -q ---


def test_one_shot_keeps_the_answer_alone_on_stdout_and_cites_on_stderr(
    grounded: LiveBackend, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=["Water", " and minerals [1]."]))
    result = CliRunner().invoke(app, ["chat", "--url", grounded.url, "-q", QUESTION])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Water and minerals [1].\n", f"{CITE}\n")


def test_an_ungrounded_one_shot_prints_no_sources(
    cli_env: None, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url])
    result = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", "hi"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello from the stub.\n", "")
    engine = CliRunner().invoke(app, ["chat", "--engine-url", stub_engine.url, "-q", "hi"])
    assert (engine.exit_code, engine.stdout, engine.stderr) == (0, "Hello from the stub.\n", "")


# --- the /chat stream, event by event ---


def mock_stream(body: str, status: int = 200) -> ChatClient:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"chat": {"system_prompt_override": False}})
        return httpx.Response(status, text=body, headers={"content-type": "text/event-stream"})

    return ChatClient("http://edubot.test", transport=httpx.MockTransport(answer))


def events(*items: Any) -> str:
    return "".join(f"data: {json.dumps(item)}\n\n" if not isinstance(item, str) else item for item in items)


def test_chat_events_queued_deltas_and_done() -> None:
    places: list[int] = []
    body = events(
        {"queued": {"ahead": 1}},
        {"queued": {"ahead": 0}},
        {"delta": "A"},
        {"delta": "B"},
        {"done": True, "usage": {"completion_tokens": 8}, "sources": []},
    )
    conversation = ask(Conversation())
    with (
        mock_stream(body) as client,
        client.stream_answer(conversation, None, model="m", max_tokens=8, on_queued=places.append) as stream,
    ):
        assert list(stream) == ["A", "B"]
    assert (places, stream.queued, stream.sources) == ([1, 0], 0, [])
    assert (stream.finished, stream.finish_reason, stream.stats.completion_tokens) == (True, "length", 8)


def test_chat_error_event_mid_answer() -> None:
    body = events(
        {"delta": "A"}, "event: error\n", {"error": {"code": "engine_error", "message": "it broke"}}
    )
    with (
        mock_stream(body) as client,
        pytest.raises(ChatError) as caught,
        client.stream_answer(ask(Conversation()), None, model="m") as stream,
    ):
        list(stream)
    assert caught.value.message == "http://edubot.test/chat failed mid-answer: it broke"


def test_chat_overflow_before_the_stream_is_a_context_overflow() -> None:
    from edubot_cli.chat.failures import ContextOverflowError

    error = {"error": {"code": "bad_request", "message": "maximum context length is 2048 tokens"}}
    with mock_stream(json.dumps(error), status=400) as client, pytest.raises(ContextOverflowError):
        client.stream_answer(ask(Conversation()), None, model="m").__enter__()


def test_sources_round_trip_and_bad_sources_are_refused() -> None:
    conversation = ask(Conversation())
    source = Source(n=1, file=FILE, line=7, yaml_path="y", title="t", snippet="s", score=2.5)
    conversation.add("assistant", "A [1].", sources=[source])
    loaded = Conversation.from_json(json.loads(json.dumps(conversation.to_json())))
    assert loaded.messages[1].sources == [
        Source(n=1, file=FILE, line=7, yaml_path="y", title="t", snippet="s")
    ]
    assert "sources" not in loaded.messages[0].to_json()
    document = conversation.to_json()
    document["messages"][1]["sources"] = [{"n": "1", "line": 7, "file": FILE}]
    with pytest.raises(ChatError) as caught:
        Conversation.from_json(document, "x.json")
    assert caught.value.message == (
        "x.json: messages[1].sources must be a list of {n, line, file, yaml_path, title, snippet}"
    )


# --- what the /v1 path did, through /chat ---


def test_stopping_a_chat_answer_cancels_the_engine(grounded: LiveBackend, stub_engine: StubEngine) -> None:
    # whole, different sentences (a grounded answer is shown a checked sentence at a time), paused after three
    words = [f"{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(300)]
    stub_engine.script(
        Step(chunks=[f"Roots take up water {w}. " for w in words], gate=threading.Event(), gate_after=3)
    )
    with (
        ChatClient(grounded.url) as client,
        client.stream_answer(ask(Conversation()), None, model="m") as stream,
    ):
        for count, _ in enumerate(stream, 1):
            if count == 2:
                break
    assert isinstance(stream, BackendChatStream)
    assert stream.stopped
    assert stub_engine.wait_cancelled(1)


def test_a_context_overflow_through_chat_drops_the_oldest_turns(
    grounded: LiveBackend, stub_engine: StubEngine
) -> None:
    overflow = "This model's maximum context length is 2048 tokens. However, you requested 2600 tokens."
    stub_engine.script(
        Step(chunks=["Leaves make food."]),
        Step(status=400, error_message=overflow),
        Step(chunks=["Water and minerals."]),
    )
    output, repl = run_repl(grounded.url, "What is a leaf?", QUESTION)
    assert (
        "the conversation no longer fits the model's context: dropped the 2 oldest messages and asking again"
        in output.splitlines()
    )
    assert [m.content for m in repl.conversation.messages] == [QUESTION, "Water and minerals [1]."]
    assert stub_engine.requests[-1]["messages"][-1]["content"].endswith(f"Question: {QUESTION}")


def test_a_backend_with_a_key_is_asked_through_chat(
    grounded_env: Path, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(
        {"taxonomy_path": grounded_env, "grounding": None, "grounding_answer": "check", "api_key": "s3cret"},
        [stub_engine.url],
    )
    stub_engine.script(Step(chunks=["Water and minerals."]))
    result = CliRunner().invoke(app, ["chat", "--url", backend.url, "--api-key", "s3cret", "-q", QUESTION])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Water and minerals [1].\n", f"{CITE}\n")


def test_chat_gets_the_last_max_history_turns_cut_to_size_and_a_long_question_goes_to_v1() -> None:
    bodies: list[tuple[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"chat": {"max_history": 3, "max_message_chars": 5}})
        bodies.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, text=events({"delta": "A"}, {"done": True}))

    conversation = Conversation()
    for i in range(3):
        conversation.add("user", f"q{i}")
        conversation.add("assistant", f"answer {i}")
    ask(conversation, "q3")
    with ChatClient("http://edubot.test", transport=httpx.MockTransport(answer)) as client:
        with client.stream_answer(conversation, None, model="m") as stream:
            list(stream)
        path, body = bodies[-1]
        assert (path, body["message"], body["stream"]) == ("/chat", "q3", True)
        assert body[
            "conversation_history"
        ] == [  # the last 3 earlier turns, each cut to 5 characters (as the page)
            {"role": "assistant", "content": "answe"},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": "answe"},
        ]
        ask(conversation, "x" * 6)
        with client.stream_answer(conversation, None, model="m") as stream:
            assert stream.note == "this answer is not grounded: /chat takes questions of at most 5 characters"
    assert bodies[-1][0] == "/v1/chat/completions"
