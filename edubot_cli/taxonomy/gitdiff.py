"""``validate --changed``: the qna.yaml files that differ from a git ref, untracked ones included."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import TaxonomyError

DEFAULT_BASES = ("origin/main", "HEAD")
"""Without ``--base``: the merge base with origin/main when that ref exists, else the last commit."""


@dataclass
class Selection:
    """Changed files (None outside a git repository) and a one-line note on what was compared."""

    files: list[Path] | None
    note: str


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return subprocess.CompletedProcess(["git", *args], 127, "", "git is not installed")


def _ref_exists(top: Path, ref: str) -> bool:
    return _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0


def changed_files(paths: Sequence[Path], base: str | None = None) -> Selection:
    """qna.yaml/qna.yml files changed in the working tree against ``base`` (its merge base with HEAD)."""
    start = next((p for p in paths if p.exists()), Path.cwd())
    cwd = start if start.is_dir() else start.parent
    top_proc = _git(cwd, "rev-parse", "--show-toplevel")
    if top_proc.returncode != 0:
        return Selection(None, f"{cwd} is not inside a git repository")
    top = Path(top_proc.stdout.strip())
    has_head = _ref_exists(top, "HEAD")
    if base is not None and not _ref_exists(top, base):
        raise TaxonomyError(
            f"git ref {base!r} does not exist in {top}",
            hint="pass an existing branch, tag or commit to --base (e.g. --base main), or `git fetch` first",
        )
    names: set[str] = set()
    if base is None:
        base = next((b for b in DEFAULT_BASES if _ref_exists(top, b)), None)
    if base is not None and has_head:
        merge_base = _git(top, "merge-base", base, "HEAD")
        compare = merge_base.stdout.strip() if merge_base.returncode == 0 else base
        if compare == _git(top, "rev-parse", f"{base}^{{commit}}").stdout.strip():
            compare = base
        diff = _git(top, "diff", "--name-only", "-z", "--diff-filter=d", "--no-renames", compare)
        if diff.returncode != 0:
            raise TaxonomyError(f"git diff against {base} failed: {diff.stderr.strip()}", hint="check --base")
        names.update(n for n in diff.stdout.split("\0") if n)
        note = f"files changed against {base}" + (f" (merge base {compare[:12]})" if compare != base else "")
    else:
        staged = _git(top, "diff", "--name-only", "-z", "--cached", "--diff-filter=d")
        names.update(n for n in staged.stdout.split("\0") if n)
        note = "files in a repository without commits"
    untracked = _git(top, "ls-files", "--others", "--exclude-standard", "-z")
    names.update(n for n in untracked.stdout.split("\0") if n)
    files = sorted(top / n for n in names if Path(n).name in ("qna.yaml", "qna.yml"))
    return Selection([f for f in files if f.exists()], note + ", untracked files included")
