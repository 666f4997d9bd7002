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
from urllib.parse import urlsplit

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


_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:\S+$")
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")
Check = Callable[[str], "str | None"]
"""Returns what is wrong with a value, or None when it is fine."""


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


_HINTS = {
    "--repo": "e.g. --repo https://github.com/you/docs (or git@github.com:you/docs.git; "
    "a repository on this machine: file:///absolute/path)",
    "--commit": "pass the commit SHA, e.g. the output of `git rev-parse HEAD` in that repository; "
    "branch and tag names move, so InstructLab needs the SHA",
}


class _Values:
    """Resolves each value from a flag, the --from file or a prompt; without a prompt, collects what is missing."""

    def __init__(self, prompt: Prompt | None, source: Mapping[str, Any], source_path: Path | None) -> None:
        self.prompt = prompt
        self.source = source
        self.source_path = source_path
        self.missing: list[str] = []

    def get(
        self,
        given: str | None,
        key: str,
        flag: str,
        question: str,
        default: str | None = None,
        check: Check | None = None,
    ) -> str:
        value = _text(given)
        if value is not None:
            self._check(value, flag, check, flag)
            return value
        value = _text(self.source.get(key)) if key else None
        if value is not None:
            self._check(value, flag, check, f"{key} in {self.source_path}")
            return value
        if self.prompt is not None:
            ask = question
            while True:
                answer = _text(self.prompt(ask, default))
                if not answer:
                    if default is not None:
                        break
                    ask = f"{question} (required: it cannot be empty)"
                    continue
                problem = check(answer) if check is not None else None
                if problem is None:
                    return answer
                ask = f"{answer!r} {problem}. {question}"
        if default is not None:
            return default
        self.missing.append(flag)
        return ""

    @staticmethod
    def _check(value: str, flag: str, check: Check | None, origin: str) -> None:
        problem = check(value) if check is not None else None
        if problem is not None:
            raise UsageError(f"{origin} {value!r} {problem}", hint=_HINTS.get(flag, f"pass {flag} VALUE"))

    def raise_missing(self) -> None:
        """One usage error naming every flag that was needed and not given."""
        if not self.missing:
            return
        if len(self.missing) == 1:
            message = f"{self.missing[0]} is required"
        else:
            message = f"{len(self.missing)} required flags are missing: {', '.join(self.missing)}"
        values = " ".join(f"{flag} {'FILE' if flag == '--from' else 'VALUE'}" for flag in self.missing)
        raise UsageError(message, hint=f"pass {values} (or run in a terminal to be asked)")


def _required(prompt: Prompt, question: str) -> str:
    """Ask until the answer is not empty (a seed example needs every question and answer)."""
    ask = question
    while True:
        answer = _text(prompt(ask, None))
        if answer:
            return answer
        ask = f"{question} (required: it cannot be empty)"


def _ask_seeds(kind: str, prompt: Prompt | None) -> list[Seed]:
    """Seed examples typed at the prompt: each answer is checked as typed; a sixth and later are offered."""
    if prompt is None:
        raise UsageError(
            "no seed examples given",
            hint="pass --from FILE (CSV or JSONL with context,question,answer) or run in a terminal to be asked",
        )
    seeds: list[Seed] = []
    while True:
        i = len(seeds) + 1
        if i > MIN_SEED_EXAMPLES:
            more = _text(prompt(f"Add seed example {i}? (y/N)", "n")) or "n"
            if not more.lower().startswith("y"):
                return seeds
        label = f"Seed example {i}/{MIN_SEED_EXAMPLES}" if i <= MIN_SEED_EXAMPLES else f"Seed example {i}"
        if kind == "knowledge":
            context = _required(prompt, f"{label}: context (a passage of the document)")
            qas = []
            for j in range(1, MIN_QNA_PER_CONTEXT + 1):
                question = _required(prompt, f"  question {j}/{MIN_QNA_PER_CONTEXT} about this context")
                answer = _required(prompt, f"  answer {j}/{MIN_QNA_PER_CONTEXT}")
                qas.append(QA(question, answer))
            seeds.append(Seed(context, qas))
        else:
            optional = _text(prompt(f"{label}: context (optional, Enter to skip)", ""))
            question = _required(prompt, "  question")
            answer = _required(prompt, "  answer")
            seeds.append(Seed(optional, [QA(question, answer)]))


MULTILINE = '"""'
MULTILINE_TIP = (
    f"(to type several lines: enter {MULTILINE} alone on a line, the text, then {MULTILINE} again)"
)


def line_prompter(read: Callable[[str], str], tip: Callable[[str], None] | None = None) -> Prompt:
    """A ``Prompt`` over ``read`` (``input`` on a terminal): Enter takes the default; a line holding only
    ``\"\"\"`` starts a multi-line answer that ends at the next such line. ``tip`` is told how, once."""
    told = False

    def ask(question: str, default: str | None) -> str:
        nonlocal told
        if tip is not None and not told:
            tip(MULTILINE_TIP)
            told = True
        shown = ""
        if default:
            first, _, rest = default.partition("\n")
            shown = f" [{first}{'…' if rest else ''}]"
        line = read(f"{question}{shown}: ")
        if line.strip() == MULTILINE:
            lines: list[str] = []
            while (more := read("... ")).strip() != MULTILINE:
                lines.append(more)
            return "\n".join(lines)
        if not line.strip() and default is not None:
            return default
        return line

    return ask


class Draft:
    """What was typed at the prompts of ``taxonomy add`` for one leaf, kept in a file until the run succeeds.

    Answers are recorded in order after each one (an answer refused and asked again keeps only the new
    answer, under the first question). On resume, each recorded answer is offered as the default
    of the same question (Enter keeps it), so a failed run loses nothing and any answer can still be changed.
    """

    def __init__(self, path: Path, previous: list[tuple[str, str]] | None = None) -> None:
        self.path = path
        self.previous = previous or []
        self.answers: list[tuple[str, str]] = []
        self._next = 0

    @classmethod
    def for_leaf(cls, leaf: PurePosixPath, directory: Path | None = None) -> Draft:
        from ..fileio import cache_dir

        folder = directory if directory is not None else cache_dir() / "drafts"
        path = folder / ("__".join(leaf.parts) + ".json")
        previous: list[tuple[str, str]] = []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            previous = [(str(q), str(a)) for q, a in data.get("answers", [])]
        except (OSError, ValueError, TypeError, AttributeError):
            previous = []
        return cls(path, previous)

    def wrap(self, prompt: Prompt) -> Prompt:
        def ask(question: str, default: str | None) -> str:
            for index in range(self._next, len(self.previous)):
                if self.previous[index][0] == question:
                    default = self.previous[index][1]
                    self._next = index + 1
                    break
            answer = prompt(question, default)
            last = self.answers[-1][0] if self.answers else None
            if (
                last is not None
                and question != last
                and (question.startswith(last) or question.endswith(last))
            ):
                self.answers[-1] = (last, answer)  # a question asked again after a refused answer
            else:
                self.answers.append((question, answer))
            self._save()
            return answer

        return ask

    def _save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(
                self.path, json.dumps({"answers": self.answers}, ensure_ascii=False, indent=1) + "\n"
            )
        except OSError:
            pass  # a draft is a convenience: never fail the command over it

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def start_draft(request: AddRequest, prompt: Prompt, directory: Path | None = None) -> tuple[Draft, Prompt]:
    """The draft for ``request``'s leaf, asking whether to resume a kept one, and the recording prompt."""
    leaf, _ = check_leaf_path(request.path, request.kind)
    draft = Draft.for_leaf(leaf, directory)
    if draft.previous:
        count = len(draft.previous)
        answer = _text(prompt(f"Resume the {count} answers kept from your last try at {leaf}? (Y/n)", "y"))
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
    values = _Values(prompt, fields, request.source)
    created_by = values.get(request.created_by, "created_by", "--created-by", "Your GitHub user name")
    if kind == "knowledge":
        seeds = knowledge_seeds(source.rows) if source.rows else None
        domain = values.get(request.domain, "domain", "--domain", "Domain (e.g. Biology)")
        outline = values.get(
            request.document_outline,
            "document_outline",
            "--outline",
            "Document outline (a one-line summary of the document)",
            _text(fields.get("task_description")),
        )
        repo = values.get(
            request.repo, "repo", "--repo", "Git repository URL of the document", check=repo_problem
        )
        commit = values.get(
            request.commit, "commit", "--commit", "Commit SHA of that repository", check=commit_problem
        )
        patterns = [p for p in request.patterns if p.strip()]
        if not patterns and isinstance(fields.get("patterns"), list):
            patterns = [str(p) for p in fields["patterns"] if _text(p)]
        if not patterns:
            pattern = values.get(None, "", "--pattern", "Document file pattern (e.g. *.md)")
            patterns = [pattern] if pattern else []
        if seeds is None:
            if prompt is None:
                values.missing.append("--from")
                seeds = []
            else:
                seeds = _ask_seeds(kind, prompt)
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
                expanded = _ask_seeds(kind, prompt)
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
