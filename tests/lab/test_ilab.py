"""Finding ilab, reading its version, and recognising the broken numpy/pyarrow install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.config import load_settings
from edubot_cli.errors import LabError
from edubot_cli.lab.ilab import check_venv, find_ilab, is_numpy_pyarrow_error, parse_version, venv_python
from edubot_cli.main import app
from tests.lab.fake_ilab import FakeIlab

runner = CliRunner()
PYARROW_ERROR = "ImportError: pyarrow requires NumPy 2.0 or newer, found 1.26.4"  # as pyarrow 26 says


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(0o755)
    return path


def test_version_from_the_setting(fake_ilab: FakeIlab) -> None:
    ilab = find_ilab(load_settings())
    assert (ilab.path, ilab.version, parse_version(ilab.version)) == (fake_ilab.path, "0.26.1", (0, 26, 1))


def test_found_on_path(fake_ilab: FakeIlab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDUBOT_ILAB_PATH")
    monkeypatch.setenv("PATH", str(fake_ilab.path.parent))
    assert find_ilab(load_settings()).path == fake_ilab.path


def test_found_in_the_project_venv(fake_ilab: FakeIlab, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDUBOT_ILAB_PATH")
    monkeypatch.setenv("PATH", str(work / "empty"))
    local = FakeIlab(work / ".ilab-venv" / "bin")
    assert find_ilab(load_settings()).path == local.path.absolute()


def test_missing_everywhere_points_at_make_ilab_venv(
    taxonomy: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(work / "empty"))
    result = runner.invoke(app, ["data", "generate"])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert (
        "ilab (InstructLab) was not found: not set in `ilab_path`, not on PATH, no .ilab-venv/bin/ilab"
        in flat
    )
    assert (
        "hint: run `make ilab-venv` (installs instructlab==0.26.1 with configs/ilab-constraints.txt" in flat
    )


def test_a_wrong_ilab_path(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_ILAB_PATH", str(work / "nope" / "ilab"))
    with pytest.raises(LabError) as info:
        find_ilab(load_settings())
    assert info.value.message == f"ilab_path {work / 'nope' / 'ilab'} does not exist or is not a file"
    not_executable = work / "ilab"
    not_executable.write_text("")
    monkeypatch.setenv("EDUBOT_ILAB_PATH", str(not_executable))
    with pytest.raises(LabError, match="is not executable"):
        find_ilab(load_settings())


def test_too_old(fake_ilab: FakeIlab) -> None:
    fake_ilab.set(version="0.21.2")
    with pytest.raises(LabError) as info:
        find_ilab(load_settings())
    assert info.value.message == f"{fake_ilab.path} is ilab 0.21.2; edubot needs ilab 0.26.0 or newer"
    assert "make ilab-venv" in (info.value.hint or "")


def test_version_failing_with_the_pyarrow_error_names_the_constraints(fake_ilab: FakeIlab) -> None:
    fake_ilab.set(version_error=PYARROW_ERROR)
    with pytest.raises(LabError) as info:
        find_ilab(load_settings())
    assert info.value.message == f"`{fake_ilab.path} --version` failed (exit code 1): {PYARROW_ERROR}"
    assert info.value.hint == (
        "repair the ilab venv with the pins from configs/ilab-constraints.txt: "
        f"`{sys.executable} -m pip install 'datasets>=3,<4' 'pyarrow>=15,<18'` "
        "(or remove .ilab-venv and run `make ilab-venv`)"
    )


def test_version_failing_otherwise(fake_ilab: FakeIlab) -> None:
    fake_ilab.set(version_error="Traceback: something else")
    with pytest.raises(LabError) as info:
        find_ilab(load_settings())
    assert "make ilab-venv" in (info.value.hint or "")


def test_parse_version() -> None:
    assert parse_version("ilab, version 0.26.1") == (0, 26, 1)
    assert parse_version("ilab, version 1.2.3rc1") == (1, 2, 3)
    assert parse_version("no version") is None


def test_pyarrow_error_recognition() -> None:
    assert is_numpy_pyarrow_error(PYARROW_ERROR)
    assert is_numpy_pyarrow_error(
        "A module that was compiled using NumPy 1.x cannot be run in NumPy 2.0 (pyarrow)"
    )
    assert not is_numpy_pyarrow_error("ImportError: No module named pyarrow")


def test_venv_python_from_the_shebang(tmp_path: Path) -> None:
    ilab = script(tmp_path / "bin" / "ilab", "print('x')")
    assert venv_python(ilab) == Path(sys.executable)
    binary = tmp_path / "binary"
    binary.write_bytes(b"\x7fELF")
    assert venv_python(binary) is None
    assert venv_python(tmp_path / "missing") is None


def test_check_venv_detects_the_broken_combination(tmp_path: Path) -> None:
    python = script(
        tmp_path / "venv" / "bin" / "python",
        f"import sys\nprint('Traceback ...', file=sys.stderr)\nprint({PYARROW_ERROR!r}, file=sys.stderr)\nsys.exit(1)",
    )
    ilab = tmp_path / "venv" / "bin" / "ilab"
    ilab.write_text(f"#!{python}\n")
    health = check_venv(ilab)
    assert health is not None and not health.ok
    assert health.detail == f"numpy and pyarrow in ilab's venv do not work together: {PYARROW_ERROR}"
    assert f"`{python} -m pip install 'datasets>=3,<4' 'pyarrow>=15,<18'`" in health.hint


@pytest.mark.ilab
def test_check_venv_on_the_real_ilab_venv(real_ilab: Path) -> None:
    health = check_venv(real_ilab)
    assert health is not None and health.ok, health
    assert (
        health.detail.startswith("numpy 1.")
        and ", pyarrow " in health.detail
        and ", datasets 3." in health.detail
    )


def test_check_venv_without_an_interpreter(tmp_path: Path) -> None:
    ilab = tmp_path / "ilab"
    ilab.write_text("#!/nonexistent/python\n")
    assert check_venv(ilab) is None


def test_doctor_reports_the_broken_combination(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edubot_cli import doctor

    python = script(
        tmp_path / "venv" / "bin" / "python3.11",
        f"import sys\nprint({PYARROW_ERROR!r}, file=sys.stderr)\nsys.exit(1)",
    )
    ilab = script(tmp_path / "venv" / "bin" / "ilab", "")
    ilab.write_text(f"#!{python}\n")
    monkeypatch.setenv("EDUBOT_ILAB_PATH", str(ilab))
    [check] = doctor.check_ilab_venv(load_settings())
    assert (check.name, check.ok, check.required) == ("ilab venv", False, False)
    assert check.detail == f"numpy and pyarrow in ilab's venv do not work together: {PYARROW_ERROR}"
    assert check.hint.startswith("repair the ilab venv with the pins from configs/ilab-constraints.txt")

    shell_ilab = script(tmp_path / "sh" / "ilab", "")
    shell_ilab.write_text("#!/bin/sh\n")
    monkeypatch.setenv("EDUBOT_ILAB_PATH", str(shell_ilab))
    assert doctor.check_ilab_venv(load_settings()) == []  # not a Python venv: nothing to check
    monkeypatch.setenv("EDUBOT_ILAB_PATH", str(tmp_path / "missing"))
    assert doctor.check_ilab_venv(load_settings()) == []  # the `ilab` row already says it is missing


@pytest.mark.ilab
def test_doctor_on_the_real_ilab_venv(real_ilab: Path, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edubot_cli import doctor

    monkeypatch.setenv("EDUBOT_ILAB_PATH", str(real_ilab))
    [check] = doctor.check_ilab_venv(load_settings())
    assert check.ok and check.detail.startswith("numpy 1.26")
