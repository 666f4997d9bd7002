"""``edubot eval`` end to end: collect the questions, ask a backend's ``/chat`` for each (grounded, ungrounded or
both, at temperature 0), score the answers, and keep the report as a run record next to the data runs.

The backend is ``--url`` (default: the ``url`` setting, the one ``edubot chat`` talks to) or, with ``--local``, one
started for this run in front of the embedded engine (``local``). ``/chat`` has no sampling seed; temperature 0 is
greedy decoding, which llama-server repeats exactly for the same prompt.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .. import __version__
from ..errors import ChatError, UsageError
from ..lab import records
from . import DEFAULT_MAX_TOKENS, metrics
from .judge import Judge, Verdict
from .questions import Question, collect
from .report import GROUNDED, MODES, Answer, EvalError, Item, build_report

if TYPE_CHECKING:
    from rich.console import Console

    from ..chat.session import Source
    from ..config import Settings

TEMPERATURE = 0.0
RECORD_KIND = "eval"


@dataclass
class EvalOptions:
    """The flags of ``edubot eval`` (``url`` None: the ``url`` setting)."""

    taxonomy: Path
    modes: tuple[str, ...] = MODES
    holdout: int = 0
    max_tokens: int = DEFAULT_MAX_TOKENS
    url: str | None = None
    local: bool = False
    api_key: str | None = None
    judge_url: str | None = None
    judge_model: str | None = None


@dataclass
class EvalRun:
    report: dict[str, Any]
    record_path: Path


Progress = Callable[[int, int, Question, str], None]
"""Called before each request: (number, total, question, mode)."""


def _checked_url(url: str, flag: str) -> str:
    from ..urls import engine_url

    try:
        return engine_url(url, flag).base
    except UsageError as exc:
        raise EvalError(exc.message, hint=exc.hint) from exc


def score(question: Question, text: str, sources: list[Source] | None) -> Answer:
    """The metrics of one answer; ``sources`` is None for an ungrounded answer."""
    answer = Answer(
        text=text,
        f1=metrics.token_f1(text, question.reference),
        content_recall=metrics.content_recall(text, question.reference, question.question),
        numbers=metrics.numbers_found(text, question.reference),
        names=metrics.names_found(text, question.reference),
    )
    if sources is not None:
        answer.sources = [f"{s.file}#{s.yaml_path}" for s in sources]
        answer.cited_leaf = metrics.cited_leaf([s.file for s in sources], question.file)
        answer.cited_passage = f"{question.file}#{question.context_path}" in answer.sources
    return answer


@contextlib.contextmanager
def _backend(settings: Settings, options: EvalOptions, status: Console) -> Iterator[tuple[str, str | None]]:
    """(URL, key) of the backend to evaluate."""
    if not options.local:
        yield _checked_url(options.url or settings.url, "--url"), options.api_key or settings.api_key
        return
    from .local import local_backend

    with local_backend(settings, options.taxonomy, options.holdout, status) as url:
        yield url, None


def _ask(client: Any, question: Question, grounded: bool, max_tokens: int) -> Answer:
    from ..chat.failures import ContextOverflowError
    from ..chat.stream import BackendChatStream

    payload = {
        "message": question.question,
        "stream": True,
        "grounded": grounded,
        "temperature": TEMPERATURE,
        "max_tokens": max_tokens,
    }
    try:
        with BackendChatStream(client, payload) as stream:
            for _ in stream:
                pass
    except ContextOverflowError as exc:
        return Answer(error=exc.message)
    answer = score(question, stream.text, stream.sources if grounded else None)
    stats = stream.stats
    answer.completion_tokens, answer.latency_seconds = stats.completion_tokens, stats.latency_seconds
    return answer


def _connect(client: Any, url: str) -> None:
    """Prove an edubot backend answers at ``url``."""
    try:
        client.list_models()
    except ChatError as exc:
        if isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout):
            raise EvalError(
                f"nothing answers at {url}",
                hint="start the backend with `edubot serve`, or let eval start one: `edubot eval --local`",
            ) from exc
        raise
    if client.backend_chat() is None:
        raise EvalError(
            f"{url} is not an edubot backend (its GET / does not describe /chat)",
            hint="point --url at `edubot serve`, not at an engine, or use `edubot eval --local`",
        )


def run_eval(
    settings: Settings,
    options: EvalOptions,
    *,
    status: Console,
    progress: Progress | None = None,
    command: list[str] | None = None,
) -> EvalRun:
    """Evaluate (see the module doc); returns the report and the run record's path. Raises ``EdubotError``
    before asking anything when the taxonomy, the flags, the judge or the backend are wrong, and ``ChatError``
    when the backend fails during the run."""
    from ..chat.client import ChatClient

    if options.holdout and not options.local:
        raise EvalError(
            "--holdout needs a backend whose index leaves the held-out Q&A pairs out, and a running backend does "
            "not report its index's holdout, so it cannot be checked",
            hint=f"use `edubot eval --local --holdout {options.holdout}` (it starts a backend indexed that way)",
        )
    questions = collect(options.taxonomy, holdout=options.holdout)
    judge_url = _checked_url(options.judge_url, "--judge") if options.judge_url else None
    started = datetime.now(UTC)
    items = [Item(q) for q in questions]
    total = len(items) * len(options.modes)
    with contextlib.ExitStack() as stack:
        judge = stack.enter_context(Judge(judge_url, options.judge_model)) if judge_url else None
        url, key = stack.enter_context(_backend(settings, options, status))
        client = stack.enter_context(
            ChatClient(url, api_key=key, via_backend=True, timeout=settings.request_timeout)
        )
        _connect(client, url)
        done = 0
        for item in items:
            for mode in options.modes:
                done += 1
                if progress is not None:
                    progress(done, total, item.question, mode)
                answer = _ask(client, item.question, mode == GROUNDED, options.max_tokens)
                if judge is not None and answer.error is None:
                    answer.judge = (
                        judge.grade(
                            item.question.question,
                            item.question.reference,
                            metrics.strip_citations(answer.text).strip(),
                        )
                        if answer.text.strip()
                        else Verdict(grade=0, reason="empty answer (not sent to the judge)")
                    )
                item.answers[mode] = answer
    meta = {
        "started_at": started.replace(microsecond=0).isoformat(),
        "finished_at": records.now_iso(),
        "edubot_version": __version__,
        "target": {"url": None if options.local else url, "local": options.local},
        "taxonomy": {
            "path": str(options.taxonomy.absolute()),
            "hash": records.taxonomy_hash(options.taxonomy),
        },
        "settings": {
            "modes": list(options.modes),
            "holdout": options.holdout,
            "max_tokens": options.max_tokens,
            "temperature": TEMPERATURE,
            "judge": {"url": judge_url, "model": judge.model} if judge is not None else None,
        },
    }
    report = build_report(items, modes=options.modes, meta=meta)
    record = {**report, "command": command if command is not None else sys.argv}
    path = records.write_record(
        records.record_path(Path(settings.datasets_dir).absolute(), RECORD_KIND, started), record
    )
    return EvalRun(report, path)
