"""`edubot chat` against the real embedded engine (llama-cpp serving SmolLM2-135M), started with --local."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from edubot_cli.chat.client import ChatClient
from edubot_cli.chat.failures import ContextOverflowError
from edubot_cli.chat.repl import ChatRepl
from edubot_cli.chat.runner import ChatOptions, chat_target
from edubot_cli.chat.session import ChatDefaults, Conversation
from edubot_cli.config import load_settings
from tests.support.poll import eventually

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[2]
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one short sentence."}]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("EDUBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_local_engine_streams_real_answers_stops_cleanly_and_goes_away() -> None:
    settings = load_settings(None)
    status = Console(file=io.StringIO())
    with chat_target(settings, ChatOptions(local=True), status) as target:
        assert (target.via_backend, target.api_key) == (True, None)  # a backend of the session's own
        assert httpx.get(f"{target.url}/health", timeout=30).json()["status"] == "healthy"
        with ChatClient(target.url, api_key=target.api_key, via_backend=True) as client:
            assert len(client.list_models()) == 1
            with client.stream_chat(QUESTION, model="any", temperature=0.0, max_tokens=32) as stream:
                deltas = list(stream)
            assert stream.finished
            assert len(deltas) > 1 and "".join(deltas).strip()
            stats = stream.stats
            assert stats.completion_tokens is not None and stats.completion_tokens >= len(deltas) - 1
            assert stats.ttft_seconds is not None and stats.tokens_per_second is not None

            long = [{"role": "user", "content": "Write a long story about a dragon who learns to read."}]
            with client.stream_chat(long, model="any", max_tokens=400) as stream:
                for count, _ in enumerate(stream, 1):
                    if count == 3:
                        break
            assert stream.stopped and not stream.finished

            # the engine dropped the abandoned answer and serves the next question
            with client.stream_chat(QUESTION, model="any", temperature=0.0, max_tokens=8) as stream:
                assert "".join(stream).strip()

            # the engine's own context-overflow answer is recognised (what triggers dropping old turns)
            # (within the backend's 8,000 characters a message, over the 2,048 tokens of the slot)
            too_long = [{"role": "user", "content": "a " * 3900}]
            with pytest.raises(ContextOverflowError), client.stream_chat(too_long, model="any") as stream:
                list(stream)

            # in the chat: the oldest turns are dropped and the question asked again
            conversation = Conversation()
            conversation.add("user", "Remember this: " + "a " * 2400)
            conversation.add("assistant", "I will.")
            output = io.StringIO()
            with create_pipe_input() as pipe:
                pipe.send_text("What is the capital of France?\r\x04")
                repl = ChatRepl(
                    client,
                    Console(file=output, width=200),
                    model="any",
                    defaults=ChatDefaults(None, 0.0, 24),
                    conversation=conversation,
                    plain=True,
                    pt_input=pipe,
                    pt_output=DummyOutput(),
                )
                repl.run()
            lines = output.getvalue().splitlines()
            assert lines[1] == (
                "the conversation no longer fits the model's context: dropped the 2 oldest messages and asking again"
            )
            assert [m.role for m in repl.conversation.messages] == ["user", "assistant"]
            assert repl.conversation.messages[1].content.strip()
    assert "starting the embedded engine" in status.file.getvalue()  # type: ignore[attr-defined]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{target.url}/v1/models", timeout=30)


def test_one_shot_with_local_engine_in_a_subprocess() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "edubot_cli", "chat", "--local", "--max-tokens", "24", "--temperature", "0"],
        input="Name one planet of the solar system.\n",
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert done.stderr == (
        "starting the embedded engine (llama-cpp, SmolLM2-135M) for this session…\n"
        "grounding is off: the taxonomy folder taxonomy does not exist\n"  # the session's backend says why
    )


def test_interactive_conversation_with_the_local_engine(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm-256color")
    env["PYTHONPATH"] = str(REPO)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "edubot_cli", "chat", "--local", "--temperature", "0", "--max-tokens", "48"],
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 100),
    )
    try:
        child.expect(">>>")
        child.send("What is the capital of France?\r")
        child.expect(r"\d+ tokens? · [\d.]+ tokens/s · first token [\d.]+ s")
        child.expect(">>>")
        child.send("/max 400\r")
        child.expect("max tokens 400")
        child.expect(">>>")
        child.send("Write a long essay about the history of Paris, with many paragraphs.\r")
        child.expect_exact("\x1b[?2004l")  # the prompt has finished (bracketed paste off) ...
        child.expect_exact("\x1b[?25l")  # ... and the live answer view has started (cursor hidden) ...
        child.expect(r"[A-Za-z]{3}")  # ... and shows some of the answer
        child.sendintr()
        child.expect("stopped")
        child.expect(">>>")
        child.send("/stats\r")
        child.expect(r"at (http://127\.0\.0\.1:\d+)")
        engine_url = child.match.group(1)
        child.expect(r"conversation|>>>")
        child.send("/quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{engine_url}/v1/models", timeout=30)


# `edubot` with the kernel's parent-death signal turned off: only edubot's own stop can end the engine.
WITHOUT_DEATH_SIGNAL = (
    "import edubot_cli.launch as launch\n"
    "launch._death_signal_hook = lambda: None\n"
    "from edubot_cli.main import main\n"
    "main()\n"
)


def test_sigterm_stops_the_local_engine_before_edubot_exits(tmp_path: Path) -> None:
    from edubot_cli.procgroup import group_members

    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env["EDUBOT_LOGS_DIR"] = str(tmp_path / "logs")
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WITHOUT_DEATH_SIGNAL,
            "chat",
            "--local",
            "-q",
            "Write a very long story about a dragon.",
            "--max-tokens",
            "3000",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        found: list[int] = []

        def engine_started() -> bool:
            assert proc.poll() is None
            children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == proc.pid]
            found.extend(int(p.name) for p in children if b"llama-server" in _cmdline(p))
            return bool(found)

        assert eventually(engine_started, timeout=240, interval=0.05)
        engine = found[0]

        def answering() -> bool:
            logs = [f for f in (tmp_path / "logs").rglob("*") if f.is_file()]
            return any("| processing task," in f.read_text(errors="replace") for f in logs)

        assert eventually(
            answering, timeout=240, interval=0.05
        )  # the engine's log: it is on the question now
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        # The engine was stopped by edubot itself, before it exited: no parent-death signal was set up.
        assert group_members(engine) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.rstrip().endswith("terminated")
    assert "Traceback" not in err


def _parent(entry: Path) -> int:
    try:
        text = (entry / "stat").read_text()
    except OSError:
        return -1
    return int(text[text.rindex(")") + 2 :].split()[1])


def _cmdline(entry: Path) -> bytes:
    try:
        return (entry / "cmdline").read_bytes()
    except OSError:
        return b""


def test_local_answers_are_grounded_on_the_taxonomy_and_cite_it(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(REPO / "taxonomy", tmp_path / "taxonomy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env.update(PYTHONPATH=str(REPO), EDUBOT_CACHE_DIR=str(tmp_path / "cache"))
    question = "What are the two stages of photosynthesis?"
    done = subprocess.run(
        [sys.executable, "-m", "edubot_cli", "chat", "--local", "-q", question, "--max-tokens", "8"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    import re

    lines = done.stderr.splitlines()
    assert lines[0] == "starting the embedded engine (llama-cpp, SmolLM2-135M) for this session…"
    leaf = "knowledge/science/biology/photosynthesis"
    cited = [line for line in lines if re.fullmatch(rf"\[1\] Biology: .+… — {leaf}/qna\.yaml:\d+", line)]
    assert len(cited) == 1, done.stderr
