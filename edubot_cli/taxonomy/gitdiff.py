"""``validate --changed``: the qna.yaml files that differ from a git ref, untracked ones included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..gitrepo import GitError, repository

DEFAULT_BASES = ("origin/main", "HEAD")
"""Without ``--base``: the merge base with origin/main when that ref exists, else the last commit."""
WAY_OUT = "run without --changed to check every file"


@dataclass
class Selection:
    """Changed files and a one-line note on what was compared."""

    files: list[Path]
    note: str


def _names(listing: str) -> set[str]:
    return {name for name in listing.split("\0") if name}


def changed_files(paths: Sequence[Path], base: str | None = None) -> Selection:
    """qna.yaml/qna.yml files changed in the working tree against ``base`` (its merge base with HEAD).

    Raises ``GitError`` outside a git repository or for an unknown ``base`` (``gitrepo`` says how git fails)."""
    start = next((p for p in paths if p.exists()), Path.cwd())
    repo = repository(start if start.is_dir() else start.parent, WAY_OUT)
    has_head = repo.ref_exists("HEAD")
    if base is not None and not repo.ref_exists(base):
        raise GitError(
            f"git ref {base!r} does not exist in {repo.top}",
            hint="pass an existing branch, tag or commit to --base (e.g. --base main), or `git fetch` first",
        )
    names: set[str] = set()
    if base is None:
        base = next((b for b in DEFAULT_BASES if repo.ref_exists(b)), None)
    if base is not None and has_head:
        merge_base = repo.run("merge-base", base, "HEAD", check=False)
        compare = merge_base.stdout.strip() if merge_base.returncode == 0 else base
        if compare == repo.output("rev-parse", f"{base}^{{commit}}"):
            compare = base
        names |= _names(
            repo.run("diff", "--name-only", "-z", "--diff-filter=d", "--no-renames", compare).stdout
        )
        note = f"files changed against {base}" + (f" (merge base {compare[:12]})" if compare != base else "")
    else:
        names |= _names(repo.run("diff", "--name-only", "-z", "--cached", "--diff-filter=d").stdout)
        note = "files in a repository without commits"
    names |= _names(repo.run("ls-files", "--others", "--exclude-standard", "-z").stdout)
    files = sorted(repo.top / n for n in names if Path(n).name in ("qna.yaml", "qna.yml"))
    return Selection([f for f in files if f.exists()], note + ", untracked files included")
