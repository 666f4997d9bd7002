"""The interactive terminal chat: prompt_toolkit input, slash commands, streamed answers.

Input keeps its history in the user data directory. Enter sends; Alt+Enter (or Esc then Enter) adds a line, and
``/m`` swaps the two. Ctrl-C during an answer stops it (closing the stream, so the server stops generating) and
keeps the conversation; Ctrl-C at the prompt clears the line; Ctrl-D or ``/quit`` leaves. While the backend keeps a
question waiting for a free engine slot, ``waiting, N ahead`` shows until the first token (on standard error with
``--plain``). A grounded answer (through the backend's ``/chat``) is followed by its sources, ``[1] title —
file:line``; ``/sources`` shows them again with their passages.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from rich.markup import escape

from ..console import rich_console
from ..errors import ChatError, EdubotError
from . import commands
from .client import ChatClient
from .failures import ContextOverflowError
from .render import AnswerView
from .session import ChatDefaults, Conversation

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output
    from rich.console import Console

PROMPT = ">>> "
CONTINUATION = "... "
HISTORY_FILE = "chat_history"


def history_path() -> Path:
    """Where the input history lives: ``<user data dir>/edubot/chat_history`` (e.g. ~/.local/share/edubot)."""
    from platformdirs import user_data_path

    return user_data_path("edubot", appauthor=False) / HISTORY_FILE


def open_history(path: Path | None = None) -> tuple[History, str | None]:
    """A file-backed input history, or an in-memory one plus a warning when the file cannot be created."""
    path = path or history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as exc:
        return InMemoryHistory(), f"input history not kept: cannot write {path} ({exc.strerror})"
    return FileHistory(str(path)), None


def describe_error(exc: EdubotError) -> str:
    """One line: the message, then the hint in brackets."""
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


class ChatRepl:
    """One interactive chat session against ``client``, printing to ``console``."""

    def __init__(
        self,
        client: ChatClient,
        console: Console,
        *,
        model: str,
        defaults: ChatDefaults,
        conversation: Conversation | None = None,
        plain: bool = False,
        history: History | None = None,
        pt_input: Input | None = None,
        pt_output: Output | None = None,
        notices: Console | None = None,
    ) -> None:
        self.client = client
        self.console = console
        self.notices = notices  # plain mode: where "waiting, N ahead" goes (standard error when None)
        self.model = model
        self.conversation = conversation or Conversation()
        self.plain = plain
        self.multiline = False
        self.session_file: Path | None = None
        self.defaults = defaults
        self.target = client.url
        self._quit = False
        self._notes: set[str] = set()  # why answers are not grounded, each said once
        self._prompt: PromptSession[str] = PromptSession(
            history=history or InMemoryHistory(),
            multiline=Condition(lambda: self.multiline),
            key_bindings=self._key_bindings(),
            prompt_continuation=CONTINUATION,
            completer=WordCompleter([f"/{name}" for name in commands.COMMANDS], sentence=True),
            complete_while_typing=False,
            input=pt_input,
            output=pt_output,
        )

    def _key_bindings(self) -> KeyBindings:
        bindings = KeyBindings()

        # In single-line mode Alt+Enter adds a line; in multi-line mode prompt_toolkit's own Alt+Enter sends.
        @bindings.add("escape", "enter", filter=Condition(lambda: not self.multiline))
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        return bindings

    # --- the loop ---

    def run(self) -> None:
        """Read and answer until Ctrl-D or /quit."""
        self.console.print(
            f"[dim]edubot chat · {escape(self.model)} at {escape(self.target)} · /help · Ctrl-D leaves[/]",
            highlight=False,
        )
        while not self._quit:
            try:
                line = self._prompt.prompt(PROMPT)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line, like a shell
            except EOFError:
                break
            self.handle(line)

    def handle(self, line: str) -> None:
        """One input: a slash command or a question. Bad input prints one line; the chat goes on."""
        if not line.strip():
            return
        parsed = commands.parse(line)
        try:
            if parsed is not None:
                commands.execute(self, *parsed)
            else:
                self.ask(commands.unescape_question(line))
        except EdubotError as exc:
            self.error(exc)
        except KeyboardInterrupt:
            self.info("interrupted")  # e.g. Ctrl-C while /model waits for the server

    def error(self, exc: EdubotError) -> None:
        self.console.print(f"[bold red]error:[/] {escape(describe_error(exc))}", highlight=False)

    def info(self, text: str) -> None:
        self.console.print(f"[cyan]{escape(text)}[/]", highlight=False)

    def quit(self) -> None:
        self._quit = True

    def list_models(self) -> list[str]:
        return self.client.list_models()

    # --- asking ---

    def ask(self, question: str) -> None:
        """Add ``question`` to the conversation (replacing an unanswered one) and answer it."""
        self.conversation.drop_pending_question()
        self.conversation.add("user", question)
        self.answer()

    def answer(self, *, overflow_retried: bool = False) -> None:
        """Stream the answer to the unanswered last question. On a context overflow drop the oldest turns and try
        once more; on Ctrl-C keep what arrived (marked stopped); on failure leave the question for /retry."""
        conversation = self.conversation
        notices = (self.notices or rich_console(stderr=True, wrap=True)) if self.plain else None
        view = AnswerView(self.console, plain=self.plain, notices=notices)
        stopped = False
        try:
            with self.client.stream_answer(
                conversation,
                self.defaults.system_prompt,
                model=self.model,
                temperature=self.defaults.temperature_for(conversation),
                max_tokens=self.defaults.max_tokens_for(conversation),
                on_queued=view.waiting,
            ) as stream:
                if stream.note and stream.note not in self._notes:
                    self._notes.add(stream.note)
                    self.console.print(f"[dim]{escape(stream.note)}[/]", highlight=False)
                view.start()
                try:
                    for delta in stream:
                        view.add(delta)
                except KeyboardInterrupt:
                    stopped = True
        except KeyboardInterrupt:
            view.abort()
            self.info("stopped before the answer began (/retry asks again)")
            return
        except ContextOverflowError as exc:
            view.abort()
            dropped = 0 if overflow_retried else conversation.drop_oldest_turns()
            if not dropped:
                raise ChatError(
                    exc.message,
                    hint="shorten the question or lower /max"
                    if not overflow_retried
                    else "start over with /new",
                ) from exc
            self.info(
                f"the conversation no longer fits the model's context: dropped the {dropped} oldest "
                f"message{'s' if dropped != 1 else ''} and asking again"
            )
            self.answer(overflow_retried=True)
            return
        except BaseException:
            view.abort()
            raise
        stats = stream.stats
        if stream.text:
            conversation.add("assistant", stream.text, stats=stats, stopped=stopped, sources=stream.sources)
            view.finish(stats, stopped, truncated=stream.finish_reason == "length", sources=stream.sources)
        else:
            view.finish(None)
            self.info(
                "stopped before the answer began (/retry asks again)" if stopped else "the answer was empty"
            )
