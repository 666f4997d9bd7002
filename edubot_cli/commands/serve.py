"""`edubot serve`."""

from __future__ import annotations

import typer


def serve() -> None:
    """(not available yet)"""
    raise typer.Exit(1)
