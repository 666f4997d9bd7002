"""``edubot taxonomy add``: build a version 3 qna.yaml (+ attribution.txt) from flags, a file or prompts.

Sources for ``--from``: CSV (columns ``context``, ``question``, ``answer``; an empty context continues the one
above), JSONL (one object per line: flat ``{"context", "question", "answer"}`` or a v3 seed example
``{"context", "questions_and_answers": [...]}``) or a qna.yaml in any shape, including the simplified
knowledge format (``task_description`` with flat question/answer seed examples). Knowledge rows are grouped
by context. The result is validated before anything is written, and written atomically.

This module checks the leaf and puts the pieces together; reading ``--from`` files is ``seed_sources``, asking is
``prompting``, the text of the files is ``qna_render``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..errors import TaxonomyError, UsageError
from ..fileio import write_atomic
from . import checks, schema
from .findings import ERROR, Finding
from .prompting import Draft, Values, ask_seeds
from .qna_render import render_attribution, render_knowledge, render_skill
from .seed_sources import Source, knowledge_seeds, read_source
from .seeds import MIN_QNA_PER_CONTEXT, MIN_SEED_EXAMPLES, Prompt, Seed, text_value

KINDS = ("knowledge", "skill")
TOP_FOLDERS = {"knowledge": "knowledge", "compositional_skills": "skill", "foundational_skills": "skill"}
DEFAULT_LICENSE = "CC-BY-4.0"
_SEGMENT = re.compile(r"^[a-z0-9_]+$")


@dataclass
class AddRequest:
    """What the user asked for; ``None`` means 'not given' (taken from the source file or asked)."""

    path: str
    kind: str | None = None
    source: Path | None = None
    created_by: str | None = None
    domain: str | None = None
    document_outline: str | None = None
    repo: str | None = None
    commit: str | None = None
    patterns: list[str] = field(default_factory=list)
    task_description: str | None = None
    attribution_title: str | None = None
    attribution_link: str | None = None
    license: str | None = None
    creators: str | None = None


@dataclass
class AddResult:
    qna_path: Path
    attribution_path: Path
    yaml_text: str
    attribution_text: str
    warnings: list[Finding]
    written: bool


def check_leaf_path(path: str, kind: str | None) -> tuple[PurePosixPath, str]:
    """The leaf folder (relative to the taxonomy root) and its kind; raises UsageError on a bad path."""
    text = path.strip().replace("\\", "/").strip("/")
    if text.endswith("/qna.yaml"):
        text = text[: -len("/qna.yaml")]
    if text.startswith("taxonomy/"):
        text = text[len("taxonomy/") :]
    leaf = PurePosixPath(text)
    parts = leaf.parts
    if not parts or parts[0] not in TOP_FOLDERS:
        raise UsageError(
            f"path {path!r} must start with knowledge/, compositional_skills/ or foundational_skills/",
            hint="e.g. edubot taxonomy add knowledge/science/photosynthesis --kind knowledge",
        )
    if len(parts) < 2:
        raise UsageError(f"path {path!r} names a top folder, not a leaf", hint=f"e.g. {parts[0]}/your_topic")
    for part in parts[1:]:
        if not _SEGMENT.match(part):
            suggestion = re.sub(r"[^a-z0-9_]+", "_", part.lower()).strip("_") or "topic"
            raise UsageError(
                f"folder name {part!r} in {path!r}: use lowercase letters, digits and underscores only",
                hint=f"e.g. {suggestion!r}",
            )
    implied = TOP_FOLDERS[parts[0]]
    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}", hint="use --kind knowledge or --kind skill")
    if kind is not None and kind != implied:
        raise UsageError(
            f"--kind {kind} does not fit {parts[0]}/ (which holds {implied} files)",
            hint=f"use --kind {implied}, or a path under "
            + ("knowledge/" if kind == "knowledge" else "compositional_skills/"),
        )
    return leaf, implied


_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:\S+$")
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")


def repo_problem(value: str) -> str | None:
    """Why ``value`` is not a git repository URL (https, http, ssh, git, file or ``user@host:path``), else None."""
    if any(ch.isspace() for ch in value):
        return "is not a git repository URL (it contains spaces)"
    if _SCP_LIKE.match(value):
        return None
    parsed = urlsplit(value)
    if parsed.scheme in ("https", "http", "ssh", "git") and parsed.netloc:
        return None
    if parsed.scheme == "file" and parsed.path:
        return None
    return "is not a git repository URL"


def commit_problem(value: str) -> str | None:
    """Why ``value`` is not a commit SHA (7 to 40 hex digits), else None."""
    return None if _COMMIT.match(value) else "is not a commit SHA (7 to 40 hex digits)"


def start_draft(request: AddRequest, prompt: Prompt, directory: Path | None = None) -> tuple[Draft, Prompt]:
    """The draft for ``request``'s leaf, asking whether to resume a kept one, and the recording prompt."""
    leaf, _ = check_leaf_path(request.path, request.kind)
    draft = Draft.for_leaf(leaf, directory)
    if draft.previous:
        count = len(draft.previous)
        answer = text_value(
            prompt(f"Resume the {count} answers kept from your last try at {leaf}? (Y/n)", "y")
        )
        if answer is not None and answer.lower().startswith("n"):
            draft.previous = []
    return draft, draft.wrap(prompt)


def _check_counts(kind: str, seeds: list[Seed]) -> None:
    if len(seeds) < MIN_SEED_EXAMPLES:
        unit = "contexts" if kind == "knowledge" else "question/answer pairs"
        raise TaxonomyError(
            f"{len(seeds)} seed example{'' if len(seeds) == 1 else 's'}; "
            f"InstructLab needs at least {MIN_SEED_EXAMPLES} ({unit})",
            hint=f"add more {unit}",
        )
    if kind == "knowledge":
        for seed in seeds:
            if seed.context is None or len(seed.qas) < MIN_QNA_PER_CONTEXT:
                context = (seed.context or "")[:50]
                raise TaxonomyError(
                    f"context {context!r}… has {len(seed.qas)} question/answer pairs; at least "
                    f"{MIN_QNA_PER_CONTEXT} are needed",
                    hint="add questions about this context (rows with the same context are grouped)",
                )


def build(request: AddRequest, prompt: Prompt | None = None) -> tuple[PurePosixPath, str, str]:
    """The leaf folder, the qna.yaml text and the attribution.txt text for ``request``.

    Without a prompt, every missing flag is collected and reported in one usage error.
    """
    leaf, kind = check_leaf_path(request.path, request.kind)
    source = read_source(request.source) if request.source is not None else Source({}, [])
    fields = source.fields
    values = Values(prompt, fields, request.source)
    created_by = values.get(request.created_by, "created_by", "--created-by", "Your GitHub user name")
    if kind == "knowledge":
        seeds = knowledge_seeds(source.rows) if source.rows else None
        domain = values.get(request.domain, "domain", "--domain", "Domain (e.g. Biology)")
        outline = values.get(
            request.document_outline,
            "document_outline",
            "--outline",
            "Document outline (a one-line summary of the document)",
            text_value(fields.get("task_description")),
        )
        repo = values.get(
            request.repo, "repo", "--repo", "Git repository URL of the document", check=repo_problem
        )
        commit = values.get(
            request.commit, "commit", "--commit", "Commit SHA of that repository", check=commit_problem
        )
        patterns = [p for p in request.patterns if p.strip()]
        if not patterns and isinstance(fields.get("patterns"), list):
            patterns = [str(p) for p in fields["patterns"] if text_value(p)]
        if not patterns:
            pattern = values.get(None, "", "--pattern", "Document file pattern (e.g. *.md)")
            patterns = [pattern] if pattern else []
        if seeds is None:
            if prompt is None:
                values.missing.append("--from")
                seeds = []
            else:
                seeds = ask_seeds(kind, prompt)
        values.raise_missing()
        _check_counts(kind, seeds)
        text = render_knowledge(created_by, domain, outline, seeds, repo, commit, patterns)
        title_default, link_default, revision = domain, repo, commit
    else:
        task = values.get(
            request.task_description,
            "task_description",
            "--task-description",
            "Task description (what the skill teaches the model)",
        )
        seeds = [seed for _, seed in source.rows]
        expanded = [Seed(s.context, [qa]) for s in seeds for qa in s.qas]
        if not expanded:
            if prompt is None:
                values.missing.append("--from")
            else:
                expanded = ask_seeds(kind, prompt)
        values.raise_missing()
        _check_counts(kind, expanded)
        text = render_skill(created_by, task, expanded)
        title_default, link_default, revision = task, "-", None
    title = values.get(
        request.attribution_title, "", "--attribution-title", "Attribution: title of work", title_default
    )
    link = values.get(
        request.attribution_link, "", "--attribution-link", "Attribution: link to work", link_default
    )
    license_ = values.get(
        request.license, "", "--license", "Attribution: license of the work", DEFAULT_LICENSE
    )
    creators = values.get(request.creators, "", "--creators", "Attribution: creator names", created_by)
    attribution = render_attribution(title, link, revision, license_, creators)
    return leaf, text, attribution


def add_leaf(
    request: AddRequest,
    taxonomy_root: Path,
    *,
    prompt: Prompt | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> AddResult:
    """Build, validate and (unless ``dry_run``) write ``taxonomy_root/PATH/qna.yaml`` and ``attribution.txt``."""
    leaf, text, attribution = build(request, prompt)
    folder = schema.taxonomy_folder(Path(*leaf.parts, "qna.yaml"))
    result = checks.check_content(text.encode("utf-8"), folder, strict=True)
    errors = [f for f in result.findings if f.severity == ERROR]
    if errors:
        first = errors[0]
        raise TaxonomyError(
            f"the generated qna.yaml would not validate: {first.line}:{first.col} [{first.rule}] {first.message}",
            hint=first.hint,
        )
    directory = taxonomy_root / Path(*leaf.parts)
    qna, attribution_path = directory / "qna.yaml", directory / "attribution.txt"
    outcome = AddResult(qna, attribution_path, text, attribution, result.findings, written=False)
    if dry_run:
        return outcome
    if not taxonomy_root.is_dir():
        raise TaxonomyError(
            f"taxonomy root {taxonomy_root} does not exist",
            hint="run from the project folder, or point --taxonomy (or taxonomy_path in the config) at it",
        )
    existing = [p for p in (qna, attribution_path) if p.exists()]
    if existing and not force:
        raise TaxonomyError(f"{existing[0]} already exists", hint="pass --force to overwrite it")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise TaxonomyError(
            f"cannot create {directory}: a file is in the way", hint="choose another path"
        ) from None
    for path, content in ((attribution_path, attribution), (qna, text)):
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise TaxonomyError(
                f"cannot write {path}: {exc.strerror}", hint="check the folder's permissions"
            ) from exc
    outcome.written = True
    return outcome
