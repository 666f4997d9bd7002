"""How answers appear in the terminal: Rich markdown rendered live as it streams, or the raw text (``--plain``),
followed by a status line (tokens, tokens/s, time to first token).

Finished markdown blocks are printed once, for good, as soon as the next block starts; only the block being
written is redrawn. The scrollback therefore holds each answer exactly once, and headings and code blocks are
drawn without boxes or padding so that copying text out of the terminal gives clean text.

While the backend keeps a request waiting for a free engine slot, ``waiting, N ahead`` shows until the first
token: in the live display, or (``-q``, ``--plain``) on standard error, so standard output holds only the answer.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import CodeBlock, Heading, Markdown, MarkdownElement
from rich.markup import escape
from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text

from ..grounding.sources import Source
from .session import AnswerStats

REFRESH_SECONDS = 1 / 12


class _LeftHeading(Heading):
    """Headings flush left (Rich centres h1), so copied text starts at the margin."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text.copy()
        text.justify = "default"
        yield text


class _PlainCodeBlock(CodeBlock):
    """Highlighted code without padding or background, so copied code has no stray spaces."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        yield Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, background_color="default")


class AnswerMarkdown(Markdown):
    """Rich markdown with copy-friendly headings and code blocks."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "heading_open": _LeftHeading,
        "fence": _PlainCodeBlock,
        "code_block": _PlainCodeBlock,
    }


def split_blocks(text: str) -> tuple[list[str], int]:
    """Markdown blocks of ``text`` that can no longer change, and the offset where the unfinished rest starts.

    A block ends at a blank line outside a code fence once the next line has begun without indentation (an
    indented line could still belong to the block, e.g. a list item's second paragraph).
    """
    blocks: list[str] = []
    lines = text.split("\n")
    fence: str | None = None
    block_start = 0
    offset = 0
    for index, line in enumerate(lines[:-1]):  # the last line is still being written
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
        elif stripped.startswith(("```", "~~~")):
            marker = stripped[0]
            fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
        elif not stripped:
            following = lines[index + 1]
            block = text[block_start:offset].strip("\n")
            if following[:1] not in ("", " ", "\t") and block.strip():
                blocks.append(block)
                block_start = offset + len(line) + 1
            elif not block.strip():
                block_start = offset + len(line) + 1
        offset += len(line) + 1
    return blocks, block_start


def _trim(line: list[Segment]) -> list[Segment]:
    """A rendered line without trailing spaces (Rich pads lines to the full width)."""
    line = list(line)
    while line:
        last = line[-1]
        if last.control:
            break
        text = last.text.rstrip()
        if text:
            line[-1] = Segment(text, last.style)
            break
        line.pop()
    return line


def _text(line: list[Segment]) -> str:
    return "".join(segment.text for segment in line)


class Trimmed:
    """A renderable's last ``height`` lines (all by default) without trailing spaces, so that copying from the
    terminal gives clean text; the live view shows the bottom of a long block being written."""

    def __init__(self, renderable: RenderableType, height: int | None = None, *, end: bool = True) -> None:
        self.renderable = renderable
        self.height = None if height is None else max(1, height)
        self.end = (
            end  # end with a newline (printing), or not (a live view tracks the height of what it drew)
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = [_trim(line) for line in console.render_lines(self.renderable, options, pad=False)]
        while lines and not _text(lines[-1]).strip():
            lines.pop()
        while lines and not _text(lines[0]).strip():
            lines.pop(0)
        if self.height is not None:
            lines = lines[-self.height :]
        for index, line in enumerate(lines):
            if index:
                yield Segment.line()
            yield from line
        if self.end and lines:
            yield Segment.line()


def waiting_text(ahead: int) -> str:
    """What a request waiting in the backend's queue shows: ``waiting, 2 ahead``, or ``waiting for a free slot``
    when it is next in line."""
    return f"waiting, {ahead} ahead" if ahead > 0 else "waiting for a free slot"


def status_text(stats: AnswerStats, stopped: bool = False, truncated: bool = False) -> str:
    """``42 tokens · 35.1 tokens/s · first token 0.21 s · 1.40 s`` (what is known), then ``· stopped`` if the
    user stopped it or ``· cut at the token limit (/max)`` if max_tokens did. An answer of no generated token was
    quoted from the teacher's material (``grounding_answer: quote``): ``quoted from your notes · 0.01 s``."""
    parts: list[str] = []
    quoted = stats.completion_tokens == 0
    if quoted:
        parts.append("quoted from your notes")
    elif stats.completion_tokens is not None:
        parts.append(f"{stats.completion_tokens} token{'s' if stats.completion_tokens != 1 else ''}")
    if stats.tokens_per_second is not None and not quoted:
        parts.append(f"{stats.tokens_per_second:.1f} tokens/s")
    if stats.ttft_seconds is not None and not quoted:
        parts.append(f"first token {stats.ttft_seconds:.2f} s")
    if stats.latency_seconds is not None:
        parts.append(f"{stats.latency_seconds:.2f} s")
    if stopped:
        parts.append("stopped")
    elif truncated:
        parts.append("cut at the token limit (/max)")
    return " · ".join(parts)


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold back Ctrl-C until the block is done, then raise it: Rich's live display must not be left half
    started or half stopped (its cursor and render hooks would be inconsistent)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


class WaitingNotice:
    """``waiting, N ahead`` on a console of its own (standard error): redrawn in place and erased by ``clear`` on
    a terminal, one line per change otherwise (a log keeps them)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._shown: str | None = None

    def show(self, ahead: int) -> None:
        text = waiting_text(ahead)
        if text == self._shown:
            return
        self._shown = text
        if not self.console.is_terminal:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
            return
        with deferred_interrupt():
            if self._live is None:
                live = Live(
                    console=self.console,
                    auto_refresh=False,
                    transient=True,
                    redirect_stdout=False,
                    redirect_stderr=False,
                )
                live.start()
                self._live = live
            self._live.update(Text(text, style="dim"), refresh=True)

    def clear(self) -> None:
        """Erase the notice (on a terminal); the next ``show`` starts afresh."""
        self._shown = None
        with deferred_interrupt():
            if self._live is not None:
                live, self._live = self._live, None
                live.update(Text(""), refresh=True)
                live.stop()


class AnswerView:
    """Shows one streamed answer: ``start()``, ``add(delta)`` for each piece, ``finish(...)`` at the end;
    ``waiting(ahead)`` before the first piece while the backend queues the request.

    ``notices``: where ``waiting`` goes (a standard error console; ``-q`` and ``--plain``); without it, into the
    live display (not in plain mode, where it is not shown). It is transient either way: never part of the answer.
    """

    def __init__(
        self, console: Console, *, plain: bool, status: bool = True, notices: Console | None = None
    ) -> None:
        self.console = console
        self.plain = plain
        self.status = status
        self.text = ""
        self._live: Live | None = None
        self._started = False
        self._printed = 0  # offset of ``text`` already printed for good
        self._blocks = 0
        self._last_refresh = 0.0
        self._notice = WaitingNotice(notices) if notices is not None else None
        self._waiting = False

    def start(self) -> None:
        """Get ready for an answer. The live display itself starts with the first thing to show, so that a
        waiting notice on standard error never overlaps it."""
        self.text = ""
        self._printed = 0
        self._blocks = 0
        self._started = not self.plain

    def _ensure_live(self) -> Live | None:
        if self._live is None and self._started:
            live = Live(console=self.console, auto_refresh=False, transient=True, redirect_stdout=False)
            with deferred_interrupt():
                live.start()
                self._live = live
        return self._live

    def waiting(self, ahead: int) -> None:
        """The backend says the request waits for a free engine slot with ``ahead`` requests before it. Shown
        until the first piece of the answer arrives; ignored after that."""
        if self.text:
            return
        self._waiting = True
        if self._notice is not None:
            self._notice.show(ahead)
            return
        live = self._ensure_live()
        if live is not None:
            live.update(Text(waiting_text(ahead), style="dim"), refresh=True)

    def _end_waiting(self) -> None:
        if self._waiting:
            self._waiting = False
            self._last_refresh = 0.0  # the next refresh replaces the notice at once
            if self._notice is not None:
                self._notice.clear()

    def add(self, delta: str) -> None:
        self._end_waiting()
        self.text += delta
        if self.plain:
            self.console.file.write(delta)
            self.console.file.flush()
            return
        blocks, rest = split_blocks(self.text[self._printed :])
        if blocks:
            for block in blocks:
                self._print_block(block)
            self._printed += rest
        now = time.monotonic()
        if blocks or now - self._last_refresh >= REFRESH_SECONDS:
            self._last_refresh = now
            self._refresh()

    def _print_block(self, block: str) -> None:
        if self._blocks:
            self.console.print()
        self.console.print(Trimmed(AnswerMarkdown(block)))
        self._blocks += 1

    def _refresh(self) -> None:
        live = self._ensure_live()
        if live is None:
            return
        tail = self.text[self._printed :].strip("\n")
        if not tail:
            live.update(Text(""), refresh=True)
            return
        height = self.console.size.height - 2
        body = Trimmed(AnswerMarkdown(tail), height - 1 if self._blocks else height, end=False)
        live.update(_Spaced(body) if self._blocks else body, refresh=True)

    def finish(
        self,
        stats: AnswerStats | None,
        stopped: bool = False,
        truncated: bool = False,
        sources: Sequence[Source] = (),
    ) -> None:
        """Print what is left of the answer for good, then its sources (``[1] title — file:line``), then the
        status line."""
        self._end_waiting()
        if self.plain:
            if self.text and not self.text.endswith("\n"):
                self.console.file.write("\n")
            self.console.file.flush()
        else:
            self._stop_live()
            tail = self.text[self._printed :].strip("\n")
            if tail.strip():
                self._print_block(tail)
            self._printed = len(self.text)
        print_sources(self.console, sources)
        if self.status and stats is not None:
            self.console.print(f"[dim]{escape(status_text(stats, stopped, truncated))}[/]", highlight=False)

    def _stop_live(self) -> None:
        self._started = False
        with deferred_interrupt():
            if self._live is not None:
                live, self._live = self._live, None
                live.update(Text(""), refresh=True)
                live.stop()

    def abort(self) -> None:
        """Stop the live display without printing anything more (the answer failed or was stopped)."""
        self._end_waiting()
        self._stop_live()
        if self.plain and self.text and not self.text.endswith("\n"):
            self.console.file.write("\n")
            self.console.file.flush()


class _Spaced:
    """A renderable preceded by one blank line (the gap between markdown blocks)."""

    def __init__(self, renderable: Trimmed) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Segment.line()
        yield self.renderable


def print_sources(console: Console, sources: Sequence[Source], *, snippets: bool = False) -> None:
    """One line per source, ``[1] title — file:line`` (as the answer cites them); with ``snippets`` each one's
    passage follows, indented (``/sources``)."""
    for source in sources:
        console.print(f"[cyan]{escape(source.citation)}[/]", highlight=False, soft_wrap=True)
        if snippets and source.snippet.strip():
            for line in source.snippet.strip().splitlines():
                console.print(f"    {escape(line)}", highlight=False, soft_wrap=True)


def render_markdown(console: Console, text: str) -> None:
    """Print a whole answer as markdown (``/md N``)."""
    console.print(Trimmed(AnswerMarkdown(text)))
