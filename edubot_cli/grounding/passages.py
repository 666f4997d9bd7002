"""Cut a taxonomy into retrievable passages: one per knowledge context, one per skill example, markdown sections.

Pure functions over bytes: no file system, no database. Every passage carries the 1-based line where it starts
and (for YAML) its yaml path, so an answer can cite ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..taxonomy import yamlload
from ..taxonomy.findings import Finding, finding
from ..taxonomy.model import KNOWLEDGE, SKILL, DocumentRef, read_leaf

DOCUMENT = "document"
KINDS = (KNOWLEDGE, SKILL, DOCUMENT)

MAX_PASSAGE_CHARS = 1500
"""Upper bound of a markdown passage (about 375 tokens): paragraphs are packed up to it, longer ones are cut."""

MAX_DOCUMENT_BYTES = 8 << 20
"""A knowledge document above 8 MiB is skipped with a finding (it is not a teaching text)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage as it is stored: ``text`` is what the prompt quotes; ``title`` is indexed too; ``label`` is what
    a reader sees it called (``passage_label``), empty for the title itself."""

    kind: str
    line: int
    yaml_path: str
    title: str
    text: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class HeldOut:
    """A knowledge Q&A pair kept out of the index (``holdout``), for evaluation: ``context_path`` is the
    yaml path of the passage the question should retrieve."""

    file: str
    line: int
    yaml_path: str
    context_path: str
    question: str
    answer: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "yaml_path": self.yaml_path,
            "context_path": self.context_path,
            "question": self.question,
            "answer": self.answer,
        }


@dataclass
class QnaPassages:
    """What one qna.yaml yields; ``finding`` set means the file could not be read and yields nothing."""

    chunks: list[Chunk] = field(default_factory=list)
    held_out: list[HeldOut] = field(default_factory=list)
    document: DocumentRef | None = None
    finding: Finding | None = None


def yaml_path(parts: Sequence[str | int]) -> str:
    """``seed_examples[2].context``: the yaml path as sources show it (no leading dot)."""
    return yamlload.json_path(parts).lstrip(".")


def _qa_lines(pairs: Sequence[tuple[str, str]]) -> list[str]:
    lines: list[str] = []
    for question, answer in pairs:
        if question:
            lines.append(f"Q: {question}")
        if answer:
            lines.append(f"A: {answer}")
    return lines


def prompt_text(kind: str, text: str) -> str:
    """A stored passage's ``text`` as the grounded prompt quotes it.

    A knowledge passage is quoted as its context alone: the ``Q: …``/``A: …`` lines of ``_qa_lines`` are left
    out (the answers of a knowledge leaf come from its context). Given those lines, SmolLM2-135M went on writing
    such lines instead of answering. A knowledge seed example without a context is quoted as its answers, one a
    line. Skill examples (whose question is the task) and documents are quoted as stored.
    """
    if kind != KNOWLEDGE:
        return text
    context: list[str] = []
    answers: list[str] = []
    in_pairs = in_question = False
    for line in text.split("\n"):
        if line.startswith("Q: "):
            in_pairs = in_question = True
        elif line.startswith("A: "):
            in_pairs, in_question = True, False
            answers.append(line[3:])
        elif not in_pairs:
            context.append(line)
        elif not in_question:
            answers.append(line)
    return "\n".join(context).strip() or "\n".join(answers).strip()


LABEL_WORDS = 8
"""Words of a passage's opening that its label quotes."""


def opening(text: str, limit: int = LABEL_WORDS) -> str:
    """The first ``limit`` words of ``text``'s first line, with ``…`` when there is more."""
    line = text.strip().split("\n", 1)[0]
    found = line.split()
    return " ".join(found[:limit]) + ("…" if len(found) > limit or "\n" in text.strip() else "")


def leaf_name(leaf: str) -> str:
    """``class_5b_field_trip_rules`` → ``Class 5b field trip rules``: a leaf folder in words."""
    last = leaf.rsplit("/", 1)[-1].replace("_", " ").strip()
    return last[:1].upper() + last[1:]


def passage_label(name: str, text: str) -> str:
    """A passage named in the leaf's own words: ``name`` (a knowledge leaf's domain, else its folder in words),
    then the opening words of the passage, ``Class trip: On Thursday 12 June, class 5B visits…``."""
    start = opening(text)
    return f"{name}: {start}" if start else name


def qna_passages(raw: bytes, file: str, *, holdout: int = 0) -> QnaPassages:
    """The passages of one qna.yaml at ``file`` (relative to the taxonomy root, posix).

    Knowledge: one passage per seed example, the context followed by its Q&A pairs, less the last ``holdout``
    pairs (reported in ``held_out``). Skills: one passage per seed example (context, question, answer).
    """
    leaf = read_leaf(raw, file)
    if isinstance(leaf, Finding):
        return QnaPassages(finding=leaf)
    kind = leaf.kind
    title = leaf.folder
    if kind == KNOWLEDGE and leaf.domain:
        title = f"{leaf.folder} ({leaf.domain})"
    name = (leaf.domain if kind == KNOWLEDGE else "") or leaf_name(leaf.folder)
    result = QnaPassages(document=leaf.document)
    for seed in leaf.seeds:
        item: list[str | int] = ["seed_examples", seed.index]
        if kind == KNOWLEDGE and seed.has_pairs:
            pairs = list(seed.pairs)
            cut = max(0, len(pairs) - holdout) if holdout > 0 else len(pairs)
            kept, held = pairs[:cut], pairs[cut:]
            where = [*item, "context"] if seed.context else item
            body = "\n".join([seed.context, *_qa_lines([(p.question, p.answer) for p in kept])]).strip()
            if body:
                label = passage_label(name, prompt_text(kind, body))
                result.chunks.append(Chunk(kind, seed.context_line, yaml_path(where), title, body, label))
            for pair in held:
                at = [*item, "questions_and_answers", pair.index]
                result.held_out.append(
                    HeldOut(file, pair.line, yaml_path(at), yaml_path(where), pair.question, pair.answer)
                )
        else:
            context, question, answer = seed.context, seed.question, seed.answer
            body = "\n".join(([context] if context else []) + _qa_lines([(question, answer)]))
            if body:
                label = passage_label(name, context or question)
                result.chunks.append(Chunk(kind, seed.line, yaml_path(item), title, body, label))
    return result


_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _split_long(text: str, limit: int) -> list[tuple[int, str]]:
    """``text`` cut into pieces of at most ``limit`` chars at sentence ends, else at spaces: (offset, piece)."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        window = text[start : start + limit + 1]
        cut = max((m.start() for m in _SENTENCE_END.finditer(window) if m.start() > 0), default=-1)
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        pieces.append((start, text[start : start + cut].strip()))
        start += cut
        while start < len(text) and text[start].isspace():
            start += 1
    if start < len(text):
        pieces.append((start, text[start:].strip()))
    return [(offset, piece) for offset, piece in pieces if piece]


def markdown_passages(text: str, name: str, *, limit: int = MAX_PASSAGE_CHARS) -> list[Chunk]:
    """A markdown document cut at ATX headings (``#`` .. ``######``, not inside code fences), each section's
    paragraphs packed into passages of at most ``limit`` chars; a longer paragraph is cut at sentence ends.

    The title is the heading trail (``Photosynthesis > The Calvin cycle``), or ``name`` before any heading.
    """
    lines = text.split("\n")
    first = 0
    if lines and lines[0].strip() == "---":  # YAML front matter is metadata, not teaching text
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                first = i + 1
                break
    chunks: list[Chunk] = []
    trail: list[tuple[int, str]] = []
    paragraphs: list[tuple[int, str]] = []
    current: list[str] = []
    current_line = 0
    fence: str | None = None

    def close_paragraph() -> None:
        nonlocal current
        if current:
            paragraphs.append((current_line, "\n".join(current).strip()))
        current = []

    def close_section() -> None:
        close_paragraph()
        title = " > ".join(t for _, t in trail) or name
        packed: list[str] = []
        packed_line = 0
        for line, para in paragraphs:
            if len(para) > limit:
                if packed:
                    chunks.append(Chunk(DOCUMENT, packed_line, "", title, "\n\n".join(packed)))
                    packed = []
                for offset, piece in _split_long(para, limit):
                    chunks.append(Chunk(DOCUMENT, line + para.count("\n", 0, offset), "", title, piece))
                continue
            if packed and sum(len(p) + 2 for p in packed) + len(para) > limit:
                chunks.append(Chunk(DOCUMENT, packed_line, "", title, "\n\n".join(packed)))
                packed = []
            if not packed:
                packed_line = line
            packed.append(para)
        if packed:
            chunks.append(Chunk(DOCUMENT, packed_line, "", title, "\n\n".join(packed)))
        paragraphs.clear()

    for index in range(first, len(lines)):
        line = lines[index]
        fence_match = _FENCE.match(line)
        if fence is not None:
            current.append(line)
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
            continue
        if fence_match:
            if not current:
                current_line = index + 1
            current.append(line)
            fence = fence_match.group(1)
            continue
        heading = _HEADING.match(line)
        if heading:
            close_section()
            level = len(heading.group(1))
            trail[:] = [(lv, t) for lv, t in trail if lv < level]
            label = (heading.group(2) or "").strip()
            if label:
                trail.append((level, label))
            continue
        if not line.strip():
            close_paragraph()
            continue
        if not current:
            current_line = index + 1
        current.append(line)
    close_section()
    return chunks


def document_passages(raw: bytes, file: str, name: str) -> tuple[list[Chunk], Finding | None]:
    """The passages of one markdown file, or a finding when it is too large or not UTF-8."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        return [], finding(
            "file-too-large",
            f"document is {len(raw):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,}",
            hint="split the document into smaller markdown files",
            file=file,
        )
    text, problem = yamlload.decode(raw)
    if text is None:
        assert problem is not None
        return [], problem.at(file)
    return markdown_passages(text, name), None
