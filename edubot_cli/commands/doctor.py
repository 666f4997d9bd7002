"""`edubot doctor`."""

from __future__ import annotations

import typer


def doctor() -> None:
    """(not available yet)"""
    raise typer.Exit(1)
