"""Drive the chat REPL in-process: prompt_toolkit reads scripted keys from a pipe, answers go to a string."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from edubot_cli.chat.client import ChatClient
from edubot_cli.chat.repl import ChatRepl
from edubot_cli.chat.session import ChatDefaults, Conversation
from edubot_cli.chat.stream import ChatStream
from tests.support.poll import CEILING, eventually
from tests.support.stub_engine import Step, StubEngine

DEFAULTS = ChatDefaults(system_prompt="Be brief.", temperature=0.7, max_tokens=512)
CTRL_D = "\x04"
ALT_ENTER = "\x1b\r"


@dataclass
class ReplRun:
    output: str
    repl: ChatRepl

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()


RunRepl = Callable[..., ReplRun]


def sse_transport(body: str) -> Any:
    """An httpx transport that answers every request with ``body`` as a 200 text/event-stream."""
    import httpx

    return httpx.MockTransport(
        lambda request: httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
    )


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No EDUBOT_* variables, no colours, and an empty working directory (no configs/edubot.yaml: built-in
    defaults)."""
    for name in list(os.environ):
        if name.startswith("EDUBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def run_repl(stub_engine: StubEngine, tmp_path: Path) -> RunRepl:
    """``run_repl("hi", "/stats")`` types each line then Ctrl-D; returns what was printed and the REPL."""

    def run(
        *lines: str, plain: bool = True, conversation: Conversation | None = None, keys: str = ""
    ) -> ReplRun:
        console = Console(file=io.StringIO(), width=500, force_terminal=False, color_system=None)
        with create_pipe_input() as pipe, ChatClient(stub_engine.url, via_backend=False) as client:
            pipe.send_text("".join(f"{line}\r" for line in lines) + keys + CTRL_D)
            repl = ChatRepl(
                client,
                console,
                model="stub-model",
                defaults=DEFAULTS,
                conversation=conversation,
                plain=plain,
                history=FileHistory(str(tmp_path / "history")),
                pt_input=pipe,
                pt_output=DummyOutput(),
            )
            repl.run()
        return ReplRun(console.file.getvalue(), repl)  # type: ignore[attr-defined]

    return run


class HeldSlot:
    """The only engine slot of a backend started with ``capacity=1``, taken by a long streamed answer (over 3 min
    from the stub engine: longer than any test waits) until ``release`` closes it, which makes the backend cancel
    it and free the slot.

    Script the stub with ``HeldSlot.STEP`` first, then the steps of the requests that are to wait."""

    STEP = Step(chunks=[f" w{i}" for i in range(400)], delay=0.5)

    def __init__(self, backend_url: str) -> None:
        self._client = ChatClient(backend_url)
        self._stream: ChatStream = self._client.stream_chat([{"role": "user", "content": "hold"}], model="m")
        self._stream.__enter__()  # the backend starts streaming once the engine has the request: the slot is taken
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            self._stream.close()
            self._client.close()

    def release_when_queued(self, backend_url: str, timeout: float = CEILING) -> threading.Thread:
        """In a thread: release the slot as soon as the backend's /health shows a request waiting in line (or
        ``timeout`` seconds passed)."""
        import httpx

        def watch() -> None:
            with httpx.Client(trust_env=False, timeout=30) as http:
                eventually(
                    lambda: http.get(f"{backend_url}/health").json()["queue"]["waiting"] >= 1, timeout, 0.02
                )
            self.release()

        thread = threading.Thread(target=watch, name="release-when-queued", daemon=True)
        thread.start()
        return thread
