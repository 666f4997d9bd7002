"""The one error path: EdubotError → one red line + hint on stderr, exit 1; tracebacks only with EDUBOT_DEBUG=1."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from edubot_cli.errors import ConfigError, EdubotError, UsageError, missing_extra
from tests.support.typer_apps import app_raising


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDUBOT_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def test_edubot_error_prints_message_and_hint_exit_1() -> None:
    result = CliRunner().invoke(
        app_raising(ConfigError("bad port 'x' in a.yaml:3:7", hint="use a number")), ["boom"]
    )
    assert result.exit_code == 1
    assert result.stderr == "error: bad port 'x' in a.yaml:3:7\nhint: use a number\n"
    assert result.stdout == ""


def test_error_without_hint_is_one_line() -> None:
    result = CliRunner().invoke(app_raising(EdubotError("nothing to do")), ["boom"])
    assert result.exit_code == 1
    assert result.stderr == "error: nothing to do\n"


def test_usage_error_subclass_exits_2() -> None:
    result = CliRunner().invoke(app_raising(UsageError("--a and --b exclude each other")), ["boom"])
    assert result.exit_code == 2
    assert result.stderr == "error: --a and --b exclude each other\n"


def test_markup_in_messages_is_printed_literally() -> None:
    result = CliRunner().invoke(app_raising(EdubotError("key [bold] in file", hint="[red]x[/red]")), ["boom"])
    assert result.stderr == "error: key [bold] in file\nhint: [red]x[/red]\n"


def test_unexpected_exception_has_no_traceback() -> None:
    result = CliRunner().invoke(app_raising(ZeroDivisionError("division by zero")), ["boom"])
    assert result.exit_code == 1
    assert result.stderr == (
        "internal error: ZeroDivisionError: division by zero\n"
        "hint: rerun with EDUBOT_DEBUG=1 for the traceback and report it\n"
    )
    assert "Traceback" not in result.output


def test_debug_reraises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_DEBUG", "1")
    result = CliRunner().invoke(app_raising(EdubotError("boom")), ["boom"])
    assert isinstance(result.exception, EdubotError)
    assert result.exit_code == 1


def test_keyboard_interrupt_exits_130() -> None:
    result = CliRunner().invoke(app_raising(KeyboardInterrupt()), ["boom"])
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"


def test_success_is_untouched() -> None:
    result = CliRunner().invoke(app_raising(EdubotError("unused")), ["fine"])
    assert result.exit_code == 0
    assert result.stdout == "ok\n"


def test_missing_extra_names_the_install_command() -> None:
    err = missing_extra("torch", "convert")
    assert err.message == "torch is not installed (it comes with the 'convert' extra)"
    assert err.hint == "run `make install` or `pip install 'edubot[convert]'`"


def test_help_never_loads_settings(tmp_path) -> None:
    import subprocess
    import sys

    missing = tmp_path / "nope.yaml"
    out = subprocess.run(
        [sys.executable, "-m", "edubot_cli", "--config", str(missing), "doctor", "--help"],
        capture_output=True,
        text=True,
    )
    # --help never loads settings, so it still works with a missing config file.
    assert out.returncode == 0
