"""Small Typer apps under edubot's root group, for tests of its one error path."""

from __future__ import annotations

import typer

from edubot_cli.main import EdubotGroup


def app_raising(exc: BaseException) -> typer.Typer:
    """An app under ``EdubotGroup`` whose ``boom`` command raises ``exc`` and whose ``fine`` command prints ok."""
    app = typer.Typer(cls=EdubotGroup)

    @app.command()
    def boom() -> None:
        raise exc

    @app.command()
    def fine() -> None:
        typer.echo("ok")

    return app
