"""`edubot eval`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..chat import MAX_TOKENS_RANGE
from ..console import rich_console
from ..evaluation import DEFAULT_MAX_TOKENS
from ._common import TableOrJson, format_option, settings

if TYPE_CHECKING:
    from rich.console import Console

    from ..evaluation.questions import Question

COLUMNS = (
    ("f1", "F1"),
    ("content_recall", "content recall"),
    ("numbers", "numbers"),
    ("names", "names"),
    ("cited_leaf", "cited right"),
    ("judge", "judge 0-5"),
)


def eval_command(
    ctx: typer.Context,
    url: str | None = typer.Option(
        None, "--url", help="Backend to evaluate (default: the url setting, as `edubot chat`)."
    ),
    local: bool = typer.Option(
        False,
        "--local",
        help="Start the embedded engine and a backend for this run only (stopped at the end).",
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="EDUBOT_API_KEY", help="Bearer key the backend requires (default: api_key)."
    ),
    taxonomy: Path | None = typer.Option(None, "--taxonomy", help="Taxonomy root (default: taxonomy_path)."),
    grounded: bool = typer.Option(False, "--grounded", help="Ask grounded only."),
    ungrounded: bool = typer.Option(False, "--ungrounded", help="Ask ungrounded only."),
    both: bool = typer.Option(False, "--both", help="Ask each question grounded and ungrounded (default)."),
    holdout: int = typer.Option(
        0,
        "--holdout",
        min=0,
        help="Keep the last K Q&A pairs of each knowledge context out of the index and ask those (needs --local).",
    ),
    max_tokens: int = typer.Option(
        DEFAULT_MAX_TOKENS,
        "--max-tokens",
        min=MAX_TOKENS_RANGE[0],
        max=MAX_TOKENS_RANGE[1],
        help="Longest answer in tokens.",
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
    output: TableOrJson = format_option(),
) -> None:
    """Score a served model on the taxonomy's own questions: each knowledge Q&A pair and skill example.

    Asks /chat at temperature 0, grounded and ungrounded (--both, the default).

    Scores: token F1, content-word recall, numbers and names kept, right leaf cited; --judge adds a 0-5 grade.

    A run record is written next to the data runs (datasets_dir).

    Examples:

        edubot eval --local --holdout 1

        edubot eval --url http://127.0.0.1:8000 --format json > before.json

        edubot eval --local --compare before.json
    """
    from ..errors import UsageError
    from ..evaluation.report import GROUNDED, MODES, UNGROUNDED, load_report
    from ..evaluation.report import compare as compare_reports
    from ..evaluation.run import EvalOptions, run_eval

    if sum((grounded, ungrounded, both)) > 1:
        raise UsageError("give one of --grounded, --ungrounded and --both", hint="--both is the default")
    if local and url:
        raise UsageError("give either --local or --url, not both", hint="drop one of them")
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
    )
    run = run_eval(config, options, status=status, progress=_progress(status))
    if status.is_terminal:
        status.print(" " * 80, end="\r")  # clear the counter
    report: dict[str, Any] = dict(run.report)
    if old is not None:
        report["compare"] = compare_reports(old, run.report, str(compare))
    if output is TableOrJson.json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        status.print(f"run record: {run.record_path}", markup=False)
        return
    console = rich_console()
    render(console, report)
    console.print(f"run record: {run.record_path}", markup=False)


def _progress(status: Console) -> Any:
    """A one-line counter on standard error while the answers come (terminals only)."""
    from rich.markup import escape

    if not status.is_terminal:
        return None

    def show(n: int, total: int, question: Question, mode: str) -> None:
        text = question.question.splitlines()[0][:60]
        line = f"[{n}/{total}] {mode}: {text}"
        status.print(f"[dim]{escape(line.ljust(80))}[/]", end="\r")

    return show


def _score(value: Any, metric: str) -> str:
    if value is None:
        return "–"
    if metric == "judge":
        return f"{value:.1f}"
    if metric.startswith("cited"):
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


def render(console: Console, report: dict[str, Any]) -> None:
    """The table per leaf with the overall row, the summary line and, with --compare, the deltas."""
    from rich.table import Table

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
    console.print(summary(report), markup=False)
    if "compare" in report:
        render_compare(console, report["compare"])


def summary(report: dict[str, Any]) -> str:
    """One line: questions, content recall per mode (and the ratio with both), right leaf cited, the judge's mean
    grade, errors."""
    modes = report["settings"]["modes"]
    overall = report["overall"]
    questions = overall[modes[0]]["questions"]
    holdout = report["settings"]["holdout"]
    parts = [
        f"{questions} question{'s' if questions != 1 else ''}" + (f" (holdout {holdout})" if holdout else "")
    ]
    recall = {mode: overall[mode]["content_recall"] for mode in modes}
    parts.append("content recall " + ", ".join(f"{_score(recall[m], 'content_recall')} {m}" for m in modes))
    if len(modes) == 2 and recall["grounded"] is not None and recall["ungrounded"]:
        parts[-1] += f" ({recall['grounded'] / recall['ungrounded']:.2f}x)"
    if "grounded" in modes:
        parts.append(f"right leaf cited {_score(overall['grounded']['cited_leaf'], 'cited_leaf')}")
    if report["settings"]["judge"] is not None:
        grades = ", ".join(f"{_score(overall[m]['judge'], 'judge')} {m}" for m in modes)
        failed = sum(overall[m]["judge_errors"] for m in modes)
        parts.append(f"judge {grades} ({failed} judge error{'s' if failed != 1 else ''})")
    errors = sum(overall[m]["errors"] for m in modes)
    parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return "; ".join(parts)


def _delta(entry: dict[str, Any], metric: str) -> str:
    """``0.41 → 0.52 (+0.11)``; rates as ``60% → 80% (+20%)``."""
    text = f"{_score(entry['before'], metric)} → {_score(entry['after'], metric)}"
    delta = entry["delta"]
    if delta is None:
        return text
    return text + (f" ({delta:+.0%})" if metric.startswith("cited") else f" ({delta:+.2f})")


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
