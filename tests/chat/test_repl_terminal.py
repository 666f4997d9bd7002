"""The chat in a real pseudo-terminal (pexpect): live markdown, Ctrl-C stopping an answer and the upstream
generation, Ctrl-D leaving, the history file in the user data directory, waiting in the backend's queue."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chat.conftest import HeldSlot
from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING
from tests.support.stub_engine import Step, StubEngine

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.timeout(300)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def screen_text(raw: str) -> str:
    return ANSI.sub("", raw).replace("\r", "")


class Terminal:
    def __init__(self, stub: StubEngine, data_home: Path, *args: str, url: str | None = None) -> None:
        target = ["--url", url] if url else ["--engine-url", stub.url]
        env = {
            **os.environ,
            "XDG_DATA_HOME": str(data_home),
            "PROMPT_TOOLKIT_NO_CPR": "1",  # nothing here answers cursor-position requests
            "TERM": "xterm-256color",
            "EDUBOT_SYSTEM_PROMPT": "Be brief.",
        }
        env.pop("NO_COLOR", None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "edubot_cli", "chat", *target, *args],
            env=env,
            encoding="utf-8",
            timeout=CEILING,
            dimensions=(40, 100),
        )
        self.child.expect(">>>")

    def ask(self, text: str) -> None:
        self.child.send(text + "\r")

    def expect(self, pattern: str) -> str:
        self.child.expect(pattern)
        return screen_text(self.child.before + self.child.after)

    def prompt(self) -> str:
        return self.expect(">>>")

    def close(self) -> int:
        self.child.sendeof()
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus)


@pytest.fixture
def terminal(stub_engine: StubEngine, tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(stub_engine, tmp_path / "data")
    yield term
    if term.child.isalive():
        term.child.terminate(force=True)


def test_streams_markdown_live_and_prints_the_status_line(
    terminal: Terminal, stub_engine: StubEngine
) -> None:
    stub_engine.script(
        Step(
            chunks=[
                "# Fractions\n\n",
                "A **fraction** is ",
                "part of a ",
                "whole.\n\n",
                "- half\n",
                "- third",
            ],
            delay=0.05,
        )
    )
    terminal.ask("What is a fraction?")
    shown = terminal.expect(r"6 tokens · [\d.]+ tokens/s · first token [\d.]+ s · [\d.]+ s")
    terminal.prompt()
    assert "Fractions" in shown and "A fraction is part of a whole." in shown and "• third" in shown
    assert "**" not in shown and "# Fractions" not in shown  # rendered, not raw
    assert terminal.close() == 0


def test_ctrl_c_stops_the_answer_cancels_upstream_and_keeps_the_session(
    terminal: Terminal, stub_engine: StubEngine
) -> None:
    # "Counting: 1 2 ... 29", then it waits until Ctrl-C stops it. The screen is redrawn as deltas arrive (at
    # most 12 times a second), so the words after " 3" are what gets " 3" drawn.
    paused = Step(
        chunks=["Counting:"] + [f" {i}" for i in range(1, 400)],
        delay=0.05,
        gate=threading.Event(),
        gate_after=30,
    )
    stub_engine.script(paused)
    terminal.ask("count slowly")
    terminal.expect(" 3")
    terminal.child.sendintr()
    assert stub_engine.wait_cancelled(1)
    terminal.expect(r"stopped")
    terminal.prompt()
    terminal.ask("thanks")
    terminal.expect("Hello from the stub.")
    terminal.prompt()
    messages = stub_engine.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"].startswith("Counting: 1 2 3")  # the part received was kept
    assert messages[3]["content"] == "thanks"
    assert stub_engine.wait_completed(1)
    assert stub_engine.completed == 1
    assert terminal.close() == 0


def test_ctrl_c_before_the_first_token(terminal: Terminal, stub_engine: StubEngine) -> None:
    stub_engine.script(Step(gate=threading.Event()))  # no first token until Ctrl-C
    terminal.ask("slow")
    assert stub_engine.wait_requests(1)
    terminal.child.sendintr()
    assert stub_engine.wait_cancelled(1)
    terminal.expect(r"stopped before the answer began \(/retry asks again\)")
    terminal.prompt()
    terminal.ask("/retry")
    terminal.expect("Hello from the stub.")
    terminal.prompt()
    assert stub_engine.requests[1]["messages"][-1] == {"role": "user", "content": "slow"}
    assert terminal.close() == 0


def test_quit_and_history_file(terminal: Terminal, tmp_path: Path) -> None:
    terminal.ask("first question")
    terminal.expect("tokens/s")
    terminal.prompt()
    terminal.child.send("half typed")
    terminal.expect("half typed")
    terminal.child.sendintr()  # Ctrl-C at the prompt clears the line
    terminal.prompt()
    terminal.ask(f"multi{chr(27)}\rline")
    terminal.expect("tokens/s")
    terminal.prompt()
    terminal.ask("/quit")
    terminal.child.expect(pexpect.EOF)
    terminal.child.close()
    assert terminal.child.exitstatus == 0
    history = (tmp_path / "data" / "edubot" / "chat_history").read_text(encoding="utf-8")
    assert re.findall(r"^\+(.*)$", history, re.M) == ["first question", "multi", "line", "/quit"]


def test_waiting_in_the_backends_queue_shows_until_the_first_token(
    stub_engine: StubEngine, live_backend: Callable[..., LiveBackend], tmp_path: Path
) -> None:
    backend = live_backend(engine_urls=[stub_engine.url], capacity=1)
    term = Terminal(stub_engine, tmp_path / "data", url=backend.url)
    try:
        stub_engine.script(HeldSlot.STEP, Step(chunks=["Second", " answer."]))
        held = HeldSlot(backend.url)
        term.ask("hi")
        term.expect("waiting for a free slot")
        held.release()
        shown = term.expect(r"2 tokens · [\d.]+ tokens/s")
        term.prompt()
        assert "Second answer." in shown
        assert term.close() == 0
    finally:
        if term.child.isalive():
            term.child.terminate(force=True)
