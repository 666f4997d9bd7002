"""Finding the ``ilab`` executable, reading its version, and spotting the broken install it is known for.

``instructlab`` lives in its own virtual environment (``make ilab-venv`` makes ``.ilab-venv``); edubot never
imports it. Lookup order: the ``ilab_path`` setting, then ``PATH``, then ``.ilab-venv/bin/ilab`` in the working
directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LabError

if TYPE_CHECKING:
    from ..config import Settings

MIN_VERSION = (0, 26, 0)
"""Oldest ilab whose command line and output layout edubot knows (tested with 0.26.1)."""
TESTED_VERSION = "0.26.1"
PROJECT_VENV_ILAB = Path(".ilab-venv/bin/ilab")
VERSION_TIMEOUT = 120.0
"""Seconds ``ilab --version`` may take (its first start on a cold disk is slow)."""

INSTALL_HINT = (
    f"run `make ilab-venv` (installs instructlab=={TESTED_VERSION} with configs/ilab-constraints.txt into .ilab-venv), "
    "or point the `ilab_path` setting (EDUBOT_ILAB_PATH) at an existing ilab"
)
CONSTRAINTS_HINT = (
    "repair the ilab venv with the pins from configs/ilab-constraints.txt: "
    "`{pip} install 'datasets>=3,<4' 'pyarrow>=15,<18'` (or remove .ilab-venv and run `make ilab-venv`)"
)

_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Ilab:
    """An ``ilab`` executable that answered ``--version``."""

    path: Path
    version: str


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first ``X.Y.Z`` in ``text`` (``ilab --version`` prints ``ilab, version 0.26.1``)."""
    match = _VERSION_RE.search(text)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None


def locate_ilab(settings: Settings) -> Path:
    """The ilab executable the settings point at, without running it; ``LabError`` when there is none."""
    if settings.ilab_path is not None:
        path = Path(settings.ilab_path).expanduser()
        if not path.is_file():
            raise LabError(
                f"ilab_path {path} does not exist or is not a file",
                hint="fix `ilab_path` (config or EDUBOT_ILAB_PATH), or unset it to look on PATH; "
                + INSTALL_HINT,
            )
        if not os.access(path, os.X_OK):
            raise LabError(
                f"ilab_path {path} is not executable", hint=f"chmod +x {path}, or point ilab_path at bin/ilab"
            )
        return path
    found = shutil.which("ilab")
    if found:
        return Path(found)
    if PROJECT_VENV_ILAB.is_file():
        return PROJECT_VENV_ILAB.absolute()
    raise LabError(
        "ilab (InstructLab) was not found: not set in `ilab_path`, not on PATH, no .ilab-venv/bin/ilab",
        hint=INSTALL_HINT,
    )


def find_ilab(settings: Settings) -> Ilab:
    """Locate ilab and read its version; ``LabError`` when it is missing, broken or older than MIN_VERSION."""
    path = locate_ilab(settings)
    try:
        done = subprocess.run(
            [str(path), "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(
            f"`{path} --version` did not answer within {VERSION_TIMEOUT:.0f} s", hint=INSTALL_HINT
        ) from exc
    except OSError as exc:
        raise LabError(f"cannot run {path}: {exc.strerror}", hint=INSTALL_HINT) from exc
    output = (done.stdout + done.stderr).strip()
    version = parse_version(done.stdout) if done.returncode == 0 else None
    if version is None:
        last = output.splitlines()[-1] if output else "(no output)"
        raise LabError(
            f"`{path} --version` failed (exit code {done.returncode}): {last}",
            hint=_repair_hint(path, output),
        )
    if version < MIN_VERSION:
        found = ".".join(map(str, version))
        minimum = ".".join(map(str, MIN_VERSION))
        raise LabError(
            f"{path} is ilab {found}; edubot needs ilab {minimum} or newer",
            hint=f"upgrade it, e.g. `make ilab-venv` (instructlab=={TESTED_VERSION})",
        )
    return Ilab(path=path, version=".".join(map(str, version)))


def venv_python(ilab: Path) -> Path | None:
    """The Python interpreter of the virtual environment ``ilab`` was installed into (from its shebang)."""
    try:
        with Path(ilab).open("rb") as stream:
            first = stream.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    interpreter = first[2:].decode(errors="replace").strip().split()[0] if first[2:].strip() else ""
    return Path(interpreter) if interpreter else None


def _repair_hint(ilab: Path, output: str) -> str:
    if is_numpy_pyarrow_error(output):
        python = venv_python(ilab)
        pip = f"{python} -m pip" if python else "pip"
        return CONSTRAINTS_HINT.format(pip=pip)
    return INSTALL_HINT


def is_numpy_pyarrow_error(output: str) -> bool:
    """Whether ilab's output shows the numpy<2 / new pyarrow clash (fixed by configs/ilab-constraints.txt)."""
    lowered = output.lower()
    return "pyarrow" in lowered and "numpy" in lowered and ("2.0" in lowered or "numpy 2" in lowered)


@dataclass(frozen=True)
class VenvHealth:
    """What importing ilab's data stack in its own venv showed."""

    python: Path
    ok: bool
    detail: str
    hint: str = ""


IMPORT_PROBE = (
    "import numpy, pyarrow, datasets; "
    "print(f'numpy {numpy.__version__}, pyarrow {pyarrow.__version__}, datasets {datasets.__version__}')"
)


def check_venv(ilab: Path, timeout: float = 120.0) -> VenvHealth | None:
    """Import numpy, pyarrow and datasets with the interpreter of ilab's venv (a subprocess; edubot imports none
    of them) and say whether they work together. None when that interpreter cannot be found."""
    python = venv_python(ilab)
    if python is None or not python.name.startswith("python") or not python.is_file():
        return None
    try:
        done = subprocess.run(
            [str(python), "-c", IMPORT_PROBE],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return VenvHealth(python, False, f"cannot run {python}: {exc}", hint=INSTALL_HINT)
    if done.returncode == 0:
        return VenvHealth(python, True, done.stdout.strip())
    output = (done.stdout + done.stderr).strip()
    last = output.splitlines()[-1] if output else f"exit code {done.returncode}"
    if is_numpy_pyarrow_error(output):
        return VenvHealth(
            python,
            False,
            f"numpy and pyarrow in ilab's venv do not work together: {last}",
            hint=CONSTRAINTS_HINT.format(pip=f"{python} -m pip"),
        )
    return VenvHealth(python, False, f"importing numpy/pyarrow/datasets fails: {last}", hint=INSTALL_HINT)
