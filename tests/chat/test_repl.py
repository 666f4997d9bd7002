"""The interactive chat driven in-process (prompt_toolkit pipe input) against the scripted stub engine:
every slash command, bad input, save/load, context overflow, history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edubot_cli.chat.commands import COMMANDS, parse
from edubot_cli.chat.repl import history_path, open_history
from edubot_cli.chat.session import Conversation
from tests.chat.conftest import ALT_ENTER, RunRepl, sse_transport
from tests.support.stub_engine import Step, StubEngine

OVERFLOW = "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens."
GREETING = "edubot chat · stub-model at {url} · /help · Ctrl-D leaves"
STATUS = "4 tokens · N tokens/s · first token N s · N s"

pytestmark = pytest.mark.timeout(300)


def normal(lines: list[str]) -> list[str]:
    """Lines with the measured figures replaced by N (they vary from run to run)."""
    out = []
    for line in lines:
        line = re.sub(r"\d+\.\d+ tokens/s", "N tokens/s", line)
        line = re.sub(r"first token \d+\.\d\d s", "first token N s", line)
        out.append(re.sub(r"· \d+\.\d\d s", "· N s", line))
    return out


def sent(stub: StubEngine, index: int = -1) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in stub.requests[index]["messages"]]


def test_question_streams_answer_and_status_line(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["Hello", " from", " the", " stub."], delay=0.01))
    run = run_repl("What is a noun?")
    assert normal(run.lines) == [GREETING.format(url=stub_engine.url), "Hello from the stub.", STATUS]
    assert sent(stub_engine) == [("system", "Be brief."), ("user", "What is a noun?")]
    assert stub_engine.requests[0]["temperature"] == 0.7
    assert stub_engine.requests[0]["max_tokens"] == 512
    answer = run.repl.conversation.messages[1]
    assert (answer.role, answer.content, answer.stats and answer.stats.completion_tokens) == (
        "assistant",
        "Hello from the stub.",
        4,
    )


def test_answers_render_as_markdown(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["## Nouns\n\n", "A **noun** names", " a thing.\n\n", "- cat\n", "- dog"]))
    run = run_repl("nouns?", plain=False)
    assert normal(run.lines[1:]) == [
        "Nouns",
        "",
        "A noun names a thing.",
        "",
        " • cat",
        " • dog",
        "5 tokens · N tokens/s · first token N s · N s",
    ]


def test_help_lists_every_command(run_repl: RunRepl) -> None:
    output = run_repl("/help").output
    for command in COMMANDS.values():
        assert re.search(rf"^{re.escape(command.usage)}\s+{re.escape(command.summary)}$", output, re.M), (
            command.name
        )
    assert output.endswith(
        "Enter sends; Alt+Enter (or Esc then Enter) adds a line; /m swaps the two.\n"
        "Ctrl-C stops an answer; Ctrl-D or /quit leaves.\n"
    )


def test_quit_leaves_at_once(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    run = run_repl("/quit", "never asked")
    assert run.lines[1:] == []
    assert stub_engine.requests == []


def test_unknown_command_and_bad_arguments_print_one_line_and_go_on(
    run_repl: RunRepl, stub_engine: StubEngine
) -> None:
    run = run_repl(
        "/frobnicate",
        "/temp hot",
        "/temp 2.5",
        "/temp nan",
        "/max 0",
        "/max lots",
        "/max 2.5",
        "/new now",
        "/md 1",
        "still here?",
    )
    assert normal(run.lines[1:]) == [
        "error: unknown command /frobnicate (type /help for the list)",
        "error: /temp needs a number from 0 to 2 (got 'hot') (e.g. /temp 0.2)",
        "error: /temp needs a number from 0 to 2 (got '2.5') (e.g. /temp 0.2)",
        "error: /temp needs a number from 0 to 2 (got 'nan') (e.g. /temp 0.2)",
        "error: /max needs a whole number from 1 to 4096 (got '0') (e.g. /max 256)",
        "error: /max needs a whole number from 1 to 4096 (got 'lots') (e.g. /max 256)",
        "error: /max needs a whole number from 1 to 4096 (got '2.5') (e.g. /max 256)",
        "error: /new takes no argument (got 'now') (type /help for the list)",
        "error: no answer to show yet",
        "Hello from the stub.",
        STATUS,
    ]


def test_double_slash_sends_a_question_starting_with_slash(
    run_repl: RunRepl, stub_engine: StubEngine
) -> None:
    run_repl("//etc/hosts: what is it for?")
    assert sent(stub_engine)[-1] == ("user", "/etc/hosts: what is it for?")
    assert parse("  /Temp   0.5 ") == ("temp", "0.5")
    assert parse("//x") is None


def test_temp_and_max_change_the_requests(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    run = run_repl("/temp", "/max", "/temp 0.25", "/max 64", "q")
    assert run.lines[1:5] == ["temperature 0.7", "max tokens 512", "temperature 0.25", "max tokens 64"]
    assert (stub_engine.requests[0]["temperature"], stub_engine.requests[0]["max_tokens"]) == (0.25, 64)
    assert (run.repl.conversation.temperature, run.repl.conversation.max_tokens) == (0.25, 64)


def test_system_sets_shows_and_resets_the_system_prompt(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    run = run_repl("/system", "/system Answer in French.", "/system", "q1", "/system --default", "q2")
    assert normal(run.lines[1:]) == [
        "system prompt (default): Be brief.",
        "system prompt set",
        "system prompt: Answer in French.",
        "Hello from the stub.",
        STATUS,
        "system prompt back to the default",
        "Hello from the stub.",
        STATUS,
    ]
    assert sent(stub_engine, 0)[0] == ("system", "Answer in French.")
    assert sent(stub_engine, 1)[0] == ("system", "Be brief.")


def test_new_starts_over_keeping_settings(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    run = run_repl("/temp 0.1", "first", "/new", "second")
    assert "new conversation (system prompt and settings kept)" in run.lines
    assert sent(stub_engine) == [("system", "Be brief."), ("user", "second")]
    assert stub_engine.requests[-1]["temperature"] == 0.1
    assert run.repl.conversation.title == "second"


def test_retry_replaces_the_last_answer(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["First."]), Step(chunks=["Second."]))
    run = run_repl("q", "/retry", "/undo", "/retry")
    assert sent(stub_engine, 0) == sent(stub_engine, 1) == [("system", "Be brief."), ("user", "q")]
    assert len(stub_engine.requests) == 2
    assert run.lines[-2:] == [
        "removed the last question and its answer",
        "error: nothing to retry: ask a question first",
    ]


def test_undo_removes_exchanges_until_nothing_is_left(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    run = run_repl("q1", "q2", "/undo", "q3", "/undo", "/undo", "/undo")
    assert sent(stub_engine) == [
        ("system", "Be brief."),
        ("user", "q1"),
        ("assistant", "Hello from the stub."),
        ("user", "q3"),
    ]
    assert normal(run.lines[1:]) == [
        "Hello from the stub.",
        STATUS,
        "Hello from the stub.",
        STATUS,
        "removed the last question and its answer",
        "Hello from the stub.",
        STATUS,
        "removed the last question and its answer",
        "removed the last question and its answer",
        "error: nothing to undo",
    ]
    assert run.repl.conversation.messages == []


def test_save_then_load_round_trip(run_repl: RunRepl, stub_engine: StubEngine, tmp_path: Path) -> None:
    path = tmp_path / "lesson.json"
    stub_engine.script(Step(chunks=["A naming ", "word."]))
    first = run_repl("/system Be a tutor.", "/temp 0.4", "What is a noun?", f"/save {path}")
    assert first.lines[-1] == f"saved 2 messages to {path}"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == first.repl.conversation.to_json()
    assert (saved["system"], saved["settings"], saved["title"]) == (
        "Be a tutor.",
        {"temperature": 0.4, "max_tokens": None},
        "What is a noun?",
    )

    second = run_repl(f"/load {path}", "/md 1", "And a verb?")
    assert second.lines[1:4] == [
        f"loaded 'What is a noun?': 2 messages from {path}",
        "/md 1 shows the last answer",
        "A naming word.",
    ]
    assert sent(stub_engine) == [
        ("system", "Be a tutor."),
        ("user", "What is a noun?"),
        ("assistant", "A naming word."),
        ("user", "And a verb?"),
    ]
    assert stub_engine.requests[-1]["temperature"] == 0.4


def test_save_never_overwrites_someone_elses_file(run_repl: RunRepl, tmp_path: Path) -> None:
    other = tmp_path / "notes.json"
    other.write_text("precious", encoding="utf-8")
    run = run_repl(
        "q", f"/save {other}", "/save", f"/save {tmp_path}", f"/save {other} --force", "q2", "/save"
    )
    assert normal(run.lines[1:]) == [
        "Hello from the stub.",
        STATUS,
        f"error: {other} already exists (/save {other} --force overwrites it)",
        "error: usage: /save FILE [--force]",
        f"error: {tmp_path} already exists (/save {tmp_path} --force overwrites it)",
        f"saved 2 messages to {other}",
        "Hello from the stub.",
        STATUS,
        f"saved 4 messages to {other}",  # its own file now: saved again without --force
    ]
    assert len(json.loads(other.read_text(encoding="utf-8"))["messages"]) == 4


def test_unreadable_session_files_print_one_line_and_keep_the_conversation(
    run_repl: RunRepl, stub_engine: StubEngine, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}', encoding="utf-8")
    run = run_repl("q1", f"/load {tmp_path / 'missing.json'}", f"/load {bad}", "/load", "q2")
    assert run.lines[3:6] == [
        f"error: cannot read {tmp_path / 'missing.json'}: no such file (check the path)",
        f"error: {bad}: 'format' must be \"edubot-conversation\" (see docs/conversation-format.md for the "
        "edubot-conversation format)",
        "error: usage: /load FILE",
    ]
    assert [m for _, m in sent(stub_engine)][1:] == ["q1", "Hello from the stub.", "q2"]


def test_stats_summarise_the_conversation(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    run = run_repl("/stats", "q1", "q2", "/max 100", "/stats")
    assert run.lines[1:4] == [
        "conversation: New conversation (0 questions, 0 answers)",
        f"model: stub-model at {stub_engine.url}",
        "temperature 0.7 · max tokens 512 · system prompt default",
    ]
    assert normal(run.lines[-6:]) == [
        "max tokens 100",
        "conversation: q1 (2 questions, 2 answers)",
        f"model: stub-model at {stub_engine.url}",
        "temperature 0.7 · max tokens 100 · system prompt default",
        "answers: 8 tokens in all · N tokens/s on average · first token N s on average",
        "last answer: " + STATUS,
    ]


def test_md_rerenders_an_answer_as_markdown(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["# One\n\n**bold**"]), Step(chunks=["`two`"]))
    run = run_repl("a", "b", "/md 1", "/md", "/md 3", "/md x")
    assert run.lines[-6:] == [
        "One",
        "",
        "bold",
        "two",
        "error: /md needs an answer number from 1 to 2 (got '3') (/md alone shows the last)",
        "error: /md needs an answer number from 1 to 2 (got 'x') (/md alone shows the last)",
    ]
    assert "# One" in run.output  # the plain stream showed the raw text first


def test_model_shows_and_switches(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    run = run_repl("/model", "/model tutor-7b", "q")
    assert run.lines[1:4] == [
        f"model stub-model at {stub_engine.url}",
        "available: stub-model (/model NAME switches)",
        "model tutor-7b",
    ]
    assert stub_engine.requests[-1]["model"] == "tutor-7b"


def test_alt_enter_adds_a_line_and_m_switches_to_multiline(
    run_repl: RunRepl, stub_engine: StubEngine
) -> None:
    run = run_repl(f"line one{ALT_ENTER}line two", "/m", keys=f"a\rb{ALT_ENTER}/m{ALT_ENTER}")
    assert sent(stub_engine, 0)[-1] == ("user", "line one\nline two")
    assert sent(stub_engine, 1)[-1] == ("user", "a\nb")
    assert (
        "multi-line input: Enter adds a line, Alt+Enter (or Esc then Enter) sends; /m to switch back"
        in run.lines
    )
    assert "single-line input: Enter sends, Alt+Enter adds a line" in run.lines
    assert run.repl.multiline is False


def test_context_overflow_drops_oldest_turns_and_retries_once(
    run_repl: RunRepl, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=["a1"]), Step(chunks=["a2"]), Step(status=400, error_message=OVERFLOW))
    run = run_repl("q1", "q2", "q3")
    assert (
        "the conversation no longer fits the model's context: dropped the 2 oldest messages and asking again"
        in run.lines
    )
    assert sent(stub_engine, 2) == [
        ("system", "Be brief."),
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q3"),
    ]
    assert sent(stub_engine, 3) == [
        ("system", "Be brief."),
        ("user", "q2"),
        ("assistant", "a2"),
        ("user", "q3"),
    ]
    assert [m.content for m in run.repl.conversation.messages] == ["q2", "a2", "q3", "Hello from the stub."]


def test_context_overflow_twice_or_with_nothing_to_drop_is_an_error(
    run_repl: RunRepl, stub_engine: StubEngine
) -> None:
    overflow = Step(status=400, error_message=OVERFLOW)
    stub_engine.script(Step(chunks=["a1"]), overflow, overflow, overflow)
    run = run_repl("q1", "q2", "alone")
    message = f"the conversation no longer fits the model's context: {OVERFLOW}"
    assert run.lines[-3:] == [
        "the conversation no longer fits the model's context: dropped the 2 oldest messages and asking again",
        f"error: {message} (start over with /new)",
        f"error: {message} (shorten the question or lower /max)",
    ]
    assert len(stub_engine.requests) == 4


def test_a_failed_answer_leaves_the_question_for_retry(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    stub_engine.script(
        Step(chunks=["par", "tial", "x"], fail_after=2), Step(status=503, error_message="engine down")
    )
    run = run_repl("q", "/retry", "/retry")
    url = f"{stub_engine.url}/v1/chat/completions"
    assert normal(run.lines[1:]) == [
        "partial",
        f"error: the connection to {url} broke off (check the server's log, then /retry)",
        f"error: {url} answered 503: engine down (check that the engine behind the backend is running "
        "(`edubot serve` logs))",
        "Hello from the stub.",
        STATUS,
    ]
    assert [m.content for m in run.repl.conversation.messages] == ["q", "Hello from the stub."]
    assert sent(stub_engine, 2) == [("system", "Be brief."), ("user", "q")]


def test_a_new_question_replaces_an_unanswered_one(run_repl: RunRepl, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(status=500))
    run_repl("lost", "kept")
    assert sent(stub_engine) == [("system", "Be brief."), ("user", "kept")]


def test_input_history_is_written(run_repl: RunRepl, tmp_path: Path) -> None:
    run_repl("first question", "/temp 0.5")
    text = (tmp_path / "history").read_text(encoding="utf-8")
    assert re.findall(r"^\+(.*)$", text, re.M) == ["first question", "/temp 0.5"]


def test_history_lives_in_the_user_data_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert history_path() == tmp_path / "data" / "edubot" / "chat_history"
    _, warning = open_history()
    assert warning is None
    assert history_path().is_file()


def test_unwritable_history_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    history, warning = open_history(blocker / "sub" / "chat_history")
    assert type(history).__name__ == "InMemoryHistory"
    assert (
        warning
        == f"input history not kept: cannot write {blocker / 'sub' / 'chat_history'} (Not a directory)"
    )


def test_a_loaded_conversation_with_an_unanswered_question_can_be_retried(
    run_repl: RunRepl, stub_engine: StubEngine
) -> None:
    conversation = Conversation()
    conversation.add("user", "pending?")
    run_repl("/retry", conversation=conversation)
    assert sent(stub_engine) == [("system", "Be brief."), ("user", "pending?")]


def test_status_line_says_when_the_token_limit_cut_the_answer() -> None:
    import io

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    from rich.console import Console

    from edubot_cli.chat.client import ChatClient
    from edubot_cli.chat.repl import ChatRepl
    from tests.chat.conftest import DEFAULTS

    body = (
        'data: {"choices":[{"delta":{"content":"Once upon a"},"finish_reason":"length"}]}\n\n'
        'data: {"choices":[],"usage":{"completion_tokens":3}}\n\n'
        "data: [DONE]\n\n"
    )
    transport = sse_transport(body)
    out = io.StringIO()
    with create_pipe_input() as pipe, ChatClient("http://e", transport=transport) as client:
        pipe.send_text("story\r\x04")
        repl = ChatRepl(
            client,
            Console(file=out, width=200, color_system=None),
            model="m",
            defaults=DEFAULTS,
            plain=True,
            pt_input=pipe,
            pt_output=DummyOutput(),
        )
        repl.run()
    assert normal(out.getvalue().splitlines()[1:]) == [
        "Once upon a",
        "3 tokens · N tokens/s · first token N s · N s · cut at the token limit (/max)",
    ]


def test_an_empty_answer_is_said_and_the_question_waits_for_retry(
    run_repl: RunRepl, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=[]))
    run = run_repl("hi", "/retry")
    assert normal(run.lines[1:]) == ["the answer was empty", "Hello from the stub.", STATUS]
    assert [(m.role, m.content) for m in run.repl.conversation.messages] == [
        ("user", "hi"),
        ("assistant", "Hello from the stub."),
    ]


def test_load_takes_the_files_settings_over_the_current_ones(
    run_repl: RunRepl, stub_engine: StubEngine, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.json"
    run_repl("/temp 0.4", "/max 64", "What is a noun?", f"/save {path}")
    run_repl("/temp 1.5", "/max 300", f"/load {path}", "And a verb?")
    assert (stub_engine.requests[-1]["temperature"], stub_engine.requests[-1]["max_tokens"]) == (0.4, 64)
