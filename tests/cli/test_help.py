"""Every command's --help works with the heavy libraries blocked, and lists what it should."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = [
    "torch",
    "transformers",
    "vllm",
    "llama_cpp",
    "safetensors",
    "fastapi",
    "uvicorn",
    "prometheus_client",
    "gguf",
    "numpy",
    "playwright",
    "starlette",
    "huggingface_hub",
    "sqlalchemy",
    "alembic",
    "psycopg",
]

# Runs in a child interpreter so the blocked modules cannot leak into other tests.
PROBE = r"""
import json, sys
for name in HEAVY:
    sys.modules[name] = None  # any import of it now raises ImportError
import typer, typer.main
from typer.testing import CliRunner
from edubot_cli.main import app

root = typer.main.get_command(app)
paths = []
def walk(cmd, prefix):
    paths.append(prefix)
    if hasattr(cmd, "list_commands"):
        ctx = typer.Context(cmd)
        for name in cmd.list_commands(ctx):
            walk(cmd.get_command(ctx, name), prefix + [name])
walk(root, [])
runner = CliRunner()
results = {}
for p in paths:
    r = runner.invoke(app, p + ["--help"], prog_name="edubot")
    results[" ".join(p)] = [r.exit_code, r.output[:20000], repr(r.exception) if r.exit_code else None]
loaded = sorted(n for n in HEAVY if sys.modules.get(n) is not None)
print(json.dumps({"results": results, "loaded": loaded}))
"""


def _probe() -> dict:
    code = f"HEAVY = {HEAVY!r}\n" + PROBE
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    return json.loads(out.stdout)


def test_every_help_works_without_heavy_imports() -> None:
    probe = _probe()
    results = probe["results"]
    failures = {cmd: (code, exc) for cmd, (code, _, exc) in results.items() if code != 0}
    assert failures == {}
    assert probe["loaded"] == []
    # The whole lifecycle is reachable from the root.
    for cmd in [
        "",
        "taxonomy",
        "data",
        "model",
        "model train",
        "serve",
        "chat",
        "doctor",
        "class",
        "class create",
    ]:
        assert cmd in results
    for cmd, (_, output, _) in results.items():
        assert "Usage: edubot" in output, cmd


def test_root_help_lists_groups() -> None:
    results = _probe()["results"]
    root_help = results[""][1]
    for name in ["taxonomy", "data", "model", "serve", "chat", "doctor", "--config", "--version"]:
        assert name in root_help


def test_version_and_module_entry_point() -> None:
    from edubot_cli import __version__

    out = subprocess.run([sys.executable, "-m", "edubot_cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout == f"edubot {__version__}\n"


def test_no_arguments_shows_help_with_usage_exit_code() -> None:
    out = subprocess.run([sys.executable, "-m", "edubot_cli"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Usage: edubot" in out.stdout + out.stderr


def test_unknown_command_is_a_usage_error() -> None:
    out = subprocess.run([sys.executable, "-m", "edubot_cli", "frobnicate"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "No such command 'frobnicate'" in out.stderr


def _help(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    from typer.testing import CliRunner

    from edubot_cli.main import app

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="edubot")
    assert result.exit_code == 0, result.output
    return result.output


def _row(output: str, option: str) -> str:
    """The help row of ``option``, its box border and padding squeezed: `--port -p INTEGER Port of …`."""
    for line in output.splitlines():
        cells = line.strip("│ ").split()
        if cells and cells[0] == option:
            return " ".join(cells)
    raise AssertionError(f"{option} not in help:\n{output}")


def test_flags_show_no_value_label(monkeypatch: pytest.MonkeyPatch) -> None:
    serve = _help(monkeypatch, "serve")
    assert _row(serve, "--engine-log") == "--engine-log Show the engine's output live (it is always logged)."
    assert _row(serve, "--help") == "--help -h Show this message and exit."
    root = _help(monkeypatch)
    assert _row(root, "--version") == "--version Show the version."
    assert (
        _row(root, "--install-completion") == "--install-completion Install completion for the current shell."
    )


def test_values_show_their_type_in_capitals_once(monkeypatch: pytest.MonkeyPatch) -> None:
    serve = _help(monkeypatch, "serve")
    assert _row(serve, "--engine-url").startswith("--engine-url TEXT OpenAI-compatible engine URLs")
    assert _row(serve, "--port").startswith("--port -p INTEGER Port of the backend")
    assert _row(serve, "--model").startswith("--model -m PATH Model to serve")
    assert _row(serve, "--ready-timeout").startswith("--ready-timeout FLOAT Seconds")
    assert _row(serve, "ENGINE_ARGS").startswith("ENGINE_ARGS TEXT Extra arguments")
    inspect = _help(monkeypatch, "model", "inspect")
    assert _row(inspect, "--format").startswith("--format -f [table|json] Output: table or json.")
    assert _row(_help(monkeypatch), "--config").startswith("--config -c FILE Config file")


def test_arguments_show_uppercase_names(monkeypatch: pytest.MonkeyPatch) -> None:
    inspect = _help(monkeypatch, "model", "inspect")
    assert "Usage: edubot model inspect [OPTIONS] PATH\n" in inspect.replace(" \n", "\n").replace("  ", "")
    assert _row(inspect, "*").startswith("* PATH A model folder")
    serve = _help(monkeypatch, "serve")
    assert "Usage: edubot serve [OPTIONS] [ENGINE_ARGS]..." in serve


def test_no_python_type_labels_anywhere() -> None:
    labels = (
        "<bool>",
        "<str>",
        "<int>",
        "<float>",
        "<path>",
        "<file>",
        "<dir>",
        "<list[",
        "{path}",
        "<table|json>",
    )
    for cmd, (_, output, _) in _probe()["results"].items():
        assert [label for label in labels if label in output] == [], cmd


def test_root_help_has_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    root = _help(monkeypatch)
    assert "Examples:" in root
    assert "edubot serve" in root
    assert 'edubot chat -q "What is photosynthesis?"' in root


def test_missing_argument_names_it_in_capitals(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from edubot_cli.main import app

    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(app, ["model", "inspect"], prog_name="edubot")
    assert result.exit_code == 2
    assert "Missing argument 'PATH'." in result.stderr
