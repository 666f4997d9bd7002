"""`edubot doctor`."""

from __future__ import annotations

import json

import typer

from ._common import TableOrJson
from ._common import settings as load


def doctor(
    ctx: typer.Context,
    output: TableOrJson = typer.Option(TableOrJson.table, "--format", "-f", help="Output: table or json."),
    strict: bool = typer.Option(
        False, "--strict", help="Exit with code 1 when a required check fails (for scripts and CI)."
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Skip the one-token run of the engine (about a second with the embedded model).",
    ),
) -> None:
    """Check what edubot needs: Python, the llama-server build (and one token through it), threads and slots,
    GPU/CUDA, vllm, transformers, ilab, models, ports.

    Each line says ✅ or ❌ with a hint. Required checks are those the default `edubot serve` needs; the others
    matter for the GPU engine, conversion and ilab. Exits 0 unless --strict is given and a required check fails.
    An engine that dies on this CPU is named with its signal (SIGILL: rebuild it with `edubot engine build`).

    Examples:

      edubot doctor

      edubot doctor --format json --strict
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..doctor import as_json, healthy, run_checks

    checks = run_checks(load(ctx), smoke=not quick)
    if output is TableOrJson.json:
        typer.echo(json.dumps(as_json(checks), indent=2))
    else:
        table = Table(title="edubot doctor", show_lines=False)
        table.add_column("", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("detail")
        table.add_column("hint", style="yellow")
        for check in checks:
            mark = "✅" if check.ok else "❌"
            name = check.name + ("" if check.required else " [dim](optional)[/]")
            table.add_row(mark, name, escape(check.detail), escape(check.hint))
        console = Console(highlight=False)
        console.print(table)
        verdict = "[green]ready to serve[/]" if healthy(checks) else "[red]a required check failed[/]"
        console.print(verdict)
    if strict and not healthy(checks):
        raise typer.Exit(1)
