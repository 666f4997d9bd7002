"""One declaration per shared option (`--format`, `--url`, `--api-key`, `--local`, `--taxonomy`, `--max-tokens`), one JSON
printer, one console factory and settings loaded once per run, for the commands (commands/_common.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edubot_cli.commands._common import TableOrJson, echo_json, format_option
from edubot_cli.console import rich_console

PACKAGE = Path(__file__).parents[2] / "edubot_cli"
# taxonomy.py is maintained separately and still declares its own --format options.
USERS = [
    "main.py",
    *(
        f"commands/{name}"
        for name in (
            "doctor.py",
            "model.py",
            "serve.py",
            "engine.py",
            "chat.py",
            "data.py",
            "model_train.py",
            "_lab_render.py",
        )
    ),
]


@pytest.mark.parametrize("name", USERS)
def test_no_command_declares_its_own_format_option_or_console(name: str) -> None:
    source = (PACKAGE / name).read_text()
    assert '"--format"' not in source
    assert "Console(" not in source


class Three(StrEnum):
    table = "table"
    json = "json"
    github = "github"


def test_format_option_lists_the_choices_of_its_enum() -> None:
    app = typer.Typer()

    @app.command()
    def three(output: Three = format_option(Three.table)) -> None:
        typer.echo(output.value)

    @app.command()
    def two(output: TableOrJson = format_option()) -> None:
        typer.echo(output.value)

    runner = CliRunner()
    assert runner.invoke(app, ["three", "-f", "github"]).output == "github\n"
    assert runner.invoke(app, ["three"]).output == "table\n"
    assert runner.invoke(app, ["two", "--format", "json"]).output == "json\n"
    assert runner.invoke(app, ["two", "-f", "github"]).exit_code == 2
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    assert "Output: table, json or github." in runner.invoke(app, ["three", "--help"], env=env).output
    assert "Output: table or json." in runner.invoke(app, ["two", "--help"], env=env).output


def test_rich_console_never_breaks_lines_when_piped() -> None:
    out, err = rich_console(), rich_console(stderr=True)
    assert (out.width, err.width) == (200, 200)  # pytest captures both: not terminals
    assert out.soft_wrap and err.soft_wrap
    assert err.stderr and not out.stderr
    with out.capture() as captured:
        out.print("x" * 500)
    assert captured.get() == "x" * 500 + "\n"


# _common.py holds echo_json; eval's report documents (json, html, markdown) come from evaluation.document.
@pytest.mark.parametrize(
    "name", [p.name for p in sorted((PACKAGE / "commands").glob("*.py")) if p.name != "_common.py"]
)
def test_no_command_prints_json_of_its_own(name: str) -> None:
    assert "json.dumps(" not in (PACKAGE / "commands" / name).read_text()


def test_echo_json_prints_one_indented_document_with_text_as_itself(
    capsys: pytest.CaptureFixture[str],
) -> None:
    echo_json({"leaf": "Géographie", "count": 2})
    assert capsys.readouterr().out == '{\n  "leaf": "Géographie",\n  "count": 2\n}\n'


SHARED_OPTIONS = ('"--url"', '"--api-key"', '"--local"', '"--taxonomy"', '"--max-tokens"')


@pytest.mark.parametrize(
    "name", [p.name for p in sorted((PACKAGE / "commands").glob("*.py")) if p.name != "_common.py"]
)
def test_the_shared_options_are_declared_once(name: str) -> None:
    source = (PACKAGE / "commands" / name).read_text()
    assert [flag for flag in SHARED_OPTIONS if flag in source] == []


def test_settings_are_loaded_once_per_set_of_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from edubot_cli import config
    from edubot_cli.commands._common import Invocation

    loads: list[dict[str, object]] = []
    real = config.load_settings

    def counted(path: Path | None = None, **flags: object) -> object:
        loads.append(flags)
        return real(path, **flags)

    monkeypatch.setattr(config, "load_settings", counted)
    monkeypatch.chdir(tmp_path)
    run = Invocation(None)
    first = run.settings(url="http://127.0.0.1:9000", taxonomy_path=None)
    assert run.settings(url="http://127.0.0.1:9000") is first  # a flag left at None is no flag
    other = run.settings(url="http://127.0.0.1:9001")
    extra = run.settings(engine_args=["--temp", "0.2"])  # a list is a flag too
    assert run.settings(engine_args=["--temp", "0.2"]) is extra and extra.engine_args == ["--temp", "0.2"]
    assert (first.url, other.url) == ("http://127.0.0.1:9000", "http://127.0.0.1:9001")
    assert loads == [
        {"url": "http://127.0.0.1:9000", "taxonomy_path": None},
        {"url": "http://127.0.0.1:9001"},
        {"engine_args": ["--temp", "0.2"]},
    ]
