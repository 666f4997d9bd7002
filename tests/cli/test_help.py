"""Every command's --help works with the heavy libraries blocked, and lists what it should."""

from __future__ import annotations

import json
import subprocess
import sys

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
    results[" ".join(p)] = [r.exit_code, r.output[:4000], repr(r.exception) if r.exit_code else None]
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
    for cmd in ["", "taxonomy", "data", "model", "model train", "serve", "chat", "doctor"]:
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
