"""``edubot taxonomy list``: every leaf with its kind, version, seed-example count and word counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TaxonomyError
from . import lint, yamlload
from .findings import Finding
from .model import KNOWLEDGE, read_leaf
from .validate import discover, display_path


@dataclass
class Leaf:
    """One qna.yaml: ``path`` is its folder relative to the taxonomy root."""

    path: str
    kind: str
    version: int | None
    seed_examples: int
    qna_pairs: int
    context_words: int
    qna_words: int
    readable: bool = True

    @property
    def words(self) -> int:
        return self.context_words + self.qna_words

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "words": self.words}


@dataclass
class TaxonomyStats:
    root: str
    leaves: list[Leaf] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for leaf in self.leaves:
            kinds[leaf.kind] = kinds.get(leaf.kind, 0) + 1
        return {
            "leaves": len(self.leaves),
            **{f"{k}_leaves": n for k, n in sorted(kinds.items())},
            "seed_examples": sum(x.seed_examples for x in self.leaves),
            "qna_pairs": sum(x.qna_pairs for x in self.leaves),
            "context_words": sum(x.context_words for x in self.leaves),
            "qna_words": sum(x.qna_words for x in self.leaves),
            "words": sum(x.words for x in self.leaves),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "leaves": [x.to_dict() for x in self.leaves], "totals": self.totals()}


def _kind(relative: Path | None, knowledge: bool) -> str:
    """The leaf's kind by its top folder, else ``knowledge`` for a leaf with a document (``model.kind_of``)."""
    top = relative.parts[0] if relative is not None and relative.parts else None
    if top == "knowledge":
        return "knowledge"
    if top == "compositional_skills":
        return "compositional_skill"
    if top == "foundational_skills":
        return "foundational_skill"
    return "knowledge" if knowledge else "compositional_skill"


def leaf_stats(path: Path, root: Path) -> Leaf:
    """Counts for one qna.yaml (a leaf with ``readable=False`` when it does not load as a mapping)."""
    relative = lint.taxonomy_relative(path, root)
    try:
        shown = str(path.parent.resolve().relative_to(root.resolve()))
    except ValueError:
        shown = display_path(path.parent)
    try:
        raw = path.read_bytes()
    except OSError:
        raw = b""
    leaf = read_leaf(raw, relative.as_posix() if relative is not None else path.name)
    if isinstance(leaf, Finding) or leaf.empty:
        return Leaf(shown, _kind(relative, False), None, 0, 0, 0, 0, readable=False)
    pairs = context_words = qna_words = 0
    for seed in leaf.seeds:
        context_words += yamlload.words(seed.context)
        for pair in seed.pairs if seed.has_pairs else (seed.skill_pair,):
            pairs += pair.complete  # only complete pairs: a question without an answer teaches nothing
            qna_words += yamlload.words(pair.question) + yamlload.words(pair.answer)
    return Leaf(
        shown,
        _kind(relative, leaf.kind == KNOWLEDGE),
        leaf.version,
        leaf.seed_count,
        pairs,
        context_words,
        qna_words,
    )


def collect(root: Path) -> TaxonomyStats:
    """Stats for every qna.yaml under ``root``, sorted by path."""
    if not root.is_dir():
        raise TaxonomyError(
            f"taxonomy root {root} is not a folder",
            hint="run from the project folder, or pass --taxonomy (or set taxonomy_path in the config)",
        )
    files = [f for f in discover([root]) if f.name == "qna.yaml"]
    leaves = sorted((leaf_stats(f, root) for f in files), key=lambda x: x.path)
    return TaxonomyStats(display_path(root), leaves)
