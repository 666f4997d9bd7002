"""The questions ``edubot eval`` asks: the taxonomy's own knowledge Q&A pairs and skill examples, each with its
reference answer and the place it comes from.

Without a holdout: every knowledge Q&A pair and every skill example (a skill example's ``context``, when it has
one, goes before its question, as the example gives it to the model). With ``holdout`` K: only the last K pairs of
each knowledge context, the ones an index built with ``holdout=K`` leaves out; skill examples are not asked then,
since their text is in the index whatever K is.

``only_leaves`` keeps the questions of the leaves ``--leaf`` names: a leaf folder relative to the taxonomy root
(``knowledge/science/biology/photosynthesis``) or a folder above leaves (``knowledge/science``: all the leaves
under it), whole folder names only; a path to it from the working folder (``taxonomy/knowledge/science``) or to
its ``qna.yaml`` is taken too. A name that matches no leaf with questions is an error listing the close matches.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TaxonomyError
from ..grounding.passages import yaml_path
from ..taxonomy.findings import Finding
from ..taxonomy.model import KNOWLEDGE, SKILL, read_leaf
from ..taxonomy.validate import TAXONOMY_FILE, discover
from .retrieval import ALL_PAIRS, all_questions


@dataclass(frozen=True, slots=True)
class Question:
    """One question to ask: ``file`` is the leaf's ``qna.yaml`` relative to the taxonomy root (posix), ``yaml_path``
    where the question is, ``context_path`` the passage it should retrieve."""

    leaf: str
    file: str
    line: int
    kind: str
    yaml_path: str
    context_path: str
    question: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "leaf": self.leaf,
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "yaml_path": self.yaml_path,
            "question": self.question,
            "reference": self.reference,
        }


def _leaf(file: str) -> str:
    return file.rsplit("/", 1)[0] if "/" in file else ""


def skill_examples(raw: bytes, file: str) -> list[Question]:
    """The examples of one skill ``qna.yaml`` that have both a question and an answer (none for a knowledge file or
    one that cannot be read)."""
    leaf = read_leaf(raw, file)
    if isinstance(leaf, Finding) or leaf.kind != SKILL:
        return []
    found: list[Question] = []
    for seed in leaf.seeds:
        if not seed.skill_pair.complete:
            continue
        where = yaml_path(["seed_examples", seed.index])
        asked = f"{seed.context}\n\n{seed.question}" if seed.context else seed.question
        found.append(Question(leaf.folder, file, seed.line, SKILL, where, where, asked, seed.answer))
    return found


def collect(root: Path, *, holdout: int = 0) -> list[Question]:
    """The questions of the taxonomy at ``root`` (see the module doc), knowledge first, each in file and line order.

    Raises ``TaxonomyError`` when ``root`` is not a folder or holds no question."""
    if not root.is_dir():
        raise TaxonomyError(
            f"the taxonomy folder {root} does not exist",
            hint="pass --taxonomy DIR or create a leaf with `edubot taxonomy add`",
        )
    knowledge = [
        Question(
            _leaf(item.file),
            item.file,
            item.line,
            KNOWLEDGE,
            item.yaml_path,
            item.context_path,
            item.question,
            item.answer,
        )
        for item in all_questions(root, holdout=holdout if holdout > 0 else ALL_PAIRS)
        if item.question and item.answer
    ]
    skills: list[Question] = []
    if holdout <= 0:
        resolved = root.resolve()
        for path in discover([resolved]):
            if path.name == TAXONOMY_FILE:
                skills += skill_examples(path.read_bytes(), path.relative_to(resolved).as_posix())
    questions = knowledge + skills
    if not questions:
        what = "held-out knowledge Q&A pair" if holdout > 0 else "knowledge Q&A pair or skill example"
        raise TaxonomyError(
            f"the taxonomy {root} has no {what} to ask",
            hint="add seed examples with `edubot taxonomy add`, or check them with `edubot taxonomy validate`",
        )
    return questions


def _leaf_name(root: Path, given: str) -> str:
    """``given`` as a taxonomy-relative folder: slashes forward, no ``./``, trailing ``/`` or ``qna.yaml``, and a
    path from the working folder into the taxonomy made relative to its root."""
    text = given.strip()
    on_disk = Path(text)
    name = text
    if on_disk.exists():
        with contextlib.suppress(ValueError):
            name = on_disk.resolve().relative_to(root.resolve()).as_posix()
    name = name.replace("\\", "/").strip("/")
    while name.startswith("./"):
        name = name[2:]
    if name == TAXONOMY_FILE or name.endswith("/" + TAXONOMY_FILE):
        name = name[: -len(TAXONOMY_FILE)].rstrip("/")
    return "" if name == "." else name


def _under(leaf: str, name: str) -> bool:
    return leaf == name or leaf.startswith(name + "/")


def only_leaves(questions: Sequence[Question], leaves: Sequence[str], root: Path) -> list[Question]:
    """The questions of ``leaves`` (see the module doc), in their order. Raises ``TaxonomyError`` for a name that
    matches no leaf of ``questions``, with the close matches."""
    names = [_leaf_name(root, given) for given in leaves]
    known = sorted({q.leaf for q in questions})
    for given, name in zip(leaves, names, strict=True):
        if name and any(_under(leaf, name) for leaf in known):
            continue
        folders = sorted(
            {"/".join(leaf.split("/")[:n]) for leaf in known for n in range(1, leaf.count("/") + 2)}
        )
        close = difflib.get_close_matches(name, folders, n=3, cutoff=0.6)
        listed = close or known[:5]
        raise TaxonomyError(
            f"--leaf {given!r} matches no leaf with questions to ask in {root}",
            hint=("close matches: " if close else "leaves with questions: ")
            + ", ".join(listed)
            + ("" if close or len(known) <= 5 else ", ... (`edubot taxonomy list` lists them all)"),
        )
    return [q for q in questions if any(_under(q.leaf, name) for name in names)]
