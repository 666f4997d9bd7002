"""`edubot taxonomy`: add, validate and list qna.yaml seed data."""

from __future__ import annotations

import typer

app = typer.Typer(help="Write, validate and list taxonomy qna.yaml seed data.", no_args_is_help=True)
