"""``edubot chat`` end to end: pick what to talk to (the backend, an engine URL, or an embedded engine started for
this session), then answer one question (``-q`` or standard input) or hold an interactive chat."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING

from rich.markup import escape

from ..console import rich_console
from ..errors import ChatError, UsageError
from .client import ChatClient
from .failures import ContextOverflowError
from .render import AnswerView, print_sources
from .repl import ChatRepl, open_history
from .session import ChatDefaults, Conversation

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Settings


@dataclass
class ChatOptions:
    """The flags of ``edubot chat`` (``None`` = not given)."""

    engine_url: str | None = None
    api_key: str | None = None
    local: bool = False
    question: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    plain: bool = False
    model: str | None = None


@dataclass
class Target:
    url: str
    via_backend: bool
    api_key: str | None


@contextlib.contextmanager
def chat_target(settings: Settings, options: ChatOptions, status: Console) -> Iterator[Target]:
    """Where to send questions. With ``--local`` an embedded llama-cpp engine runs behind a backend of this
    session's own (``serving.local_backend``, so answers are grounded on the taxonomy and cite their sources as
    with ``edubot serve``) for the duration of the ``with`` block."""
    if options.engine_url:
        yield Target(options.engine_url, via_backend=False, api_key=options.api_key)
        return
    if not options.local:
        yield Target(settings.url, via_backend=True, api_key=options.api_key or settings.api_key)
        return
    from ..serving import local_backend

    status.print("[dim]starting the embedded engine (llama-cpp, SmolLM2-135M) for this session…[/]")
    with local_backend(settings) as url:
        yield Target(url, via_backend=True, api_key=None)


def pick_model(requested: str | None, available: list[str], served_name: str) -> str:
    """``--model`` if given, else the configured served name if the server lists it, else its first model."""
    if requested:
        return requested
    if served_name in available or not available:
        return served_name
    return available[0]


def run_chat(
    settings: Settings,
    options: ChatOptions,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
) -> None:
    """Answer ``options.question`` (or a question piped on ``stdin``) and return, or chat interactively when
    ``stdin`` is a terminal. Raises ``ChatError`` when nothing answers or the answer fails."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    question = options.question
    if question is None and not stdin.isatty():
        question = stdin.read()
        if not question.strip():
            raise UsageError("no question on standard input", hint='pipe some text in, or use -q "question"')
    elif question is not None and not question.strip():
        raise UsageError("the question given to -q is empty", hint='e.g. edubot chat -q "What is a noun?"')
    plain = options.plain or not stdout.isatty()
    defaults = ChatDefaults(
        system_prompt=settings.system_prompt or None,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
    )
    conversation = Conversation(
        system=options.system, temperature=options.temperature, max_tokens=options.max_tokens
    )
    status = rich_console(stderr=True, wrap=True)
    with chat_target(settings, options, status) as target:
        client = ChatClient(
            target.url,
            api_key=target.api_key,
            via_backend=target.via_backend,
            timeout=settings.request_timeout,
        )
        with client:
            available = client.list_models()
            model = pick_model(options.model, available, settings.served_model_name)
            # the backend's /chat answers with its own model: another one is asked through /v1, ungrounded
            client.grounded_model = pick_model(None, available, settings.served_model_name)
            defaults = _server_sampling(client, defaults, options, status)
            console = rich_console(file=stdout, wrap=True)
            if question is not None:
                ask_once(
                    client,
                    console,
                    conversation,
                    question,
                    model=model,
                    defaults=defaults,
                    plain=plain,
                    notices=status,
                )
                return
            history, warning = open_history()
            repl = ChatRepl(
                client,
                console,
                model=model,
                defaults=defaults,
                conversation=conversation,
                plain=plain,
                history=history,
                notices=status,
            )
            if warning:
                repl.info(warning)
            repl.run()


def _server_sampling(
    client: ChatClient, defaults: ChatDefaults, options: ChatOptions, status: Console
) -> ChatDefaults:
    """``defaults`` with the backend's own temperature and max tokens when it does not let clients choose them
    (``client_sampling`` off: a class's server), saying so when --temperature or --max-tokens were given."""
    chat = client.backend_chat() or {}
    temperature, max_tokens = chat.get("temperature"), chat.get("max_tokens")
    if chat.get("client_sampling") is not False:
        return defaults
    if not isinstance(temperature, int | float) or type(max_tokens) is not int:
        return defaults
    if options.temperature is not None or options.max_tokens is not None:
        status.print(
            f"[yellow]warning:[/] {escape(client.base_url)} sets the temperature ({temperature:g}) and maximum "
            f"tokens ({max_tokens}) itself (client_sampling is off): --temperature and --max-tokens are not used",
            highlight=False,
            soft_wrap=True,
        )
    return replace(defaults, temperature=float(temperature), max_tokens=max_tokens, server_sampling=True)


def ask_once(
    client: ChatClient,
    console: Console,
    conversation: Conversation,
    question: str,
    *,
    model: str,
    defaults: ChatDefaults,
    plain: bool,
    notices: Console | None = None,
) -> str:
    """Stream the answer to one question to ``console`` (no status line) and return it: the answer alone, as the
    contract of ``-q`` is. While the backend keeps the request waiting for a free engine slot, ``waiting, N
    ahead`` goes to ``notices`` (standard error by default), never to ``console``; so do a grounded answer's
    sources (``[1] title — file:line``, after it), why an answer through the backend is not grounded, and a warning
    when ``max_tokens`` cut the answer (it ends mid-sentence, yet the exit status is 0)."""
    conversation.add("user", question.strip())
    notices = notices or rich_console(stderr=True, wrap=True)
    view = AnswerView(console, plain=plain, status=False, notices=notices)
    try:
        with client.stream_answer(
            conversation,
            defaults.system_prompt,
            model=model,
            temperature=defaults.temperature_for(conversation),
            max_tokens=defaults.max_tokens_for(conversation),
            on_queued=view.waiting,
        ) as stream:
            if stream.note:
                notices.print(f"[dim]{escape(stream.note)}[/]", highlight=False)
            view.start()
            for delta in stream:
                view.add(delta)
    except ContextOverflowError as exc:
        view.abort()
        raise ChatError(exc.message, hint="shorten the question or lower --max-tokens") from exc
    except BaseException:
        view.abort()
        raise
    view.finish(None)
    if not stream.text:
        raise ChatError(f"{stream.url} sent an empty answer", hint="try again, or raise --max-tokens")
    if stream.finish_reason == "length":
        limit = defaults.max_tokens_for(conversation)
        notices.print(
            f"[yellow]warning:[/] the answer was cut at the token limit"
            f"{f' ({limit} tokens)' if limit else ''}; "
            + ("this server sets it" if defaults.server_sampling else "ask again with a larger --max-tokens"),
            highlight=False,
            soft_wrap=True,
        )
    print_sources(notices, stream.sources)
    return stream.text
