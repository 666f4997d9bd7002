"""The root Typer app: wires the command groups and owns the one error path."""

from __future__ import annotations

import os
import select
import signal
import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from . import __version__
from .commands import chat, classroom, data, doctor, engine, init, model, serve, taxonomy
from .commands import eval as evaluate
from .commands._common import Invocation
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, EdubotError
from .procgroup import Terminated

# A closed stdout (`edubot ... | head`) ends the command quietly with the status a shell reports for a process
# killed by SIGPIPE, as Unix tools do: 128 + 13. No message, no traceback. Python ignores SIGPIPE (so that sockets
# and child pipes raise BrokenPipeError instead of killing the server), so this is done by hand.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


def _reader_gone(fd: int) -> bool:
    """True when ``fd`` is a pipe (or socket) whose reading end is closed: writing to it would fail with EPIPE."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll() (Windows) or fd closed
        return False


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so that the interpreter's last flush of buffered output cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, 1)
    except OSError:
        pass
    finally:
        os.close(devnull)


def _debug() -> bool:
    return os.environ.get("EDUBOT_DEBUG", "") not in ("", "0", "false", "no")


def report_error(exc: BaseException) -> int:
    """Print one red line (and a hint) on stderr for ``exc``; return the exit code."""
    from rich.markup import escape

    from .console import rich_console

    console = rich_console(stderr=True)
    if isinstance(exc, EdubotError):
        console.print(f"[bold red]error:[/] {escape(exc.message)}")
        if exc.hint:
            console.print(f"[yellow]hint:[/] {escape(exc.hint)}")
        return exc.exit_code
    console.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}")
    console.print("[yellow]hint:[/] rerun with EDUBOT_DEBUG=1 for the traceback and report it")
    return EXIT_ERROR


# Help labels. This Typer prints a value label after every parameter, flags included (`--dry-run <bool>`,
# `--help <bool>`), Python types for lists (`--pattern <list[str]>`) and required arguments as `{path}`. edubot's
# help follows the usual convention instead: flags show no label, values show their element type in capitals
# once (`TEXT`, `INTEGER`, `PATH`, `[table|json]`) and arguments show their name in capitals (`PATH`,
# `[ENGINE_ARGS]...`, `Missing argument 'PATH'`). When the root group is built, every command of the tree gets a
# get_params that re-classes its parameters into the subclasses below (same layout, other methods), including
# the --help and completion options Typer adds later.
_TYPE_LABELS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN", "dir": "DIRECTORY"}


def _value_label(param: TyperOption | TyperArgument, ctx: Any) -> str | None:
    """The label of the value ``param`` takes (`TEXT`, `PATH`, `[table|json]`), or None for a flag.

    Typer's own label (`<list[str]>`, `<path>`, `<table|json>`) is translated, so every type it knows keeps one."""
    if isinstance(param, TyperOption):
        if param.is_flag or param.count:
            return None
        if param.metavar is not None:
            return param.metavar
    inner = param.display_type(ctx).removeprefix("<").removesuffix(">")
    if inner.startswith("list[") and inner.endswith("]"):
        inner = inner[len("list[") : -1]  # a repeatable option or variadic argument: the element type, once
    if param.type_descriptor.is_choice:
        label = f"[{inner}]"
    else:
        label = " ".join(
            _TYPE_LABELS.get(word.lower(), word.upper()) for word in inner.replace(",", " ").split()
        )
    return label


class _LabelledOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        return _value_label(self, ctx)


class _LabelledArgument(TyperArgument):
    @property
    def display_name_raw(self) -> str:
        return (self.metavar or self.name or "").upper()

    def display_type_rich(self, ctx: Any) -> str | None:
        label = _value_label(self, ctx)
        return None if label == self.display_name_raw else label

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return [name + ("..." if self.nargs != 1 else "")]


def _labelled(param: Any) -> Any:
    """Re-class a Typer option or argument (same layout) so that it prints the labels above."""
    if type(param) is TyperOption:
        param.__class__ = _LabelledOption
    elif type(param) is TyperArgument:
        param.__class__ = _LabelledArgument
    return param


_LABELLED_COMMANDS: dict[type, type] = {}


def _labelled_command_class(cls: type) -> type:
    """``cls`` whose parameters (including the --help and completion options Typer adds later) are labelled."""
    if getattr(cls, "labels_parameters", False):
        return cls
    if cls not in _LABELLED_COMMANDS:

        def get_params(self: Any, ctx: Any) -> list[Any]:
            return [_labelled(param) for param in cls.get_params(self, ctx)]  # type: ignore[attr-defined]

        namespace = {"get_params": get_params, "labels_parameters": True, "__module__": cls.__module__}
        _LABELLED_COMMANDS[cls] = type(cls.__name__, (cls,), namespace)
    return _LABELLED_COMMANDS[cls]


def _relabel(command: Any) -> None:
    """Make ``command`` and every command below it label their parameters (see the note above)."""
    command.__class__ = _labelled_command_class(type(command))
    for sub in getattr(command, "commands", {}).values():
        _relabel(sub)


class EdubotGroup(TyperGroup):
    """Root group: every subcommand runs inside ``invoke``, so this is the single place errors are rendered."""

    labels_parameters = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _relabel(self)

    def get_params(self, ctx: Any) -> list[Any]:
        return [_labelled(param) for param in super().get_params(ctx)]

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Click and rich handle a closed stdout themselves (help, --version, tables) with a bare exit 1: turn
        that into the quiet `EXIT_BROKEN_PIPE` too, checked on a duplicate of the original stdout because rich
        has already pointed fd 1 at /dev/null by then."""
        try:
            probe: int | None = os.dup(1)
        except OSError:
            probe = None
        try:
            return super().main(*args, **kwargs)
        except SystemExit as stop:
            if stop.code in (0, None):
                try:  # output still buffered would otherwise fail at exit with "Exception ignored … BrokenPipeError"
                    sys.stdout.flush()
                except BrokenPipeError:
                    _silence_stdout()
                    raise SystemExit(EXIT_BROKEN_PIPE) from None
            elif stop.code != EXIT_BROKEN_PIPE and probe is not None and _reader_gone(probe):
                _silence_stdout()
                raise SystemExit(EXIT_BROKEN_PIPE) from None
            raise
        finally:
            if probe is not None:
                os.close(probe)

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
        except BrokenPipeError as exc:
            if not _reader_gone(1):  # a socket or a child's pipe broke, not our stdout: a real error
                if _debug():
                    raise
                raise typer.Exit(report_error(exc)) from None
            _silence_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except Exception as exc:
            if _debug():
                raise
            raise typer.Exit(report_error(exc)) from None


app = typer.Typer(
    cls=EdubotGroup,
    name="edubot",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("init")(init.init)
app.add_typer(taxonomy.app, name="taxonomy")
app.add_typer(data.app, name="data")
app.add_typer(model.app, name="model")
app.add_typer(engine.app, name="engine")
app.command("serve")(serve.serve)
app.command("chat")(chat.chat)
app.command("doctor")(doctor.doctor)
app.command("eval")(evaluate.eval_command)
app.add_typer(classroom.app, name="class")


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
    """Build, train, serve and chat with an educational chatbot on InstructLab.

    One CLI for the InstructLab loop: taxonomy → data → train → convert → serve → chat.
    `edubot COMMAND --help` shows a command's options and examples.

    Examples:

      edubot doctor

      edubot serve

      edubot chat -q "What is photosynthesis?"

      edubot model list --format json
    """
    ctx.obj = Invocation(config)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv, prog_name="edubot")
