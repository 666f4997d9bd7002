"""Rendering shared by `edubot data generate` and `edubot model train`: live ilab output and the run summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from ..lab.runs import LabRun

MAX_FILES_SHOWN = 15


def console() -> Console:
    from ..console import rich_console

    return rich_console()


class ConsoleObserver:
    """Prints edubot's notes in bold-ish colour and every ilab line prefixed by the elapsed time."""

    def __init__(self, out: Console) -> None:
        self.out = out

    def note(self, message: str) -> None:
        from rich.markup import escape

        self.out.print(f"[cyan]edubot:[/] {escape(message)}")

    def line(self, text: str, elapsed: float) -> None:
        from rich.text import Text

        self.out.print(Text.assemble((f"{elapsed:7.1f}s ", "dim"), text), soft_wrap=True)


def summary(out: Console, run: LabRun, what: str) -> None:
    """Print the outcome, the files produced, the record and log paths, and any explanation."""
    import signal

    from rich.markup import escape

    if run.interrupted is not None:
        name = signal.Signals(run.interrupted).name
        out.print(f"[yellow]{what} stopped ({name}): ilab's process group was stopped[/]")
    elif run.ok:
        out.print(f"[bold green]{what} finished[/] in {run.seconds:.1f} s")
    elif run.record.get("exit_code") == 0:
        out.print(
            f"[bold red]{what} failed:[/] ilab finished after {run.seconds:.1f} s, but too few samples are usable"
        )
    else:
        out.print(
            f"[bold red]{what} failed:[/] ilab exited with code {run.exit_code} after {run.seconds:.1f} s"
        )
    produced = [e for e in run.record.get("files_produced", []) if isinstance(e, dict)]
    shown = (
        [e for e in produced if str(e.get("path", "")).endswith(".jsonl")]
        if what == "generation"
        else produced
    )
    for entry in shown[:MAX_FILES_SHOWN]:
        records = f", {entry['records']} records" if "records" in entry else ""
        out.print(f"  {escape(str(entry.get('path')))} ({entry.get('bytes', 0):,} bytes{records})")
    if len(shown) > MAX_FILES_SHOWN:
        out.print(f"  … and {len(shown) - MAX_FILES_SHOWN} more (all listed in the run record)")
    if run.samples is not None:
        from ..lab.samples import REASONS

        out.print(f"samples: {escape(run.samples.summary())}")
        for reason, count in run.samples.dropped.items():
            out.print(f"  {count} {reason}: {escape(REASONS[reason])}")
    out.print(f"run record: {escape(str(run.record_path))}")
    out.print(f"full log:   {escape(str(run.log_path))}")
    if run.explanation:
        out.print(f"[yellow]hint:[/] {escape(run.explanation)}")
    for note in run.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")


def exit_like_ilab(run: LabRun) -> None:
    """Leave with ilab's exit code (nothing to do when it is 0)."""
    if run.exit_code != 0:
        raise typer.Exit(run.exit_code)
