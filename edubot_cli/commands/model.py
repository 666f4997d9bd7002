"""`edubot model`: train (through ilab), convert, list and inspect models."""

from __future__ import annotations

import typer

from . import model_train

app = typer.Typer(help="Train, convert, list and inspect models.", no_args_is_help=True)
app.command("train")(model_train.train)
