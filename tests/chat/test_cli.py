"""`edubot chat` one-shot (-q) and piped modes, through CliRunner and a real subprocess; error paths."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app
from tests.support.stub_engine import Step, StubEngine

REPO = Path(__file__).resolve().parents[2]
OVERFLOW = "This model's maximum context length is 2048 tokens. However, you requested 4000 tokens."


pytestmark = pytest.mark.usefixtures("cli_env")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chat(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["chat", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_question_prints_only_the_answer(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["**Four**", "."]))
    code, out, err = chat("--engine-url", stub_engine.url, "-q", "What is 2+2?")
    assert (code, out, err) == (0, "**Four**.\n", "")  # not a terminal: plain text
    request = stub_engine.requests[0]
    assert request["model"] == "stub-model"  # the configured name is not served: the engine's own model
    assert request["messages"][1] == {"role": "user", "content": "What is 2+2?"}
    assert request["messages"][0]["role"] == "system"
    assert request["messages"][0]["content"].startswith("You are edubot")
    assert (request["temperature"], request["max_tokens"]) == (0.7, 512)


def test_flags_reach_the_request(stub_engine: StubEngine) -> None:
    code, out, _ = chat(
        "--engine-url",
        stub_engine.url,
        "--system",
        "Answer in Spanish.",
        "--temperature",
        "0.1",
        "--max-tokens",
        "9",
        "--model",
        "tutor",
        "--plain",
        "--question",
        "hi",
    )
    assert (code, out) == (0, "Hello from the stub.\n")
    request = stub_engine.requests[0]
    assert request["messages"] == [
        {"role": "system", "content": "Answer in Spanish."},
        {"role": "user", "content": "hi"},
    ]
    assert (request["temperature"], request["max_tokens"], request["model"]) == (0.1, 9, "tutor")


def test_piped_question(stub_engine: StubEngine) -> None:
    code, out, err = chat("--engine-url", stub_engine.url, input="Explain\nfractions\n")
    assert (code, out, err) == (0, "Hello from the stub.\n", "")
    assert stub_engine.requests[0]["messages"][-1] == {"role": "user", "content": "Explain\nfractions"}


def test_backend_url_from_flag_and_environment(
    stub_engine: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert chat("--url", stub_engine.url, "-q", "a")[:2] == (0, "Hello from the stub.\n")
    monkeypatch.setenv("EDUBOT_URL", stub_engine.url)
    assert chat("-q", "b")[:2] == (0, "Hello from the stub.\n")
    assert len(stub_engine.requests) == 2


def test_nothing_answering_says_to_start_the_backend() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = chat("--url", url, "-q", "hi")
    assert (code, out) == (1, "")
    assert err == (
        f"error: nothing answers at {url}\n"
        "hint: start the backend with `edubot serve` (or chat with the embedded model: `edubot chat --local`)\n"
    )


def test_engine_failure_is_one_error_and_exit_1(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(status=503, error_message="engine is loading"))
    code, out, err = chat("--engine-url", stub_engine.url, "-q", "hi")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {stub_engine.url}/v1/chat/completions answered 503: engine is loading",
        "hint: check that the engine behind the backend is running (`edubot serve` logs)",
    ]


def test_answer_cut_off_mid_stream_fails(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["one ", "two ", "three"], fail_after=1))
    code, out, err = chat("--engine-url", stub_engine.url, "-q", "hi")
    assert (code, out) == (1, "one \n")
    assert err.splitlines()[0] == f"error: the connection to {stub_engine.url}/v1/chat/completions broke off"


def test_an_empty_answer_fails(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=[]))
    code, out, err = chat("--engine-url", stub_engine.url, "-q", "hi")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {stub_engine.url}/v1/chat/completions sent an empty answer",
        "hint: try again, or raise --max-tokens",
    ]


def test_one_shot_context_overflow(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(status=400, error_message=OVERFLOW))
    code, _, err = chat("--engine-url", stub_engine.url, "-q", "long question")
    assert code == 1
    assert err.splitlines() == [
        f"error: the conversation no longer fits the model's context: {OVERFLOW}",
        "hint: shorten the question or lower --max-tokens",
    ]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["-q", "  "], None, "error: the question given to -q is empty"),
        ([], "  \n", "error: no question on standard input"),
        (
            ["--local", "--engine-url", "http://x", "-q", "hi"],
            None,
            "error: give either --local or --engine-url, not both",
        ),
        (["--local", "--url", "http://x", "-q", "hi"], None, "error: give either --local or --url, not both"),
    ],
)
def test_usage_errors_exit_2(args: list[str], stdin: str | None, message: str) -> None:
    code, out, err = chat(*args, input=stdin)
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == message


def test_out_of_range_flags_are_refused() -> None:
    code, _, err = chat("--temperature", "3", "-q", "hi")
    assert code == 2
    assert "Invalid value for '--temperature'" in err


def run_edubot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "edubot_cli", "chat", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=False,
    )


def test_subprocess_one_shot_and_pipe(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["# Hi", "\n\nthere"]), Step(chunks=["piped ", "answer"]))
    done = run_edubot("--engine-url", stub_engine.url, "-q", "hello")
    assert (done.returncode, done.stdout, done.stderr) == (0, "# Hi\n\nthere\n", "")
    piped = run_edubot("--engine-url", stub_engine.url, stdin="from a pipe\n")
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "piped answer\n", "")
    assert stub_engine.requests[1]["messages"][-1]["content"] == "from a pipe"


def test_subprocess_failure_exit_code() -> None:
    done = run_edubot("--url", f"http://127.0.0.1:{free_port()}", "-q", "hello")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "edubot serve" in done.stderr


def test_model_choice() -> None:
    from edubot_cli.chat.runner import pick_model

    assert pick_model("asked", ["edubot"], "edubot") == "asked"
    assert pick_model(None, ["other", "edubot"], "edubot") == "edubot"
    assert pick_model(None, ["/models/smol.gguf"], "edubot") == "/models/smol.gguf"
    assert pick_model(None, [], "edubot") == "edubot"
