"""Helpers shared by the command modules (kept light: imported at start-up)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ..config import Settings


class TableOrJson(StrEnum):
    """``--format`` of the commands that print either a human table or one JSON document."""

    table = "table"
    json = "json"


def settings(ctx: typer.Context, **flags: Any) -> Settings:
    """Settings for this invocation: config file from the root ``--config``, then env, then these flags."""
    from ..config import load_settings

    return load_settings((ctx.find_root().obj or {}).get("config"), **flags)


def echo_json(data: Any) -> None:
    """Print ``data`` as the one JSON document of ``--format json``: indented, non-ASCII text as itself (UTF-8)."""
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def format_option(default: StrEnum = TableOrJson.table) -> Any:
    """The one ``--format/-f`` declaration: ``output: TableOrJson = format_option()``.

    The choices are ``default``'s enum; the help lists them (``Output: table or json.``)."""
    values = [member.value for member in type(default)]
    listed = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
    return typer.Option(default, "--format", "-f", help=f"Output: {listed}.")
