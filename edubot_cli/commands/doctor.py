"""`edubot doctor`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ..console import rich_console
from ._common import TableOrJson, echo_json, format_option
from ._common import settings as load

if TYPE_CHECKING:
    from ..doctor import Check

OK = "✅"
FAILED = "❌"
"""A required check failed: the default `edubot serve` cannot work until it is fixed."""
NOT_AVAILABLE = "➖"
"""An optional item is not installed or not usable: only the workflows that need it are affected."""
LEGEND = f"{OK} ok   {FAILED} required, failed   {NOT_AVAILABLE} optional, not available"


def mark(check: Check) -> str:
    """✅ when the check passed, ❌ when a required one failed, ➖ when an optional one did not pass."""
    if check.ok:
        return OK
    return FAILED if check.required else NOT_AVAILABLE


def doctor(
    ctx: typer.Context,
    output: TableOrJson = format_option(),
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
    GPU/CUDA, vllm, transformers, ilab, models, ports; and say which model of `edubot model catalog` suits this
    machine's cores, RAM and GPU.

    Each line starts with ✅ (ok), ❌ (a required check failed) or ➖ (optional, not available), then the
    detail in full (paths are never cut) and, below it, a hint. Required checks are those the default
    `edubot serve` needs; the optional ones matter only for the GPU engine, conversion and ilab. Exits 0 unless
    --strict is given and a required check fails. An engine that dies on this CPU is named with its signal
    (SIGILL: rebuild it with `edubot engine build`).

    Examples:

      edubot doctor

      edubot doctor --format json --strict
    """
    from ..doctor import as_json, healthy, run_checks

    checks = run_checks(load(ctx), smoke=not quick)
    if output is TableOrJson.json:
        echo_json(as_json(checks))
    else:
        _print_checks(checks)
    if strict and not healthy(checks):
        raise typer.Exit(1)


def _print_checks(checks: list[Check]) -> None:
    """One line per check, never wrapped or cut by rich (so paths can be copied whole), hints indented below."""
    from rich.text import Text

    from ..doctor import healthy

    console = rich_console()
    console.print(Text.assemble(("edubot doctor", "bold"), "   ", (LEGEND, "dim")))
    names = [check.name + ("" if check.required else " (optional)") for check in checks]
    width = max((len(name) for name in names), default=0)
    for check, name in zip(checks, names, strict=True):
        style = "" if check.ok or check.required else "dim"
        line = Text.assemble(
            mark(check),
            " ",
            (check.name, style),
            ("" if check.required else " (optional)", "dim"),
            " " * (width - len(name) + 2),
            (check.detail, style),
        )
        console.print(line)
        if check.hint:
            console.print(Text.assemble(" " * (width + 5), ("hint: ", "yellow"), check.hint))
    if healthy(checks):
        console.print("[green]ready to serve[/]")
    else:
        console.print("[red]a required check failed[/]")
