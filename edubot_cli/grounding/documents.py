"""Find a knowledge leaf's markdown documents on this machine.

``document.repo`` is used when it is a local folder: an absolute path, a path relative to the taxonomy root, or
a ``file://`` URL. A remote URL (``https://…/name(.git)``, ``git@host:owner/name``) is used through a checkout
under ``docs_dir``: ``<docs_dir>/<name>`` or ``<docs_dir>/<owner>/<name>``. The checkout is taken as it is (the
leaf's ``commit`` is not checked out). ``document.patterns`` are globs inside that folder; only markdown files
(``.md``, ``.markdown``) that stay inside it are indexed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..taxonomy.model import DocumentRef

MARKDOWN_SUFFIXES = (".md", ".markdown")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP = re.compile(r"^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True, slots=True)
class Located:
    """Where a leaf's documents are: ``folder`` is None when they are not on this machine."""

    folder: Path | None
    remote: bool


def is_remote(repo: str) -> bool:
    return (bool(_URL.match(repo)) and not repo.lower().startswith("file://")) or bool(_SCP.match(repo))


def locate(repo: str, root: Path, docs_dir: Path | None = None) -> Located:
    """The local folder holding ``repo``'s files, if there is one."""
    if is_remote(repo):
        if docs_dir is None:
            return Located(None, True)
        parts = [p for p in re.split(r"[/:]", repo.rstrip("/")) if p]
        if not parts:
            return Located(None, True)
        name = parts[-1].removesuffix(".git")
        candidates = [docs_dir / name]
        if len(parts) >= 2:
            candidates.append(docs_dir / parts[-2] / name)
        for candidate in candidates:
            if candidate.is_dir():
                return Located(candidate, True)
        return Located(None, True)
    path_text = repo[len("file://") :] if repo.lower().startswith("file://") else repo
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = root / path
    return Located(path if path.is_dir() else None, False)


def _safe_pattern(pattern: str) -> bool:
    pure = PurePosixPath(pattern)
    return bool(pattern.strip()) and not pure.is_absolute() and ".." not in pure.parts


def document_files(ref: DocumentRef, folder: Path, root: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """The markdown files ``ref.patterns`` match in ``folder``, each with the name sources show for it, and
    the patterns that matched no markdown file. The name is the path relative to the taxonomy root when the
    file is inside it, else ``<repo less .git>/<path in the repo>``."""
    base = folder.resolve()
    root = root.resolve()
    found: dict[Path, str] = {}
    unmatched: list[str] = []
    for pattern in ref.patterns:
        matched = False
        if _safe_pattern(pattern):
            for path in sorted(base.glob(pattern)):
                if path.suffix.lower() not in MARKDOWN_SUFFIXES or not path.is_file():
                    continue
                real = path.resolve()
                if not real.is_relative_to(base):
                    continue  # a symlink out of the document folder
                matched = True
                if real in found:
                    continue
                if real.is_relative_to(root):
                    found[real] = real.relative_to(root).as_posix()
                else:
                    repo = ref.repo.rstrip("/").removesuffix(".git")
                    found[real] = f"{repo}/{real.relative_to(base).as_posix()}"
        if not matched:
            unmatched.append(pattern)
    return list(found.items()), unmatched
