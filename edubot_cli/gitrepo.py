"""Asking git about a working tree, the one way edubot does (``taxonomy validate --changed``, the default
``--taxonomy-base`` of ``data generate``).

git runs as ``git -C <folder>``, with no input and a time limit, and fails one way wherever it is asked: git missing
is a ``MissingDependencyError``; a folder outside any repository, a command that fails or hangs is a ``GitError``.
Each carries a hint that ends with the way out the caller offers (``way_out``: a flag that needs no git).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import EdubotError, MissingDependencyError

TIMEOUT = 30.0
"""Seconds one git command may take."""


class GitError(EdubotError):
    """git could not answer: the folder is in no repository, or a git command failed."""


@dataclass(frozen=True)
class Repo:
    """A git working tree: its top-level folder, and the way out its errors suggest."""

    top: Path
    way_out: str

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``git args`` at the top of the tree; a failure (non-zero exit) is a ``GitError`` unless not ``check``."""
        return _git(self.top, args, self.way_out, check=check)

    def output(self, *args: str) -> str:
        """What ``git args`` prints, stripped."""
        return self.run(*args).stdout.strip()

    def ref_exists(self, ref: str) -> bool:
        """Whether ``ref`` names a commit here (a branch, tag, remote branch or commit id)."""
        return self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).returncode == 0


def repository(folder: Path, way_out: str) -> Repo:
    """The repository ``folder`` is in; a ``GitError`` when it is in none."""
    found = _git(folder, ("rev-parse", "--show-toplevel"), way_out, check=False)
    if found.returncode != 0:
        raise GitError(
            f"{folder} is not inside a git repository",
            hint=f"run `git init` there (and commit) first, or {way_out}",
        )
    return Repo(Path(found.stdout.strip()), way_out)


def init_repository(folder: Path, way_out: str) -> Repo:
    """The repository whose top is ``folder``, made (``git init``, branch ``main``) when there is none there yet.

    Only a ``.git`` in ``folder`` itself counts: a folder inside another repository gets its own."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / ".git").exists():
        _git(folder, ("init", "--quiet", "--initial-branch=main"), way_out, check=True)
    return Repo(folder.resolve(), way_out)


def config_value(key: str, folder: Path | None = None) -> str | None:
    """git's configured ``key`` (e.g. ``user.name``) as seen from ``folder``, or None when unset or git is
    missing: a default, never a requirement."""
    try:
        done = _git(folder or Path.cwd(), ("config", "--get", key), "", check=False)
    except (GitError, MissingDependencyError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def _git(
    folder: Path, args: tuple[str, ...], way_out: str, *, check: bool
) -> subprocess.CompletedProcess[str]:
    command = ["git", "-C", str(folder), *args]
    try:
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except FileNotFoundError as exc:
        raise MissingDependencyError(
            "git is not installed (or not on PATH)",
            hint=f"install git (e.g. `apt-get install -y git`), or {way_out}",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(
            f"`git {' '.join(args)}` in {folder} did not finish within {TIMEOUT:g} s",
            hint=f"check the repository (a lock, a network file system), or {way_out}",
        ) from exc
    except OSError as exc:
        raise MissingDependencyError(
            f"cannot run git: {exc.strerror}", hint=f"check git's installation, or {way_out}"
        ) from exc
    if check and done.returncode != 0:
        detail = (
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}"
        )
        raise GitError(
            f"`git {' '.join(args)}` failed in {folder}: {detail}", hint=f"check the repository, or {way_out}"
        )
    return done
