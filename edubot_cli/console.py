"""The one rich console factory, for the commands and the chat alike (no Typer here: library modules use it)."""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def rich_console(
    stderr: bool = False,
    *,
    file: IO[str] | None = None,
    force_terminal: bool | None = None,
    wrap: bool = False,
) -> Console:
    """A rich console on stdout, stderr or ``file``, without automatic highlighting (nothing printed is a Python
    repr).

    By default lines soft-wrap, so that printed lines (paths above all) are never broken or cut by rich: the
    terminal wraps them, and a copy of a path stays whole; the width is the terminal's when interactive, 200
    columns when piped, and tables still fit it. With ``wrap`` (chat answers and their messages) rich wraps text
    between words at the width it finds itself (80 columns when piped)."""
    from rich.console import Console

    options: dict[str, Any] = {"soft_wrap": not wrap}
    if not wrap:
        stream = file or (sys.stderr if stderr else sys.stdout)
        options["width"] = None if stream.isatty() else 200
    return Console(file=file, stderr=stderr, highlight=False, force_terminal=force_terminal, **options)
