"""What the command modules share (kept light: imported at start-up): the typed object of one `edubot` run
(``Invocation``: the root ``--config``, settings loaded once, JSON output), the option declarations several commands
take (``--url``, ``--api-key``, ``--local``, ``--taxonomy``, ``--max-tokens``, ``--format``) and the one check of
``--local`` against a URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..chat import MAX_TOKENS_RANGE
from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Settings


class TableOrJson(StrEnum):
    """``--format`` of the commands that print either a human table or one JSON document."""

    table = "table"
    json = "json"


@dataclass
class Invocation:
    """One `edubot` run, as ``ctx.obj`` of the root group: the ``--config`` file, and settings loaded from it
    (then the environment, then a command's flags) once per set of flags."""

    config: Path | None = None
    _loaded: dict[tuple[tuple[str, str], ...], Settings] = field(default_factory=dict, repr=False)

    def settings(self, **flags: Any) -> Settings:
        from ..config import load_settings

        # by repr: a flag may be a list (the engine's extra arguments)
        key = tuple(sorted((name, repr(value)) for name, value in flags.items() if value is not None))
        if key not in self._loaded:
            self._loaded[key] = load_settings(self.config, **flags)
        return self._loaded[key]


def invocation(ctx: typer.Context) -> Invocation:
    """The run's ``Invocation`` (a default one when a command runs without the root group, as some tests do)."""
    root = ctx.find_root()
    if not isinstance(root.obj, Invocation):
        root.obj = Invocation()
    return root.obj


def settings(ctx: typer.Context, **flags: Any) -> Settings:
    """Settings for this invocation: config file from the root ``--config``, then env, then these flags."""
    return invocation(ctx).settings(**flags)


def echo_json(data: Any) -> None:
    """Print ``data`` as the one JSON document of ``--format json``: indented, non-ASCII text as itself (UTF-8)."""
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def format_option(default: StrEnum = TableOrJson.table) -> Any:
    """The one ``--format/-f`` declaration: ``output: TableOrJson = format_option()``.

    The choices are ``default``'s enum; the help lists them (``Output: table or json.``)."""
    values = [member.value for member in type(default)]
    listed = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
    return typer.Option(default, "--format", "-f", help=f"Output: {listed}.")


def url_option(help: str) -> Any:
    """``--url``: the backend a command talks to (default: the ``url`` setting)."""
    return typer.Option(None, "--url", help=help)


def api_key_option() -> Any:
    """``--api-key`` (or ``$EDUBOT_API_KEY``): the bearer key the backend requires."""
    return typer.Option(
        None,
        "--api-key",
        envvar="EDUBOT_API_KEY",
        help="Bearer key the backend requires (default: api_key setting).",
    )


def local_option(help: str) -> Any:
    """``--local``: start the embedded engine and a backend of this command's own."""
    return typer.Option(False, "--local", help=help)


def taxonomy_option() -> Any:
    """``--taxonomy``: the taxonomy root (default: the ``taxonomy_path`` setting)."""
    return typer.Option(None, "--taxonomy", help="Taxonomy root (default: taxonomy_path).")


def max_tokens_option(default: int | None, help: str) -> Any:
    """``--max-tokens`` within the API's range."""
    return typer.Option(default, "--max-tokens", min=MAX_TOKENS_RANGE[0], max=MAX_TOKENS_RANGE[1], help=help)


def one_target(local: bool, **urls: str | None) -> None:
    """Refuse ``--local`` beside a URL flag (``url=``, ``engine_url=``): ``--local`` starts a backend of its own."""
    given = [f"--{name.replace('_', '-')}" for name, value in urls.items() if value]
    if local and given:
        raise UsageError(f"give either --local or {given[0]}, not both", hint="drop one of them")
