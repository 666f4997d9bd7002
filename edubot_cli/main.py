"""The root Typer app: wires the command groups and owns the one error path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from . import __version__
from .commands import chat, data, doctor, engine, model, serve, taxonomy
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, EdubotError
from .procgroup import Terminated


def _debug() -> bool:
    return os.environ.get("EDUBOT_DEBUG", "") not in ("", "0", "false", "no")


def report_error(exc: BaseException) -> int:
    """Print one red line (and a hint) on stderr for ``exc``; return the exit code."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if isinstance(exc, EdubotError):
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
        if exc.hint:
            console.print(f"[yellow]hint:[/] {escape(exc.hint)}")
        return exc.exit_code
    console.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}")
    console.print("[yellow]hint:[/] rerun with EDUBOT_DEBUG=1 for the traceback and report it")
    return EXIT_ERROR


class EdubotGroup(TyperGroup):
    """Root group: every subcommand runs inside ``invoke``, so this is the single place errors are rendered."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # usage errors, --help, explicit exits: Typer renders these itself
        except Terminated as stop:  # SIGTERM / SIGHUP, after every child was stopped
            if _debug():
                raise
            typer.echo(stop.reason, err=True)
            raise typer.Exit(128 + stop.signum) from None
        except KeyboardInterrupt:
            if _debug():
                raise
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if _debug():
                raise
            raise typer.Exit(report_error(exc)) from None


app = typer.Typer(
    cls=EdubotGroup,
    name="edubot",
    help="Build, train, serve and chat with an educational chatbot on InstructLab.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(taxonomy.app, name="taxonomy")
app.add_typer(data.app, name="data")
app.add_typer(model.app, name="model")
app.add_typer(engine.app, name="engine")
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.command("doctor")(doctor.doctor)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edubot {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Config file (default: $EDUBOT_CONFIG or configs/edubot.yaml).",
        dir_okay=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """edubot: one CLI for the InstructLab loop — taxonomy → data → train → convert → serve → chat."""
    ctx.obj = {"config": config}


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv, prog_name="edubot")
