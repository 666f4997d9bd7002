"""`edubot eval`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..console import rich_console
from ..evaluation import DEFAULT_CONCURRENCY, DEFAULT_MAX_TOKENS
from ._common import (
    api_key_option,
    format_option,
    local_option,
    max_tokens_option,
    one_target,
    settings,
    taxonomy_option,
    url_option,
)

if TYPE_CHECKING:
    from rich.console import Console

Progress = Callable[[int, int], None]
MAX_CONCURRENCY = 256


class EvalFormat(StrEnum):
    """``--format`` of ``edubot eval``: the table, the JSON report, or the report for the teacher."""

    table = "table"
    json = "json"
    html = "html"
    markdown = "markdown"


COLUMNS = (
    ("right", "right"),
    ("f1", "F1"),
    ("content_recall", "content recall"),
    ("numbers", "numbers"),
    ("names", "names"),
    ("cited_leaf", "cited right"),
    ("judge", "judge 0-5"),
)


def eval_command(
    ctx: typer.Context,
    url: str | None = url_option("Backend to evaluate (default: the url setting, as `edubot chat`)."),
    local: bool = local_option(
        "Start the embedded engine and a backend for this run only (stopped at the end)."
    ),
    api_key: str | None = api_key_option(),
    taxonomy: Path | None = taxonomy_option(),
    leaf: list[str] | None = typer.Option(
        None,
        "--leaf",
        help="Ask only this leaf's questions: a folder relative to the taxonomy, or a folder above leaves "
        "(repeatable).",
    ),
    grounded: bool = typer.Option(False, "--grounded", help="Ask grounded only."),
    ungrounded: bool = typer.Option(False, "--ungrounded", help="Ask ungrounded only."),
    both: bool = typer.Option(False, "--both", help="Ask each question grounded and ungrounded (default)."),
    holdout: int = typer.Option(
        0,
        "--holdout",
        min=0,
        help="Keep the last K Q&A pairs of each knowledge context out of the index and ask those (needs --local).",
    ),
    max_tokens: int = max_tokens_option(DEFAULT_MAX_TOKENS, "Longest answer in tokens."),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        min=1,
        max=MAX_CONCURRENCY,
        help=f"Questions asked at once (default: the backend's capacity, at most {DEFAULT_CONCURRENCY}; "
        f"--local: {DEFAULT_CONCURRENCY}, the engine's slots).",
    ),
    judge: str | None = typer.Option(
        None,
        "--judge",
        help="OpenAI-compatible server that grades each answer 0-5 (key: $EDUBOT_JUDGE_API_KEY).",
    ),
    judge_model: str | None = typer.Option(
        None, "--judge-model", help="Model the judge uses (default: the first one it lists)."
    ),
    compare: Path | None = typer.Option(
        None,
        "--compare",
        dir_okay=False,
        help="An earlier report (--format json or run record): show deltas.",
    ),
    output: EvalFormat = format_option(EvalFormat.table),
    output_file: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="Write the json, html or markdown report to this file."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the --output file if it exists."),
) -> None:
    """Score a served model on the taxonomy's own questions: each knowledge Q&A pair and skill example.

    Asks /chat at temperature 0, grounded and ungrounded (--both, the default), several questions at once.

    Each answer gets a verdict. Right: every number and every name of the reference answer is in the answer
    (those the question gives need not be repeated), and it has at least half of the reference's content words
    (recall >= 0.5). Wrong: the answer says the material does not cover the question, or says "No" to a "Yes"
    (or the other way), or has none of the reference's numbers and names and a recall below 0.25. Partly: the
    rest. The share of right answers comes first, per mode, and among factoid questions (how many, how much,
    when, who, which, what time ...).

    Scores below it: token F1, content-word recall, numbers and names kept, right leaf cited; --judge adds a 0-5
    grade.

    A run record is written next to the data runs (datasets_dir). Ctrl-C stops asking and reports the questions
    answered so far (a partial report, exit code 130; SIGTERM likewise, 143); a second Ctrl-C quits at once.

    Examples:

        edubot eval --local --holdout 1

        edubot eval --local --leaf knowledge/school -f html -o school.html

        edubot eval --url http://127.0.0.1:8000 --format json > before.json

        edubot eval --local --compare before.json
    """
    from ..errors import EXIT_INTERRUPTED, UsageError
    from ..evaluation.document import check_output, document, write_output
    from ..evaluation.report import GROUNDED, MODES, UNGROUNDED, load_report
    from ..evaluation.report import compare as compare_reports
    from ..evaluation.run import EvalOptions, run_eval

    if sum((grounded, ungrounded, both)) > 1:
        raise UsageError("give one of --grounded, --ungrounded and --both", hint="--both is the default")
    one_target(local, url=url)
    if output_file is not None and output is EvalFormat.table:
        raise UsageError(
            "--output writes the json, html or markdown report", hint="add --format html (or json, markdown)"
        )
    if output_file is not None:
        check_output(output_file, force)
    modes = (GROUNDED,) if grounded else (UNGROUNDED,) if ungrounded else MODES
    config = settings(ctx)
    old = load_report(compare) if compare is not None else None
    status = rich_console(stderr=True)
    options = EvalOptions(
        taxonomy=taxonomy if taxonomy is not None else Path(config.taxonomy_path),
        modes=modes,
        holdout=holdout,
        max_tokens=max_tokens,
        url=url,
        local=local,
        api_key=api_key,
        judge_url=judge,
        judge_model=judge_model,
        concurrency=concurrency,
        leaves=tuple(leaf or ()),
    )
    with _progress(status, output is not EvalFormat.json) as progress:
        run = run_eval(
            config,
            options,
            progress=progress,
            notice=lambda text: status.print(text, style="dim", markup=False),
        )
    report: dict[str, Any] = dict(run.report)
    if old is not None:
        report["compare"] = compare_reports(old, run.report, str(compare))
    if output_file is not None:
        write_output(output_file, document(report, output.value))
        console = rich_console()
        _render_verdicts(console, report)
        console.print(f"report: {output_file}", markup=False)
        status.print(f"run record: {run.record_path}", markup=False)
    elif output is EvalFormat.table:
        console = rich_console()
        render(console, report)
        console.print(f"run record: {run.record_path}", markup=False)
    else:
        typer.echo(document(report, output.value), nl=output is EvalFormat.json)
        status.print(f"run record: {run.record_path}", markup=False)
    if run.interrupted is not None:
        from ..procgroup import Terminated

        stop = run.interrupted
        raise typer.Exit(128 + stop.signum if isinstance(stop, Terminated) else EXIT_INTERRUPTED)


@contextlib.contextmanager
def _progress(status: Console, show: bool) -> Iterator[Progress | None]:
    """A progress bar with the time left on standard error while the answers come (terminals only, not with
    --format json); gone once they are all in."""
    if not (show and status.is_terminal):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("asking"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("answers, about"),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=status,
        transient=True,
    )
    task = bar.add_task("asking", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)
        if not bar.live.is_started:
            bar.start()

    try:
        yield update
    finally:
        bar.stop()


def _score(value: Any, metric: str) -> str:
    if value is None:
        return "–"
    if metric == "judge":
        return f"{value:.1f}"
    if metric.startswith("cited") or metric == "right":
        return f"{value:.0%}"
    return f"{value:.2f}"


def _cells(scores: dict[str, Any], modes: list[str], metric: str) -> str:
    return " / ".join(_score(scores[mode].get(metric), metric) for mode in modes)


def _columns(report: dict[str, Any]) -> list[tuple[str, str]]:
    modes = report["settings"]["modes"]
    judged = report["settings"]["judge"] is not None
    return [
        (metric, label)
        for metric, label in COLUMNS
        if (metric != "judge" or judged) and (metric != "cited_leaf" or "grounded" in modes)
    ]


def _render_verdicts(console: Console, report: dict[str, Any]) -> None:
    """The verdict lines, the share of right answers in bold."""
    from rich.markup import escape

    from ..evaluation.document import verdict_lines

    lines = verdict_lines(report)
    if report["partial"]:
        console.print(f"[yellow]{escape(lines.pop(0))}[/]", highlight=False)
    console.print(f"[bold]{escape(lines[0])}[/]", highlight=False)
    for line in lines[1:]:
        console.print(line, markup=False, highlight=False)


def render(console: Console, report: dict[str, Any]) -> None:
    """The verdict lines, then the table per leaf with the overall row, the line of bare ratios and, with
    --compare, the deltas."""
    from rich.table import Table

    from ..evaluation.document import ratios_line

    _render_verdicts(console, report)
    console.print()

    modes = report["settings"]["modes"]
    columns = _columns(report)
    table = Table(title=f"edubot eval ({' / '.join(modes)})")
    table.add_column("leaf")
    table.add_column("questions", justify="right")
    for metric, label in columns:
        only_grounded = metric == "cited_leaf"
        table.add_column(label, justify="right" if only_grounded or len(modes) == 1 else "center")
    for leaf in report["leaves"]:
        scores = leaf["scores"]
        row = [leaf["leaf"], str(scores[modes[0]]["questions"])]
        for metric, _ in columns:
            row.append(_cells(scores, ["grounded"] if metric == "cited_leaf" else modes, metric))
        table.add_row(*row)
    overall = report["overall"]
    table.add_section()
    table.add_row(
        "all",
        str(overall[modes[0]]["questions"]),
        *(_cells(overall, ["grounded"] if m == "cited_leaf" else modes, m) for m, _ in columns),
    )
    console.print(table)
    console.print(ratios_line(report), markup=False)
    if "compare" in report:
        render_compare(console, report["compare"])


def _delta(entry: dict[str, Any], metric: str) -> str:
    """``0.41 → 0.52 (+0.11)``; rates as ``60% → 80% (+20%)``."""
    text = f"{_score(entry['before'], metric)} → {_score(entry['after'], metric)}"
    delta = entry["delta"]
    if delta is None:
        return text
    percent = metric.startswith("cited") or metric == "right"
    return text + (f" ({delta:+.0%})" if percent else f" ({delta:+.2f})")


def render_compare(console: Console, compared: dict[str, Any]) -> None:
    """Before → after (delta) per leaf and mode, then overall."""
    from rich.table import Table

    metrics = [m for m, _ in COLUMNS]
    rows = [(e["leaf"], e["mode"], e["deltas"]) for e in compared["leaves"]]
    rows += [("all", e["mode"], e["deltas"]) for e in compared["overall"]]
    present = [m for m in metrics if any(m in deltas for _, _, deltas in rows)]
    table = Table(title=f"compared with {compared['against']}")
    table.add_column("leaf")
    table.add_column("mode")
    labels = dict(COLUMNS)
    for metric in present:
        table.add_column(labels[metric], justify="right")
    for index, (leaf, mode, deltas) in enumerate(rows):
        if leaf == "all" and index == len(compared["leaves"]):
            table.add_section()
        table.add_row(leaf, mode, *(_delta(deltas[m], m) if m in deltas else "" for m in present))
    console.print(table)
