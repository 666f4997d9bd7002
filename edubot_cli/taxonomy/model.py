"""The taxonomy as typed data: a leaf (one ``qna.yaml``), its seed examples, their Q&A pairs and its document
reference, each with the 1-based line it starts at, read by one tolerant reader (``read_leaf``).

What reads a taxonomy to use it (the grounding passages, the evaluation's questions, ``taxonomy list``) reads
this model. Validation (``validate``, ``lint``, ``checks``) reads the raw node tree instead, because it must see
what a file got wrong, which a typed model cannot hold: here a field of the wrong type is simply absent (a
missing or non-text question is ``""``, a seed example that is not a mapping is skipped).

Text fields are stripped strings; anything else where text belongs (``answer: 42``, which InstructLab's schema
refuses) counts as absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import Node

from . import yamlload
from .findings import Finding, finding
from .schema import file_version

KNOWLEDGE = "knowledge"
SKILL = "skill"


@dataclass(frozen=True, slots=True)
class QnaPair:
    """One question and its answer: in a knowledge seed example's ``questions_and_answers`` (``index`` there), or
    a skill example's own (``index`` -1)."""

    index: int
    question: str
    answer: str
    line: int

    @property
    def complete(self) -> bool:
        return bool(self.question and self.answer)


@dataclass(frozen=True, slots=True)
class SeedExample:
    """One item of ``seed_examples``: ``line`` of the item, ``context_line`` of its ``context`` key (the item's line
    without one). ``pairs``: a knowledge example's Q&A pairs (``has_pairs``: it gives a list); a skill example's
    ``question``/``answer`` are its one pair, ``skill_pair``."""

    index: int
    line: int
    context: str
    context_line: int
    pairs: tuple[QnaPair, ...]
    has_pairs: bool
    question: str
    answer: str

    @property
    def skill_pair(self) -> QnaPair:
        return QnaPair(-1, self.question, self.answer, self.line)


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A knowledge leaf's ``document``: where its markdown lives (``repo``, ``patterns``, ``commit``), and the line
    of ``document.repo``."""

    repo: str
    patterns: tuple[str, ...]
    line: int
    commit: str = field(default="", compare=False)
    """Not part of what the index keys documents by: their files are read from the working copy."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """One ``qna.yaml`` at ``file`` (relative to the taxonomy root, posix)."""

    file: str
    kind: str
    """``knowledge`` or ``skill`` (``kind_of``)."""
    top: str
    """The top folder (``knowledge``, ``compositional_skills``, ``foundational_skills``), or "" outside them."""
    version: int | None
    """The schema version InstructLab reads (``version``, default 1; not a number: 1); None when it is not an int
    once read that way."""
    domain: str
    created_by: str
    document: DocumentRef | None
    seeds: tuple[SeedExample, ...]
    seed_count: int
    """Items of ``seed_examples``, mappings or not."""
    empty: bool = False
    """The document is empty (no YAML value at all)."""

    @property
    def folder(self) -> str:
        return self.file.rsplit("/", 1)[0] if "/" in self.file else ""


def kind_of(file: str, data: Mapping[Any, Any]) -> str:
    """knowledge or skill, by the top folder (as InstructLab), else by the presence of ``document``."""
    top = file.split("/", 1)[0]
    if top == "knowledge":
        return KNOWLEDGE
    if top in ("compositional_skills", "foundational_skills"):
        return SKILL
    return KNOWLEDGE if "document" in data else SKILL


def text(value: object) -> str:
    """A text field's value: a string stripped; anything else (a number included: InstructLab's schema wants
    text) is ""."""
    return value.strip() if isinstance(value, str) else ""


def load_yaml(raw: bytes) -> tuple[Node | None, Any, Finding | None]:
    """The node tree and data of a qna.yaml: through libyaml when PyYAML has it (about 15x faster than the pure
    Python composer ``yamlload`` uses), else, or when libyaml refuses the file, through ``yamlload.load`` (whose
    finding then says where the file is broken).

    The reader walks the seed examples only, never the whole tree, so the alias-expansion guard of ``yamlload``
    is not needed for safety here: aliases construct shared objects, not copies.
    """
    if yaml.__with_libyaml__ and len(raw) <= yamlload.MAX_FILE_BYTES:
        decoded, _ = yamlload.decode(raw)
        if decoded is not None:
            loader = yaml.CSafeLoader(decoded)
            try:
                root = loader.get_single_node()
                data = loader.construct_document(root) if root is not None else None
            except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
                pass
            else:
                return root, data, None
            finally:
                loader.dispose()
    doc, problem = yamlload.load(raw)
    if doc is None:
        return None, None, problem
    return doc.root, doc.data, None


def _line(root: Node | None, parts: Sequence[str | int]) -> int:
    """Line of the key naming ``parts`` (for a mapping value), else of the node itself."""
    node, key = yamlload.node_at(root, parts)
    return yamlload.position(key if key is not None else node)[0]


def _version(data: Mapping[Any, Any]) -> int | None:
    """``schema.file_version``, less a boolean (``version: true`` is no version)."""
    value = file_version(data)
    return value if type(value) is int else None


def _document(data: Mapping[Any, Any], root: Node | None) -> DocumentRef | None:
    document = data.get("document")
    if not isinstance(document, Mapping):
        return None
    repo = text(document.get("repo"))
    patterns = document.get("patterns")
    if not repo or not isinstance(patterns, list):
        return None
    kept = tuple(p for p in patterns if isinstance(p, str) and p.strip())
    if not kept:
        return None
    return DocumentRef(repo, kept, _line(root, ["document", "repo"]), text(document.get("commit")))


def _seed(root: Node | None, i: int, seed: Mapping[Any, Any]) -> SeedExample:
    context = text(seed.get("context"))
    qas = seed.get("questions_and_answers")
    pairs: list[QnaPair] = []
    if isinstance(qas, list):
        for j, qa in enumerate(qas):
            if isinstance(qa, Mapping):
                at: list[str | int] = ["seed_examples", i, "questions_and_answers", j]
                pairs.append(QnaPair(j, text(qa.get("question")), text(qa.get("answer")), _line(root, at)))
    line = _line(root, ["seed_examples", i])
    return SeedExample(
        index=i,
        line=line,
        context=context,
        context_line=_line(root, ["seed_examples", i, "context"]) if context else line,
        pairs=tuple(pairs),
        has_pairs=isinstance(qas, list),
        question=text(seed.get("question")),
        answer=text(seed.get("answer")),
    )


def read_leaf(raw: bytes, file: str) -> Leaf | Finding:
    """The leaf in ``raw`` (a qna.yaml at ``file``), or the finding that says why it cannot be read: it does not
    parse, or its top level is not a mapping. An empty document is a leaf with nothing in it."""
    root, data, problem = load_yaml(raw)
    if problem is not None:
        return problem.at(file)
    top = file.split("/", 1)[0] if "/" in file else ""
    top = top if top in ("knowledge", "compositional_skills", "foundational_skills") else ""
    if data is None:
        return Leaf(file, kind_of(file, {}), top, 1, "", "", None, (), 0, empty=True)
    if not isinstance(data, Mapping):
        line, col = yamlload.position(root)
        return finding(
            "top-level-not-mapping",
            "the document is not a mapping of keys, so it holds no seed examples",
            line=line,
            col=col,
            hint="run `edubot taxonomy validate` for the details",
            file=file,
        )
    kind = kind_of(file, data)
    seeds = data.get("seed_examples")
    items = seeds if isinstance(seeds, list) else []
    return Leaf(
        file=file,
        kind=kind,
        top=top,
        version=_version(data),
        domain=text(data.get("domain")),
        created_by=text(data.get("created_by")),
        document=_document(data, root) if kind == KNOWLEDGE else None,
        seeds=tuple(_seed(root, i, seed) for i, seed in enumerate(items) if isinstance(seed, Mapping)),
        seed_count=len(items),
    )
