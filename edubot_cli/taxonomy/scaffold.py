"""``edubot taxonomy add``: build a version 3 qna.yaml (+ attribution.txt) from flags, a file or prompts.

Sources for ``--from``: CSV (columns ``context``, ``question``, ``answer``; an empty context continues the one
above), JSONL (one object per line: flat ``{"context", "question", "answer"}`` or a v3 seed example
``{"context", "questions_and_answers": [...]}``) or a qna.yaml in any shape, including the simplified
knowledge format (``task_description`` with flat question/answer seed examples). Knowledge rows are grouped
by context. The result is validated before anything is written, and written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..errors import TaxonomyError, UsageError
from ..fileio import write_atomic
from . import checks, schema
from .findings import ERROR, Finding

KINDS = ("knowledge", "skill")
TOP_FOLDERS = {"knowledge": "knowledge", "compositional_skills": "skill", "foundational_skills": "skill"}
MIN_SEED_EXAMPLES = 5
MIN_QNA_PER_CONTEXT = 3
DEFAULT_LICENSE = "CC-BY-4.0"
_SEGMENT = re.compile(r"^[a-z0-9_]+$")

Prompt = Callable[[str, "str | None"], str]
"""Asks the user ``question`` (offering ``default``) and returns the answer."""


@dataclass
class QA:
    question: str
    answer: str


@dataclass
class Seed:
    """A knowledge seed example (context + Q&A list) or a skill one (one Q&A, optional context)."""

    context: str | None
    qas: list[QA]


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


# ---------------------------------------------------------------- reading sources


@dataclass
class Source:
    fields: dict[str, Any]
    rows: list[tuple[str, Seed]]  # (where, seed) where = "file:line" for error messages


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _seed_from_mapping(item: Mapping[str, Any], where: str) -> Seed:
    context = _text(item.get("context"))
    if isinstance(item.get("questions_and_answers"), list):
        qas = []
        for qa in item["questions_and_answers"]:
            if not isinstance(qa, Mapping):
                raise TaxonomyError(
                    f"{where}: questions_and_answers items must be mappings", hint="use question/answer"
                )
            qas.append(_qa(qa, where))
        return Seed(context, qas)
    return Seed(context, [_qa(item, where)])


def _qa(item: Mapping[str, Any], where: str) -> QA:
    question, answer = _text(item.get("question")), _text(item.get("answer"))
    if question is None or answer is None:
        missing = "question" if question is None else "answer"
        raise TaxonomyError(
            f"{where}: the {missing} is missing or empty", hint="every row needs a question and answer"
        )
    return QA(question, answer)


def read_source(path: Path) -> Source:
    """Seed rows (and top-level fields, for YAML) from a CSV, JSONL or qna.yaml file."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TaxonomyError(f"--from file {path} does not exist", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"cannot read --from file {path}: {exc}", hint="save it as UTF-8 text") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, raw)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _read_jsonl(path, raw)
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path, raw)
    raise TaxonomyError(
        f"--from file {path}: unknown format {suffix or '(no extension)'}", hint="use .csv, .jsonl or .yaml"
    )


def _read_csv(path: Path, raw: str) -> Source:
    reader = csv.DictReader(io.StringIO(raw, newline=""))  # quoted cells may span lines
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    if "question" not in header or "answer" not in header:
        raise TaxonomyError(
            f"{path}:1: the CSV header must name the columns question and answer (and optionally context)",
            hint="first line e.g.: context,question,answer",
        )
    rows: list[tuple[str, Seed]] = []
    previous: str | None = None
    for number, row in enumerate(reader, start=2):
        values = {k: row.get(v) for k, v in header.items()}
        if not any(_text(v) for v in values.values()):
            continue
        context = _text(values.get("context")) or previous
        previous = context
        where = f"{path}:{reader.line_num if reader.line_num else number}"
        rows.append((where, Seed(context, [_qa(values, where)])))
    return Source({}, rows)


def _read_jsonl(path: Path, raw: str) -> Source:
    rows: list[tuple[str, Seed]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaxonomyError(
                f"{where}:{exc.colno}: not valid JSON: {exc.msg}", hint="one JSON object per line"
            ) from None
        if not isinstance(item, Mapping):
            raise TaxonomyError(
                f"{where}: each line must be a JSON object", hint='e.g. {"question": "...", "answer": "..."}'
            )
        rows.append((where, _seed_from_mapping(item, where)))
    return Source({}, rows)


def _read_yaml(path: Path, raw: str) -> Source:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise TaxonomyError(f"{where}: not valid YAML", hint="run `edubot taxonomy validate` on it") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("seed_examples"), list):
        raise TaxonomyError(
            f"{path}: no seed_examples list found", hint="the file needs a seed_examples list"
        )
    rows = []
    for i, item in enumerate(data["seed_examples"]):
        where = f"{path} seed_examples[{i}]"
        if not isinstance(item, Mapping):
            raise TaxonomyError(
                f"{where}: not a mapping", hint="each seed example holds question/answer keys"
            )
        rows.append((where, _seed_from_mapping(item, where)))
    fields = {
        k: data[k] for k in ("created_by", "domain", "document_outline", "task_description") if k in data
    }
    document = data.get("document")
    if isinstance(document, Mapping):
        fields.update({k: document[k] for k in ("repo", "commit", "patterns") if k in document})
    return Source(fields, rows)


def knowledge_seeds(rows: list[tuple[str, Seed]]) -> list[Seed]:
    """Group knowledge rows by context (first appearance order)."""
    groups: dict[str, Seed] = {}
    for where, seed in rows:
        if seed.context is None:
            raise TaxonomyError(
                f"{where}: knowledge needs a context for every question",
                hint="add a context column (the passage of the document the questions are about)",
            )
        groups.setdefault(seed.context, Seed(seed.context, [])).qas.extend(seed.qas)
    return list(groups.values())


# ---------------------------------------------------------------- rendering


def _scalar(value: str) -> str:
    out = yaml.safe_dump(value, allow_unicode=True, width=2**31 - 1)
    if out.endswith("\n...\n"):
        out = out[: -len("\n...\n")]
    return out.rstrip("\n")


def _clean(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def _literal_ok(text: str) -> bool:
    printable = all(ch in "\t\n" or (ch.isprintable() and ch not in "\ufeff\u2028\u2029") for ch in text)
    return bool(text) and printable and not text[0].isspace()


def _field(key: str, value: str, key_col: int, literal: bool) -> list[str]:
    """``key: value`` lines for a key starting at ``key_col`` (the caller adds any '- ' prefix)."""
    text = _clean(value)
    if (literal or "\n" in text) and _literal_ok(text):
        pad = " " * (key_col + 2)
        return [f"{key}: |", *[(pad + line) if line else "" for line in text.split("\n")]]
    return [f"{key}: {_scalar(text)}"]


def _prefixed(lines: list[str], first: str, rest: str) -> list[str]:
    return [first + lines[0], *[(rest + line) if line else "" for line in lines[1:]]]


def render_knowledge(
    created_by: str, domain: str, outline: str, seeds: list[Seed], repo: str, commit: str, patterns: list[str]
) -> str:
    lines = ["version: 3", *_field("created_by", created_by, 0, False), *_field("domain", domain, 0, False)]
    lines += _field("document_outline", outline, 0, True)
    lines.append("seed_examples:")
    for seed in seeds:
        assert seed.context is not None
        lines += _prefixed(_field("context", seed.context, 4, True), "  - ", "")
        lines.append("    questions_and_answers:")
        for qa in seed.qas:
            lines += _prefixed(_field("question", qa.question, 8, True), "      - ", "")
            lines += _prefixed(_field("answer", qa.answer, 8, True), "        ", "")
    lines += [
        "document:",
        "  " + _field("repo", repo, 2, False)[0],
        "  " + _field("commit", commit, 2, False)[0],
    ]
    lines.append("  patterns:")
    lines += [f"    - {_scalar(p.strip())}" for p in patterns]
    return "\n".join(lines) + "\n"


def render_skill(created_by: str, task_description: str, seeds: list[Seed]) -> str:
    lines = ["version: 3", *_field("created_by", created_by, 0, False)]
    lines += _field("task_description", task_description, 0, False)
    lines.append("seed_examples:")
    for seed in seeds:
        qa = seed.qas[0]
        keys = [("context", seed.context)] if seed.context else []
        keys += [("question", qa.question), ("answer", qa.answer)]
        for position, (key, value) in enumerate(keys):
            lines += _prefixed(_field(key, value, 4, True), "  - " if position == 0 else "    ", "")
    return "\n".join(lines) + "\n"


def render_attribution(title: str, link: str, revision: str | None, license: str, creators: str) -> str:
    lines = [f"Title of work: {title}", f"Link to work: {link}"]
    if revision:
        lines.append(f"Revision: {revision}")
    lines += [f"License of the work: {license}", f"Creator names: {creators}"]
    return "\n".join(" ".join(line.split()) for line in lines) + "\n"


# ---------------------------------------------------------------- the command


def _value(
    given: str | None,
    source: Mapping[str, Any],
    key: str,
    flag: str,
    question: str,
    prompt: Prompt | None,
    default: str | None = None,
) -> str:
    value = _text(given) or _text(source.get(key))
    if value is not None:
        return value
    if prompt is not None:
        answer = _text(prompt(question, default))
        if answer:
            return answer
    if default is not None:
        return default
    raise UsageError(f"{flag} is required", hint=f"pass {flag} VALUE (or run in a terminal to be asked)")


def _ask_seeds(kind: str, prompt: Prompt | None) -> list[Seed]:
    if prompt is None:
        raise UsageError(
            "no seed examples given",
            hint="pass --from FILE (CSV or JSONL with context,question,answer) or run in a terminal to be asked",
        )
    seeds = []
    for i in range(1, MIN_SEED_EXAMPLES + 1):
        if kind == "knowledge":
            context = _text(
                prompt(f"Seed example {i}/{MIN_SEED_EXAMPLES}: context (a passage of the document)", None)
            )
            qas = []
            for j in range(1, MIN_QNA_PER_CONTEXT + 1):
                question = _text(prompt(f"  question {j}/{MIN_QNA_PER_CONTEXT} about this context", None))
                answer = _text(prompt(f"  answer {j}/{MIN_QNA_PER_CONTEXT}", None))
                if question and answer:
                    qas.append(QA(question, answer))
            seeds.append(Seed(context, qas))
        else:
            context = _text(
                prompt(f"Seed example {i}/{MIN_SEED_EXAMPLES}: context (optional, Enter to skip)", "")
            )
            question = _text(prompt("  question", None))
            answer = _text(prompt("  answer", None))
            if question and answer:
                seeds.append(Seed(context, [QA(question, answer)]))
    return seeds


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
    """The leaf folder, the qna.yaml text and the attribution.txt text for ``request``."""
    leaf, kind = check_leaf_path(request.path, request.kind)
    source = read_source(request.source) if request.source is not None else Source({}, [])
    fields = source.fields
    created_by = _value(
        request.created_by, fields, "created_by", "--created-by", "Your GitHub user name", prompt
    )
    if kind == "knowledge":
        seeds = knowledge_seeds(source.rows) if source.rows else None
        domain = _value(request.domain, fields, "domain", "--domain", "Domain (e.g. Biology)", prompt)
        outline_default = _text(fields.get("task_description"))
        outline = _value(
            request.document_outline,
            fields,
            "document_outline",
            "--outline",
            "Document outline (a one-line summary of the document)",
            prompt,
            outline_default,
        )
        repo = _value(request.repo, fields, "repo", "--repo", "Git repository URL of the document", prompt)
        commit = _value(request.commit, fields, "commit", "--commit", "Commit of that repository", prompt)
        patterns = [p for p in request.patterns if p.strip()]
        if not patterns and isinstance(fields.get("patterns"), list):
            patterns = [str(p) for p in fields["patterns"] if _text(p)]
        if not patterns:
            patterns = [
                _value(None, {}, "patterns", "--pattern", "Document file pattern (e.g. *.md)", prompt)
            ]
        if seeds is None:
            seeds = _ask_seeds(kind, prompt)
        _check_counts(kind, seeds)
        text = render_knowledge(created_by, domain, outline, seeds, repo, commit, patterns)
        title_default, link_default, revision = domain, repo, commit
    else:
        task = _value(
            request.task_description,
            fields,
            "task_description",
            "--task-description",
            "Task description (what the skill teaches the model)",
            prompt,
        )
        seeds = [seed for _, seed in source.rows]
        expanded = [Seed(s.context, [qa]) for s in seeds for qa in s.qas]
        if not expanded:
            expanded = _ask_seeds(kind, prompt)
        _check_counts(kind, expanded)
        text = render_skill(created_by, task, expanded)
        title_default, link_default, revision = task, "-", None
    title = _value(
        request.attribution_title,
        {},
        "",
        "--attribution-title",
        "Attribution: title of work",
        prompt,
        title_default,
    )
    link = _value(
        request.attribution_link,
        {},
        "",
        "--attribution-link",
        "Attribution: link to work",
        prompt,
        link_default,
    )
    license_ = _value(
        request.license, {}, "", "--license", "Attribution: license of the work", prompt, DEFAULT_LICENSE
    )
    creators = _value(
        request.creators, {}, "", "--creators", "Attribution: creator names", prompt, created_by
    )
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
