"""``edubot eval`` end to end: collect the questions, ask a backend's ``/chat`` for each (grounded, ungrounded or
both, at temperature 0), score the answers, and keep the report as a run record next to the data runs.

The backend is ``--url`` (default: the ``url`` setting, the one ``edubot chat`` talks to) or, with ``--local``, one
started for this run in front of the embedded engine (``serving.local_backend``, with ``--concurrency`` slots).
``/chat`` has no sampling seed; temperature 0 is greedy decoding, which llama-server repeats exactly for the same
prompt (answers computed side by side in one batch may still differ in a late digit, and so in a word).

``--concurrency`` requests are open at once (``pool``; default: the backend's capacity from ``GET /health``, at
most ``DEFAULT_CONCURRENCY``); the report keeps the questions' order whatever order the answers come in.
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
from ..assessment import metrics
from ..assessment.judge import Judge, Verdict
from ..assessment.questions import Question, collect, only_leaves
from ..assessment.verdict import verdict
from ..errors import ChatError, UsageError
from ..lab import records
from . import DEFAULT_CONCURRENCY, DEFAULT_MAX_TOKENS
from .pool import Stop, run_jobs
from .report import GROUNDED, MODES, Answer, EvalError, Item, build_report

if TYPE_CHECKING:
    from ..config import Settings
    from ..grounding.sources import Source

TEMPERATURE = 0.0
RECORD_KIND = "eval"
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the backend's ``/health``."""


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
    concurrency: int | None = None
    leaves: tuple[str, ...] = ()
    model: Path | None = None
    """With ``local``: the GGUF file the engine serves (None: the embedded model); ``eval --compare`` sets it."""


@dataclass
class EvalRun:
    report: dict[str, Any]
    record_path: Path
    interrupted: KeyboardInterrupt | None = None
    """What stopped the asking early (the report is partial then)."""


Progress = Callable[[int, int], None]
"""Called as the run starts, ``(0, total)``, then as each answer comes in: (answers in, total)."""


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
    answer.verdict = verdict(
        text,
        reference=question.reference,
        content_recall=answer.content_recall,
        numbers=metrics.numbers_found(text, question.reference, question.question),
        names=metrics.names_found(text, question.reference, question.question),
        f1=answer.f1 or 0.0,
    )
    if sources is not None:
        answer.sources = [f"{s.file}#{s.yaml_path}" for s in sources]
        answer.source_titles = [s.title for s in sources]
        answer.cited_leaf = metrics.cited_leaf([s.file for s in sources], question.file)
        answer.cited_passage = f"{question.file}#{question.context_path}" in answer.sources
    return answer


def _capacity(url: str) -> int | None:
    """The requests the backend at ``url`` takes at once (``queue.capacity`` of its ``GET /health``), if it says."""
    from ..urls import server_root

    try:
        response = httpx.get(f"{server_root(url)}/health", timeout=CONNECT_TIMEOUT, trust_env=False)
        queue = response.json().get("queue")
        capacity = queue.get("capacity") if isinstance(queue, dict) else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return capacity if type(capacity) is int and capacity > 0 else None


@contextlib.contextmanager
def _backend(
    settings: Settings, options: EvalOptions, notice: Callable[[str], None] | None
) -> Iterator[tuple[str, str | None]]:
    """(URL, key) of the backend to evaluate."""
    if not options.local:
        yield _checked_url(options.url or settings.url, "--url"), options.api_key or settings.api_key
        return
    from ..serving import local_backend

    if notice is not None:
        what = "SmolLM2-135M" if options.model is None else str(options.model)
        notice(
            f"starting the {'embedded ' if options.model is None else ''}engine (llama-cpp, {what}) for this run…"
        )

    local = settings.model_copy(
        update={"taxonomy_path": options.taxonomy, "grounding_holdout": options.holdout}
    )
    with local_backend(
        local, parallel=options.concurrency or DEFAULT_CONCURRENCY, model=options.model
    ) as url:
        yield url, None


def _ask(client: Any, question: Question, grounded: bool, max_tokens: int, stop: Stop) -> Answer:
    from ..chat.failures import ContextOverflowError, StreamFailure
    from ..chat.stream import BackendChatStream

    payload = {
        "message": question.question,
        "stream": True,
        "grounded": grounded,
        "temperature": TEMPERATURE,
        "max_tokens": max_tokens,
    }
    try:
        with BackendChatStream(client, payload) as stream, stop.closing(stream):
            for _ in stream:
                pass
    except ContextOverflowError as exc:
        return Answer(error=exc.message)
    except StreamFailure as exc:
        raise ChatError(exc.message, hint="check the backend's log, then run `edubot eval` again") from exc
    answer = score(question, stream.text, stream.sources if grounded else None)
    answer.faithfulness = stream.faithfulness
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


def _sampling(chat: dict[str, Any] | None, options: EvalOptions) -> tuple[float, int, str | None]:
    """The temperature and max tokens the backend answers eval with, and a warning when they are not eval's own:
    a backend that does not let clients choose (``client_sampling`` off, a class's server) uses its settings."""
    chat = chat or {}
    temperature, max_tokens = chat.get("temperature"), chat.get("max_tokens")
    if chat.get("client_sampling") is not False or not isinstance(temperature, int | float):
        return TEMPERATURE, options.max_tokens, None
    limit = max_tokens if type(max_tokens) is int else options.max_tokens
    return (
        float(temperature),
        limit,
        f"warning: this server answers at its own temperature ({temperature:g}) and max tokens ({limit}), not eval's "
        f"({TEMPERATURE:g}, {options.max_tokens}): it does not let clients choose (client_sampling is off), so "
        "scores may vary from run to run; for repeatable scores use `edubot eval --local`, or set "
        "`client_sampling: true` on that server",
    )


def _meta(
    options: EvalOptions,
    started: datetime,
    url: str,
    judge: Judge | None,
    concurrency: int,
    sampling: tuple[float, int],
) -> dict[str, Any]:
    """The report's fields about the run itself (``report.build_report``'s ``meta``)."""
    return {
        "started_at": started.replace(microsecond=0).isoformat(),
        "finished_at": records.now_iso(),
        "edubot_version": __version__,
        "target": {
            "url": None if options.local else url,
            "local": options.local,
            **({"model": str(options.model)} if options.model is not None else {}),
        },
        "taxonomy": {
            "path": str(options.taxonomy.absolute()),
            "hash": records.taxonomy_hash(options.taxonomy),
        },
        "settings": {
            "modes": list(options.modes),
            "holdout": options.holdout,
            "max_tokens": sampling[1],
            "temperature": sampling[0],
            "judge": {"url": judge.url, "model": judge.model} if judge is not None else None,
            "concurrency": concurrency,
            "leaves": list(options.leaves) or None,
        },
    }


def run_eval(
    settings: Settings,
    options: EvalOptions,
    *,
    progress: Progress | None = None,
    notice: Callable[[str], None] | None = None,
    command: list[str] | None = None,
) -> EvalRun:
    """Evaluate (see the module doc); returns the report and the run record's path; ``notice`` is told when the
    embedded engine starts (``--local``), which takes a while. Raises ``EdubotError``
    before asking anything when the taxonomy, ``--leaf``, the flags, the judge or the backend are wrong, and
    ``ChatError`` when the backend fails during the run. Ctrl-C while the questions are asked ends the asking:
    the report (``partial``) and the run record keep the questions answered in every mode so far."""
    from ..chat.client import ChatClient

    if options.holdout and not options.local:
        raise EvalError(
            "--holdout needs a backend whose index leaves the held-out Q&A pairs out, and a running backend does "
            "not report its index's holdout, so it cannot be checked",
            hint=f"use `edubot eval --local --holdout {options.holdout}` (it starts a backend indexed that way)",
        )
    questions = collect(options.taxonomy, holdout=options.holdout)
    if options.leaves:
        questions = only_leaves(questions, options.leaves, options.taxonomy)
    judge_url = _checked_url(options.judge_url, "--judge") if options.judge_url else None
    started = datetime.now(UTC)
    items = [Item(q) for q in questions]
    jobs = [(item, mode) for item in items for mode in options.modes]
    with contextlib.ExitStack() as stack:
        judge = stack.enter_context(Judge(judge_url, options.judge_model)) if judge_url else None
        url, key = stack.enter_context(_backend(settings, options, notice))
        client = stack.enter_context(
            ChatClient(url, api_key=key, via_backend=True, timeout=settings.request_timeout)
        )
        _connect(client, url)
        temperature, max_tokens, warning = _sampling(client.backend_chat(), options)
        if warning is not None and notice is not None:
            notice(warning)
        concurrency = options.concurrency or min(_capacity(url) or DEFAULT_CONCURRENCY, DEFAULT_CONCURRENCY)

        def answer(job: tuple[Item, str], stop: Stop) -> Answer:
            item, mode = job
            got = _ask(client, item.question, mode == GROUNDED, options.max_tokens, stop)
            if judge is not None and got.error is None and not stop.is_set():
                got.judge = (
                    judge.grade(
                        item.question.question,
                        item.question.reference,
                        metrics.strip_citations(got.text).strip(),
                    )
                    if got.text.strip()
                    else Verdict(grade=0, reason="empty answer (not sent to the judge)")
                )
            return got

        answered = 0

        def done(index: int, got: Answer) -> None:
            nonlocal answered
            answered += 1
            if progress is not None:
                progress(answered, len(jobs))

        if progress is not None:
            progress(0, len(jobs))
        finished = run_jobs(jobs, answer, concurrency=concurrency, on_done=done)
        for index, got in sorted(finished.results.items()):  # each item's modes in the run's order
            item, mode = jobs[index]
            item.answers[mode] = got
        complete = [item for item in items if all(mode in item.answers for mode in options.modes)]
        meta = _meta(options, started, url, judge, concurrency, (temperature, max_tokens))
        report = build_report(complete, modes=options.modes, meta=meta, total=len(items))
        record = {**report, "command": command if command is not None else sys.argv}
        # written before the backend stops: a second Ctrl-C while it does keeps the record
        path = records.write_record(
            records.record_path(Path(settings.datasets_dir).absolute(), RECORD_KIND, started), record
        )
    return EvalRun(report, path, finished.interrupted)
