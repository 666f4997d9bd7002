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
    echo_json,
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

    from ..config import Settings
    from ..evaluation.run import EvalOptions

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
    compare: list[str] | None = typer.Option(
        None,
        "--compare",
        help="An earlier report (--format json or run record): show deltas. Or models to compare on the same "
        "questions, each on an engine of its own: GGUF files, `embedded`, pulled catalog names (repeat "
        "--compare, or list them after it).",
        show_default=False,
    ),
    more_models: list[str] | None = typer.Argument(
        None,
        metavar="MODEL",
        help="More models for --compare: `edubot eval --compare embedded models/A.gguf models/B.gguf`.",
        show_default=False,
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

    --compare MODEL [MODEL ...] answers "which model is best for my class?": the same evaluation (as with
    --local) for each GGUF model in turn, then one table: right answers, numbers and names kept, median latency.

    A run record is written next to the data runs (datasets_dir). Ctrl-C stops asking and reports the questions
    answered so far (a partial report, exit code 130; SIGTERM likewise, 143); a second Ctrl-C quits at once.

    Examples:

        edubot eval --local --holdout 1

        edubot eval --local --leaf knowledge/school -f html -o school.html

        edubot eval --url http://127.0.0.1:8000 --format json > before.json

        edubot eval --local --compare before.json

        edubot eval --holdout 1 --compare embedded qwen2.5-1.5b models/my-tutor.gguf
    """
    from ..errors import EXIT_INTERRUPTED, UsageError
    from ..evaluation.document import check_output, document, write_output
    from ..evaluation.models import is_model
    from ..evaluation.report import GROUNDED, MODES, UNGROUNDED, load_report
    from ..evaluation.report import compare as compare_reports
    from ..evaluation.run import EvalOptions, run_eval

    if sum((grounded, ungrounded, both)) > 1:
        raise UsageError("give one of --grounded, --ungrounded and --both", hint="--both is the default")
    one_target(local, url=url)
    compared = _compare_values(compare, more_models)
    models = compared if compared and any(is_model(value) for value in compared) else None
    if output_file is not None and output is EvalFormat.table:
        raise UsageError(
            "--output writes the json, html or markdown report", hint="add --format html (or json, markdown)"
        )
    if output_file is not None:
        check_output(output_file, force)
    if models is not None:
        _check_models_flags(models, url, output)
    elif len(compared) > 1:
        raise UsageError(
            f"--compare {compared[1]}: compare with one earlier report at a time", hint="give --compare once"
        )
    modes = (GROUNDED,) if grounded else (UNGROUNDED,) if ungrounded else MODES
    config = settings(ctx)
    old = load_report(Path(compared[0])) if compared and models is None else None
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
    if models is not None:
        _compare_models(config, options, models, output, output_file, status)
        return
    with _progress(status, output is not EvalFormat.json) as progress:
        run = run_eval(
            config,
            options,
            progress=progress,
            notice=lambda text: status.print(text, style="dim", markup=False),
        )
    report: dict[str, Any] = dict(run.report)
    if old is not None:
        report["compare"] = compare_reports(old, run.report, str(Path(compared[0])))
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


def _compare_values(compare: list[str] | None, more: list[str] | None) -> list[str]:
    """The values of --compare, with the MODEL arguments after it; MODEL arguments alone are a usage error."""
    from ..errors import UsageError

    if more and not compare:
        raise UsageError(
            f"{more[0]}: models to compare go after --compare",
            hint="e.g. `edubot eval --compare embedded models/NAME.gguf`",
        )
    return [*(compare or []), *(more or [])]


def _check_models_flags(values: list[str], url: str | None, output: EvalFormat) -> None:
    """--compare with models: only models, each evaluated locally, and a table or JSON."""
    from ..errors import UsageError
    from ..evaluation.models import is_model

    reports = [value for value in values if not is_model(value)]
    if reports:
        raise UsageError(
            f"--compare {reports[0]}: give either one earlier report or models (GGUF files, `embedded`, catalog "
            "names), not both",
            hint="compare models in one run, and that run with an earlier report in another",
        )
    if url is not None:
        raise UsageError(
            "--compare with models starts an engine for each model: it cannot evaluate --url",
            hint="drop --url",
        )
    if output in (EvalFormat.html, EvalFormat.markdown):
        raise UsageError(
            f"--compare with models prints a table or JSON, not {output.value}", hint="use --format json"
        )


def _compare_models(
    config: Settings,
    options: EvalOptions,
    values: list[str],
    output: EvalFormat,
    output_file: Path | None,
    status: Console,
) -> None:
    """Run ``edubot eval --compare MODEL ...`` and print its table, or its JSON document."""
    from ..evaluation.document import document as as_text
    from ..evaluation.document import write_output
    from ..evaluation.models import compare_models, resolve_models

    models = resolve_models(values, Path(config.models_dir))
    with _progress(status, output is not EvalFormat.json) as progress:
        result = compare_models(
            config,
            options,
            models,
            progress=progress,
            notice=lambda text: status.print(text, style="dim", markup=False),
        )
    document = result.document
    if output_file is not None:
        write_output(output_file, as_text(document, EvalFormat.json.value))
    if output is EvalFormat.json and output_file is None:
        echo_json(document)
    else:
        console = rich_console()
        render_models(console, document)
        if output_file is not None:
            console.print(f"report: {output_file}", markup=False)
    if result.interrupted is not None:
        from ..errors import EXIT_INTERRUPTED
        from ..procgroup import Terminated

        stop = result.interrupted
        raise typer.Exit(128 + stop.signum if isinstance(stop, Terminated) else EXIT_INTERRUPTED)


def _latency(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.1f} s"


def render_models(console: Console, document: dict[str, Any]) -> None:
    """The table of ``edubot eval --compare MODEL ...``: a row per model, a column per score, ``grounded /
    ungrounded`` in each cell; then the best model and each run's record."""
    from rich.table import Table

    modes: list[str] = (document["settings"] or {}).get("modes", [])
    if document["partial"]:
        console.print("[yellow]partial: stopped before every model answered every question[/]")
    table = Table(title=f"which model is best for your class? ({' / '.join(modes)})")
    table.add_column("model")
    table.add_column("questions", justify="right")
    for label in ("right", "numbers", "names", "median latency"):
        table.add_column(label, justify="right" if len(modes) == 1 else "center")
    for entry in document["models"]:
        scores = entry["scores"]
        table.add_row(
            entry["model"],
            str(scores[modes[0]]["questions"]) if modes else "0",
            *(
                " / ".join(_score(scores[m][metric], metric) for m in modes)
                for metric in ("right", "numbers", "names")
            ),
            " / ".join(_latency(scores[m]["median_latency_seconds"]) for m in modes),
        )
    console.print(table)
    if document["best"] is not None:
        best = next(e for e in document["models"] if e["model"] == document["best"])
        console.print(
            f"best: {document['best']} ({_score(best['scores'][modes[0]]['right'], 'right')} right answers, "
            f"{modes[0]})",
            markup=False,
        )
    for entry in document["models"]:
        console.print(f"run record ({entry['model']}): {entry['record']}", markup=False)


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
