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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ..errors import TaxonomyError, UsageError
from ..fileio import write_atomic
from ..gitrepo import config_value
from . import checks, knowledge_docs, schema
from .doc_convert import Converted, to_markdown
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
    documents: list[Path] = field(default_factory=list)
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
    first_question: str = ""
    documents: list[Path] = field(default_factory=list)
    """The Markdown files kept in the project's document repository (``--document``)."""
    documents_commit: str = ""


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
_DOCUMENT_HOSTS = (
    "docs.google.com",
    "drive.google.com",
    "onedrive.live.com",
    "1drv.ms",
    "sharepoint.com",
    "dropbox.com",
    "box.com",
    "icloud.com",
)
_DOCUMENT_SUFFIXES = (".pdf", ".doc", ".docx", ".odt", ".txt", ".md", ".html", ".htm", ".ppt", ".pptx")
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")


def repo_problem(value: str) -> str | None:
    """Why ``value`` is not a git repository URL (https, http, ssh, git, file or ``user@host:path``), else None."""
    if any(ch.isspace() for ch in value):
        return "is not a git repository URL (it contains spaces)"
    if _SCP_LIKE.match(value):
        return None
    parsed = urlsplit(value)
    host = (parsed.hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in _DOCUMENT_HOSTS) or (
        parsed.scheme in ("https", "http") and parsed.path.lower().endswith(_DOCUMENT_SUFFIXES)
    ):
        return "is a link to a document, not a git repository"
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


@dataclass
class Built:
    """A leaf's two files as text; a knowledge leaf can be rendered again at another document commit."""

    leaf: PurePosixPath
    text: str
    attribution: str
    first_question: str
    author: str
    at_commit: Callable[[str], tuple[str, str]] | None = None


def default_author() -> str:
    """Who wrote the leaf when nobody says: git's ``github.user``, else ``user.name``, else the login name."""
    import getpass

    for key in ("github.user", "user.name"):
        value = config_value(key)
        if value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "teacher"


AUTHOR_QUESTION = (
    "Your name or GitHub user name (InstructLab records it as the leaf's author, created_by; "
    "a GitHub user name matters only when you share the leaf upstream)"
)


def build(request: AddRequest, prompt: Prompt | None = None, *, documents: Sequence[Converted] = ()) -> Built:
    """The leaf folder, the qna.yaml text and the attribution.txt text for ``request``.

    Without a prompt, every missing flag is collected and reported in one usage error. ``documents`` (the
    converted ``--document`` files) offer the outline and, at the prompts, the contexts.
    """
    leaf, kind = check_leaf_path(request.path, request.kind)
    source = read_source(request.source) if request.source is not None else Source({}, [])
    fields = source.fields
    values = Values(prompt, fields, request.source)
    created_by = values.get(
        request.created_by, "created_by", "--created-by", AUTHOR_QUESTION, default_author()
    )
    knowledge: tuple[str, str, str, list[Seed], str, list[str]] | None = None
    if kind == "knowledge":
        seeds = knowledge_seeds(source.rows) if source.rows else None
        domain = values.get(request.domain, "domain", "--domain", "Domain (e.g. Biology)")
        outline = values.get(
            request.document_outline,
            "document_outline",
            "--outline",
            "Document outline (a one-line summary of the document)",
            text_value(fields.get("task_description")) or outline_of(documents),
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
                seeds = ask_seeds(kind, prompt, suggested_contexts(documents))
        values.raise_missing()
        _check_counts(kind, seeds)
        text = render_knowledge(created_by, domain, outline, seeds, repo, commit, patterns)
        knowledge = (created_by, domain, outline, seeds, repo, patterns)
        first = seeds[0].qas[0].question
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
        first = expanded[0].qas[0].question
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
    built = Built(leaf, text, attribution, first, created_by)
    if knowledge is not None:
        by, domain, outline, seeds, repo, patterns = knowledge

        def at_commit(sha: str) -> tuple[str, str]:
            return (
                render_knowledge(by, domain, outline, seeds, repo, sha, patterns),
                render_attribution(title, link, sha, license_, creators),
            )

        built.at_commit = at_commit
    return built


def outline_of(documents: Sequence[Converted]) -> str | None:
    """The first document's first heading (or first line), as the leaf's outline."""
    for doc in documents:
        for line in doc.markdown.splitlines():
            text = line.strip().lstrip("#").strip()
            if text:
                return text[:200]
    return None


def suggested_contexts(documents: Sequence[Converted], count: int = MIN_SEED_EXAMPLES) -> list[str]:
    """Paragraphs of the documents to offer as seed contexts: the longest ones that are not headings, in
    document order, at most 500 characters each."""
    paragraphs = [
        p.strip()
        for doc in documents
        for p in doc.markdown.split("\n\n")
        if p.strip() and not p.strip().startswith("#") and len(p.strip()) <= 500
    ]
    chosen = set(sorted(range(len(paragraphs)), key=lambda i: -len(paragraphs[i]))[:count])
    return [paragraphs[i] for i in sorted(chosen)]


def add_leaf(
    request: AddRequest,
    taxonomy_root: Path,
    *,
    prompt: Prompt | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> AddResult:
    """Build, validate and (unless ``dry_run``) write ``taxonomy_root/PATH/qna.yaml`` and ``attribution.txt``.

    With ``request.documents``, the files are converted to Markdown and kept in the project's document
    repository (``knowledge_docs``), which fills ``document.repo``, ``commit`` and ``patterns``; they are
    committed only once the leaf has validated."""
    leaf, kind = check_leaf_path(request.path, request.kind)
    planned = None
    converted: list[Converted] = []
    if request.documents:
        if kind != "knowledge":
            raise UsageError(
                "--document is for knowledge leaves", hint="put the leaf under knowledge/, or drop --document"
            )
        if request.repo or request.commit or request.patterns:
            raise UsageError(
                "--document fills the document repository itself: --repo, --commit and --pattern cannot be given "
                "with it",
                hint="pass either your files with --document, or a repository with --repo/--commit/--pattern",
            )
        converted = [to_markdown(path) for path in request.documents]
        planned = knowledge_docs.plan(converted, leaf, knowledge_docs.repo_folder(taxonomy_root), force=force)
        request = replace(
            request, repo=planned.url, commit=knowledge_docs.PENDING_COMMIT, patterns=planned.patterns
        )
    built = build(request, prompt, documents=converted)
    text, attribution = built.text, built.attribution
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
    outcome = AddResult(
        qna,
        attribution_path,
        text,
        attribution,
        result.findings,
        written=False,
        first_question=built.first_question,
    )
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
    if planned is not None and built.at_commit is not None:
        sha = knowledge_docs.commit(planned, built.author)
        text, attribution = built.at_commit(sha)
        outcome.yaml_text, outcome.attribution_text = text, attribution
        outcome.documents = [planned.repo / p for p in planned.patterns]
        outcome.documents_commit = sha
    for path, content in ((attribution_path, attribution), (qna, text)):
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise TaxonomyError(
                f"cannot write {path}: {exc.strerror}", hint="check the folder's permissions"
            ) from exc
    outcome.written = True
    return outcome
