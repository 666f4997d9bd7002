"""`edubot model train`: training through ilab."""

from __future__ import annotations

import typer


def train() -> None:
    """Train a model with `ilab model train` (not available yet)."""
    raise typer.Exit(1)
