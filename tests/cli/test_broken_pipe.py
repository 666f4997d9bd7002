"""A closed stdout (`edubot ... | head`) ends every command quietly with 141 (128 + SIGPIPE), like Unix tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli import main as cli_main
from edubot_cli.main import EXIT_BROKEN_PIPE
from tests.support.typer_apps import app_raising


def _run_into_closed_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run edubot with stdout on a pipe whose reader has already gone: the first write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env["COLUMNS"] = "120"
    try:
        return subprocess.run(
            [sys.executable, "-m", "edubot_cli", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--help"],
        ["--help"],
        ["--version"],
        ["model", "list"],
        ["model", "list", "--format", "json"],
        ["doctor", "--quick", "--format", "json"],
    ],
    ids=" ".join,
)
def test_closed_stdout_exits_141_without_a_message(args: list[str], tmp_path: Path) -> None:
    done = _run_into_closed_pipe(args, tmp_path)
    assert done.returncode == 141
    assert done.stderr == ""


def test_head_closing_early_leaves_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        f"{sys.executable} -m edubot_cli serve --help | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 1


def test_broken_stdout_inside_a_command_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "_reader_gone", lambda fd: True)
    monkeypatch.setattr(cli_main, "_silence_stdout", lambda: None)
    result = CliRunner().invoke(app_raising(BrokenPipeError(32, "Broken pipe")), ["boom"])
    assert result.exit_code == EXIT_BROKEN_PIPE == 141
    assert result.stderr == ""


def test_broken_pipe_elsewhere_is_still_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket or child pipe breaking while stdout is fine is a real failure, reported as before."""
    monkeypatch.delenv("EDUBOT_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(cli_main, "_reader_gone", lambda fd: False)
    result = CliRunner().invoke(app_raising(BrokenPipeError(32, "Broken pipe")), ["boom"])
    assert result.exit_code == 1
    assert result.stderr.startswith("internal error: BrokenPipeError: [Errno 32] Broken pipe\n")
