"""The project's own document repository, ``knowledge_docs/`` beside the taxonomy.

InstructLab reads a knowledge leaf's documents from a git repository at a commit (``document.repo``, ``commit``,
``patterns``). A teacher has files, not repositories: ``taxonomy add --document FILE`` converts each file to
Markdown (``doc_convert``), keeps it under ``knowledge_docs/<leaf path less knowledge/>/`` (a PDF or Word original
beside it, under ``originals/``), commits, and the leaf points at that commit with a ``file://`` URL that ``ilab``
can clone and edubot's grounding reads in place.

``plan`` checks everything and writes nothing; ``commit`` writes and commits the planned files.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import TaxonomyError
from ..fileio import write_atomic
from ..gitrepo import init_repository
from .doc_convert import Converted

FOLDER = "knowledge_docs"
PENDING_COMMIT = "0" * 40
"""Stands in for the commit until the documents are committed (a dry run shows it)."""

_WAY_OUT = "pass --repo, --commit and --pattern for documents already in a git repository"


def repo_folder(taxonomy_root: Path) -> Path:
    """Where the project's documents live: beside the taxonomy root."""
    return taxonomy_root.resolve().parent / FOLDER


@dataclass
class Plan:
    """What ``commit`` will write: Markdown (and originals) under ``folder``, matched by ``patterns``."""

    repo: Path
    folder: PurePosixPath
    files: list[tuple[PurePosixPath, bytes]] = field(default_factory=list)
    originals: list[tuple[PurePosixPath, Path]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.repo.as_uri()

    @property
    def patterns(self) -> list[str]:
        return [str(path) for path, _ in self.files]


def _stem(path: Path) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_") or "document"


def plan(documents: list[Converted], leaf: PurePosixPath, repo: Path, *, force: bool) -> Plan:
    """Where each converted document goes; a ``TaxonomyError`` when two share a name or a different file of
    that name is already kept (unless ``force``)."""
    folder = PurePosixPath(*leaf.parts[1:])
    result = Plan(repo, folder)
    seen: dict[str, Path] = {}
    for doc in documents:
        name = _stem(doc.source) + ".md"
        if name in seen:
            raise TaxonomyError(
                f"{seen[name]} and {doc.source} would both be kept as {folder / name}",
                hint="rename one of them",
            )
        seen[name] = doc.source
        target = folder / name
        data = doc.markdown.encode("utf-8")
        existing = repo / target
        if existing.exists() and not force and existing.read_bytes() != data:
            raise TaxonomyError(
                f"{existing} already holds a different document",
                hint="pass --force to replace it, or rename your file",
            )
        result.files.append((target, data))
        if doc.kind in ("pdf", "docx"):
            result.originals.append((folder / "originals" / doc.source.name, doc.source))
    return result


def commit(planned: Plan, author: str) -> str:
    """Write the planned files, commit them (nothing new: the current commit) and return the commit SHA."""
    git = init_repository(planned.repo, _WAY_OUT)
    for relative, data in planned.files:
        target = planned.repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
    for relative, source in planned.originals:
        target = planned.repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, target)
        except OSError as exc:
            raise TaxonomyError(
                f"cannot copy {source}: {exc.strerror}", hint="check the folders' permissions"
            ) from exc
    git.run("add", "--", str(planned.folder))
    staged = git.run("diff", "--cached", "--quiet", check=False).returncode != 0
    has_head = git.run("rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode == 0
    if staged or not has_head:
        identity: list[str] = []
        if git.run("config", "--get", "user.email", check=False).returncode != 0:
            # No git identity on this machine: the commit still needs one.
            identity = ["-c", f"user.name={author}", "-c", "user.email=edubot@localhost"]
        git.run(*identity, "commit", "--quiet", "--allow-empty", "-m", f"Documents for {planned.folder}")
    return git.output("rev-parse", "HEAD")
