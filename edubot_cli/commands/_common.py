"""Helpers shared by the command modules (kept light: imported at start-up)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Settings


class TableOrJson(StrEnum):
    """``--format`` of the commands that print either a human table or one JSON document."""

    table = "table"
    json = "json"


def settings(ctx: typer.Context, **flags: Any) -> Settings:
    """Settings for this invocation: config file from the root ``--config``, then env, then these flags."""
    from ..config import load_settings

    return load_settings((ctx.find_root().obj or {}).get("config"), **flags)


def rich_console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr): terminal width when interactive, 200 columns when piped."""
    from rich.console import Console

    interactive = (sys.stderr if stderr else sys.stdout).isatty()
    return Console(stderr=stderr, highlight=False, width=None if interactive else 200)
