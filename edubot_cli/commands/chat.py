"""`edubot chat`."""

from __future__ import annotations

import typer


def chat() -> None:
    """(not available yet)"""
    raise typer.Exit(1)
