"""Slash commands of the terminal chat: parsing, the table ``/help`` shows, and what each one does.

A handler gets the running chat (``ChatContext``) and the text after the command name. Bad input raises
``CommandError`` (one line, the chat goes on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from rich.markup import escape
from rich.table import Table

from ..errors import ChatError
from . import MAX_TOKENS_RANGE, TEMPERATURE_RANGE
from .render import Trimmed, print_sources, render_markdown, status_text
from .session import ChatDefaults, Conversation, Message

if TYPE_CHECKING:
    from rich.console import Console

Number = TypeVar("Number", int, float)


class CommandError(ChatError):
    """A slash command that cannot run as typed (the chat goes on)."""


class ChatContext(Protocol):
    """What slash commands need from the running chat."""

    conversation: Conversation
    console: Console
    model: str
    multiline: bool
    session_file: Path | None
    defaults: ChatDefaults
    target: str

    def answer(self) -> None:
        """Get and show the answer to the conversation's unanswered last question."""
        ...

    def list_models(self) -> list[str]: ...

    def quit(self) -> None: ...


@dataclass(frozen=True)
class SlashCommand:
    name: str
    usage: str
    summary: str
    run: Callable[[ChatContext, str], None]


def parse(line: str) -> tuple[str, str] | None:
    """``("temp", "0.2")`` for ``/temp 0.2``; ``None`` for a question (``//text`` is the question ``/text``)."""
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, arg = text[1:].partition(" ")
    if "\n" in name:
        name, _, rest = name.partition("\n")
        arg = f"{rest}\n{arg}" if arg else rest
    return name.lower(), arg.strip()


def unescape_question(line: str) -> str:
    """A question typed as ``//text`` is sent as ``/text``."""
    stripped = line.lstrip()
    return stripped[1:] if stripped.startswith("//") else line


def execute(ctx: ChatContext, name: str, arg: str) -> None:
    """Run ``/name arg``; ``CommandError`` for an unknown command or bad argument."""
    command = COMMANDS.get(name) or COMMANDS.get(ALIASES.get(name, ""))
    if command is None:
        raise CommandError(f"unknown command /{name}", hint="type /help for the list")
    command.run(ctx, arg)


def _info(ctx: ChatContext, text: str) -> None:
    ctx.console.print(f"[cyan]{escape(text)}[/]", highlight=False)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _number_in(arg: str, kind: Callable[[str], Number], low: Number, high: Number) -> Number | None:
    """``arg`` read as ``kind`` when it lies in ``[low, high]``; ``None`` otherwise (NaN included)."""
    try:
        value = kind(arg)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _no_arg(name: str, arg: str) -> None:
    if arg:
        raise CommandError(f"/{name} takes no argument (got {arg!r})", hint="type /help for the list")


# --- handlers ---


def _help(ctx: ChatContext, arg: str) -> None:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column()
    for command in COMMANDS.values():
        table.add_row(command.usage, command.summary)
    table.add_row("//text", "send a question that starts with /")
    ctx.console.print(Trimmed(table))
    ctx.console.print("[dim]Enter sends; Alt+Enter (or Esc then Enter) adds a line; /m swaps the two.[/]")
    ctx.console.print("[dim]Ctrl-C stops an answer; Ctrl-D or /quit leaves.[/]")


def _quit(ctx: ChatContext, arg: str) -> None:
    _no_arg("quit", arg)
    ctx.quit()


def _new(ctx: ChatContext, arg: str) -> None:
    _no_arg("new", arg)
    ctx.conversation.clear()
    ctx.session_file = None
    _info(ctx, "new conversation (system prompt and settings kept)")


def _system(ctx: ChatContext, arg: str) -> None:
    conversation = ctx.conversation
    if not arg:
        if conversation.system is None:
            _info(ctx, f"system prompt (default): {ctx.defaults.system_prompt or '(none)'}")
        else:
            _info(ctx, f"system prompt: {conversation.system}")
        return
    if arg == "--default":
        conversation.system = None
        _info(ctx, "system prompt back to the default")
        return
    conversation.system = arg
    _info(ctx, "system prompt set")


def _server_sets(ctx: ChatContext, what: str, value: str) -> CommandError:
    return CommandError(
        f"this server sets {what} itself ({value}): it does not let clients choose (client_sampling is off)",
        hint="`edubot chat --local` chats with a model on this computer, where you choose",
    )


def _temp(ctx: ChatContext, arg: str) -> None:
    low, high = TEMPERATURE_RANGE
    if not arg:
        _info(ctx, f"temperature {ctx.defaults.temperature_for(ctx.conversation):g}")
        return
    if ctx.defaults.server_sampling:
        raise _server_sets(ctx, "the temperature", f"{ctx.defaults.temperature:g}")
    value = _number_in(arg, float, low, high)
    if value is None:
        raise CommandError(
            f"/temp needs a number from {low:g} to {high:g} (got {arg!r})", hint="e.g. /temp 0.2"
        )
    ctx.conversation.temperature = value
    _info(ctx, f"temperature {value:g}")


def _max(ctx: ChatContext, arg: str) -> None:
    low, high = MAX_TOKENS_RANGE
    if not arg:
        _info(ctx, f"max tokens {ctx.defaults.max_tokens_for(ctx.conversation)}")
        return
    if ctx.defaults.server_sampling:
        raise _server_sets(ctx, "the maximum tokens per answer", str(ctx.defaults.max_tokens))
    value = _number_in(arg, int, low, high)
    if value is None:
        raise CommandError(
            f"/max needs a whole number from {low} to {high} (got {arg!r})", hint="e.g. /max 256"
        )
    ctx.conversation.max_tokens = value
    _info(ctx, f"max tokens {value}")


def _retry(ctx: ChatContext, arg: str) -> None:
    _no_arg("retry", arg)
    question = ctx.conversation.question_to_retry()
    if question is None:
        raise CommandError("nothing to retry: ask a question first")
    ctx.answer()


def _undo(ctx: ChatContext, arg: str) -> None:
    _no_arg("undo", arg)
    removed = ctx.conversation.undo()
    if not removed:
        raise CommandError("nothing to undo")
    _info(ctx, "removed the last question and its answer" if removed == 2 else "removed the last question")


def _path(arg: str, usage: str) -> tuple[Path, bool]:
    force = False
    words = arg.split()
    if "--force" in words:
        force = True
        arg = " ".join(w for w in words if w != "--force")
    if not arg:
        raise CommandError(f"usage: {usage}")
    return Path(arg).expanduser(), force


def _save(ctx: ChatContext, arg: str) -> None:
    if not arg and ctx.session_file is not None:
        path, force = ctx.session_file, True
    else:
        path, force = _path(arg, "/save FILE [--force]")
    own_file = ctx.session_file is not None and path.resolve() == ctx.session_file.resolve()
    if path.exists() and not (force or own_file):
        raise CommandError(f"{path} already exists", hint=f"/save {path} --force overwrites it")
    if path.is_dir():
        raise CommandError(f"{path} is a folder", hint="give a file name, e.g. /save lesson.json")
    ctx.conversation.save(path)
    ctx.session_file = path
    _info(ctx, f"saved {_count(len(ctx.conversation.messages), 'message')} to {path}")


def _load(ctx: ChatContext, arg: str) -> None:
    path, _ = _path(arg, "/load FILE")
    conversation = Conversation.load(path)
    ctx.conversation = conversation
    ctx.session_file = path
    _info(ctx, f"loaded {conversation.title!r}: {_count(len(conversation.messages), 'message')} from {path}")
    answers = len(conversation.answers())
    if answers:
        _info(ctx, f"/md {answers} shows the last answer")


def _stats(ctx: ChatContext, arg: str) -> None:
    _no_arg("stats", arg)
    conversation = ctx.conversation
    questions = sum(1 for m in conversation.messages if m.role == "user")
    answers = conversation.answers()
    temperature = ctx.defaults.temperature_for(conversation)
    max_tokens = ctx.defaults.max_tokens_for(conversation)
    system = "default" if conversation.system is None else f"custom, {len(conversation.system)} characters"
    lines = [
        f"conversation: {conversation.title} ({_count(questions, 'question')}, {_count(len(answers), 'answer')})",
        f"model: {ctx.model} at {ctx.target}",
        f"temperature {temperature:g} · max tokens {max_tokens} · system prompt {system}",
    ]
    measured = [m.stats for m in answers if m.stats is not None]
    tokens = [s.completion_tokens for s in measured if s.completion_tokens is not None]
    speeds = [s.tokens_per_second for s in measured if s.tokens_per_second is not None]
    ttfts = [s.ttft_seconds for s in measured if s.ttft_seconds is not None]
    if tokens:
        summary = f"answers: {sum(tokens)} tokens in all"
        if speeds:
            summary += f" · {sum(speeds) / len(speeds):.1f} tokens/s on average"
        if ttfts:
            summary += f" · first token {sum(ttfts) / len(ttfts):.2f} s on average"
        lines.append(summary)
    last = answers[-1] if answers else None
    if last is not None and last.stats is not None:
        lines.append(f"last answer: {status_text(last.stats, last.stopped)}")
    for line in lines:
        _info(ctx, line)


def _answer_number(
    ctx: ChatContext, arg: str, command: str, *, none: str, hint: str
) -> tuple[int, list[Message]]:
    """The answer number ``/command [N]`` names (N, or the last answer) and the answers; a ``CommandError`` saying
    ``none`` when there is no answer yet."""
    answers = ctx.conversation.answers()
    if not answers:
        raise CommandError(none)
    index = _number_in(arg, int, 1, len(answers)) if arg else len(answers)
    if index is None:
        raise CommandError(
            f"/{command} needs an answer number from 1 to {len(answers)} (got {arg!r})", hint=hint
        )
    return index, answers


def _md(ctx: ChatContext, arg: str) -> None:
    index, answers = _answer_number(
        ctx, arg, "md", none="no answer to show yet", hint="/md alone shows the last"
    )
    render_markdown(ctx.console, answers[index - 1].content)


def _sources(ctx: ChatContext, arg: str) -> None:
    index, answers = _answer_number(
        ctx,
        arg,
        "sources",
        none="no answer yet: ask a question first",
        hint="/sources alone shows the last answer's",
    )
    sources = answers[index - 1].sources
    which = "the last answer" if index == len(answers) else f"answer {index}"
    if not sources:
        _info(ctx, f"{which} has no sources (it was not grounded in the taxonomy)")
        return
    _info(ctx, f"sources of {which}:")
    print_sources(ctx.console, sources, snippets=True)


def _model(ctx: ChatContext, arg: str) -> None:
    if arg:
        ctx.model = arg
        _info(ctx, f"model {arg}")
        return
    available = ctx.list_models()
    _info(ctx, f"model {ctx.model} at {ctx.target}")
    if available:
        _info(ctx, f"available: {', '.join(available)} (/model NAME switches)")


def _multiline(ctx: ChatContext, arg: str) -> None:
    _no_arg("m", arg)
    ctx.multiline = not ctx.multiline
    if ctx.multiline:
        _info(
            ctx, "multi-line input: Enter adds a line, Alt+Enter (or Esc then Enter) sends; /m to switch back"
        )
    else:
        _info(ctx, "single-line input: Enter sends, Alt+Enter adds a line")


COMMANDS: dict[str, SlashCommand] = {
    c.name: c
    for c in (
        SlashCommand("help", "/help", "this list", _help),
        SlashCommand("quit", "/quit", "leave the chat (also Ctrl-D)", _quit),
        SlashCommand("new", "/new", "start a new conversation (keeps system prompt and settings)", _new),
        SlashCommand(
            "system", "/system [TEXT]", "show or set the system prompt (--default resets it)", _system
        ),
        SlashCommand(
            "temp",
            "/temp [X]",
            "show or set the temperature ({:g} to {:g})".format(*TEMPERATURE_RANGE),
            _temp,
        ),
        SlashCommand(
            "max",
            "/max [N]",
            "show or set the maximum answer length in tokens ({} to {})".format(*MAX_TOKENS_RANGE),
            _max,
        ),
        SlashCommand("retry", "/retry", "ask the last question again (replaces its answer)", _retry),
        SlashCommand("undo", "/undo", "remove the last question and its answer", _undo),
        SlashCommand(
            "save", "/save [FILE] [--force]", "save the conversation as JSON (the web page imports it)", _save
        ),
        SlashCommand(
            "load", "/load FILE", "load a conversation saved here or exported by the web page", _load
        ),
        SlashCommand("stats", "/stats", "conversation, settings and speed figures", _stats),
        SlashCommand("md", "/md [N]", "show answer N (default: the last) rendered as markdown", _md),
        SlashCommand(
            "sources",
            "/sources [N]",
            "show the sources of answer N (default: the last), with passages",
            _sources,
        ),
        SlashCommand("model", "/model [NAME]", "show the model and those available, or switch", _model),
        SlashCommand("m", "/m", "switch multi-line input on or off", _multiline),
    )
}
ALIASES = {"exit": "quit", "bye": "quit", "clear": "new", "?": "help"}
