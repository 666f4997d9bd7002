"""`edubot data`: synthetic data generation through ilab."""

from __future__ import annotations

import typer

app = typer.Typer(help="Generate and list synthetic training data (runs the real `ilab`).", no_args_is_help=True)
