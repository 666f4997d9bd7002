"""Retrieval quality on the taxonomy's own seed data: does each knowledge question find its own context?

``seed_recall`` asks every knowledge question (with ``holdout`` K: only the held-out ones, whose own Q&A text is
not in the index) and counts how often the passage of its context is among the top ``k``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..grounding.index import TaxonomyIndex
from ..grounding.passages import HeldOut, qna_passages
from ..taxonomy.validate import TAXONOMY_FILE, discover

ALL_PAIRS = 1 << 30


@dataclass(frozen=True, slots=True)
class Miss:
    """A question whose context was not in the top k: ``got`` lists what was (``file#yaml_path``)."""

    file: str
    yaml_path: str
    question: str
    expected: str
    got: list[str]


@dataclass
class RecallReport:
    k: int
    holdout: int
    questions: int = 0
    hits: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.hits / self.questions if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "holdout": self.holdout,
            "questions": self.questions,
            "hits": self.hits,
            "recall": round(self.recall, 4),
            "misses": [asdict(m) for m in self.misses],
        }


def all_questions(root: Path, *, holdout: int = ALL_PAIRS) -> list[HeldOut]:
    """The knowledge Q&A pairs under ``root`` with the yaml path of their context, in file and line order: every
    pair, or with ``holdout`` K the last K of each context (the ones an index built with ``holdout=K`` leaves
    out). Files that cannot be parsed yield none."""
    found: list[HeldOut] = []
    resolved = root.resolve()
    for path in discover([resolved]):
        if path.name != TAXONOMY_FILE:
            continue
        file = path.relative_to(resolved).as_posix()
        found += qna_passages(path.read_bytes(), file, holdout=holdout).held_out
    return found


def seed_recall(
    root: Path,
    *,
    k: int = 3,
    holdout: int = 0,
    path: Path | None = None,
    docs_dir: Path | None = None,
) -> RecallReport:
    """Recall@k of knowledge questions for their own context's passage, on an index built with ``holdout``."""
    report = RecallReport(k=k, holdout=holdout)
    with TaxonomyIndex(root, path, holdout=holdout, docs_dir=docs_dir) as index:
        index.refresh()
        questions = index.held_out() if holdout else all_questions(root)
        for item in questions:
            top = index.search(item.question, k)
            got = [f"{s.file}#{s.yaml_path}" for s in top]
            report.questions += 1
            if f"{item.file}#{item.context_path}" in got:
                report.hits += 1
            else:
                report.misses.append(
                    Miss(item.file, item.yaml_path, item.question, f"{item.file}#{item.context_path}", got)
                )
    return report
