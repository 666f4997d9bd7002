"""Staying on the syllabus: is a question covered by the material retrieval found for it?

``scope: strict`` answers only what the taxonomy covers; a question it does not cover gets ``out_of_scope_reply``
(what the bot can help with: the topics of the scope) and is recorded as unanswered. ``lenient`` lets the model
answer it but records it as outside the syllabus; ``off`` does not check.

The measure is coverage: the share of the question's words, each weighted by how rare it is in the taxonomy
(BM25's idf), that the best passages hold. A word the taxonomy never uses weighs ``ABSENT_WEIGHT`` times its idf:
"What is the capital of France?" against a science taxonomy has two such words and scores 0. Words that frame
a question rather than name its topic ("how many", "biggest", "first") are left out (``GENERIC``), so "How many
days are in a year on Jupiter?" is judged by "Jupiter". BM25 scores themselves are not used: they have no fixed
scale across taxonomies and questions.

``COVERAGE_CUT`` and ``ABSENT_WEIGHT`` were calibrated on the taxonomies' own held-out questions (the sample
taxonomy and ``tests/benchmarks/taxonomies/northbrook``, each index built without them) against 123 off-topic
questions (``tests/safety/labelled/off_topic.jsonl``); ``tests/benchmarks/bench_safety.py`` prints both error
rates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..grounding.query import STOP_WORDS, terms

if TYPE_CHECKING:
    from ..grounding.index import TaxonomyIndex
    from ..grounding.sources import Passage

STRICT = "strict"
LENIENT = "lenient"
OFF = "off"
SCOPES = (STRICT, LENIENT, OFF)

COVERAGE_CUT = 0.5
"""A question whose coverage is below this is outside the syllabus."""
ABSENT_WEIGHT = 1.5
"""How much more a word the taxonomy never uses counts than its idf."""
TOP_PASSAGES = 3
"""How many of the retrieved passages (best first) count as what the answer would draw on."""

_GENERIC_TEXT = """
    many much time times long far best first last one get got make made use used give given need must become
    kind way thing things people like good favourite does do did happen happens mean means work works called
    call new old big small biggest smallest largest take took go goes find know tell say said help who what
    can could again more simply simpler simple example examples answer answers question questions understand
    explain elaborate detail details sorry ok okay yes yeah thanks thank another else bit step steps
    """
GENERIC = frozenset(_GENERIC_TEXT.split())
"""Words that frame a question without naming its topic, and the words of a follow-up ("can you explain that
again more simply?"), which retrieval grounds through the conversation's previous turn."""

_SOCIAL = re.compile(
    r"(?i)^\W*(?:hi|hello|hey|hiya|yo|thanks|thank you|thank u|thx|ty|cheers|ok|okay|k|cool|great|nice|bye|"
    r"goodbye|see you|good morning|good afternoon|good night|yes|no|yeah|yep|nope|sure|please|sorry|"
    r"i don'?t understand|i dont get it|what\??|huh\??|can you help me\??|help)\W*(?:edubot|bot)?\W*$"
)
"""Small talk: always in scope (the model greets and thanks; there is nothing to ground)."""


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    """``in_scope``; ``coverage`` (0..1, see the module docstring); ``reason``: ``covered``, ``not covered``,
    ``small talk`` or ``no topic words`` (a follow-up such as "can you explain that again?")."""

    in_scope: bool
    coverage: float
    reason: str


def within(passages: Sequence[Passage], subtrees: Sequence[str]) -> list[Passage]:
    """The passages under one of the taxonomy folders ``subtrees`` (all of them without subtrees)."""
    if not subtrees:
        return list(passages)
    prefixes = tuple(s.strip("/") + "/" for s in subtrees)
    return [p for p in passages if p.source.file.startswith(prefixes)]


def coverage(index: TaxonomyIndex, question: str, passages: Sequence[Passage]) -> float | None:
    """The idf-weighted share of ``question``'s topic words found in the best ``TOP_PASSAGES`` of ``passages``;
    None when the question has no topic words."""
    words = [w for w in terms(question) if w not in GENERIC and w not in STOP_WORDS]
    if not words:
        return None
    stems = index.stems(words)
    wanted = [found for found in stems if found]
    if not wanted:
        return None
    counts, total = index.frequencies(s for found in wanted for s in found)
    text = " ".join(f"{p.source.title} {p.text}" for p in passages[:TOP_PASSAGES])
    held = {
        s for found in index.stems(list(dict.fromkeys(re.findall(r"[^\W_]+", text.lower())))) for s in found
    }
    weight = covered = 0.0
    for found in wanted:
        n = max(counts.get(s, 0) for s in found)
        idf = math.log((total - n + 0.5) / (n + 0.5) + 1)
        if n == 0:
            idf *= ABSENT_WEIGHT
        weight += idf
        if found & held:
            covered += idf
    return covered / weight if weight else None


def check_scope(
    index: TaxonomyIndex, question: str, passages: Sequence[Passage], *, cut: float = COVERAGE_CUT
) -> ScopeCheck:
    """Whether ``question`` is covered by ``passages`` (what retrieval found for it, best first, already limited
    to the scope's subtrees: ``within``)."""
    if _SOCIAL.match(question.strip()):
        return ScopeCheck(True, 1.0, "small talk")
    share = coverage(index, question, passages)
    if share is None:
        return ScopeCheck(True, 1.0, "no topic words")
    share = round(share, 3)
    return ScopeCheck(share >= cut, share, "covered" if share >= cut else "not covered")


def scope_topics(root: Path, subtrees: Sequence[str] = ()) -> list[str]:
    """The knowledge topics under ``root`` (within ``subtrees`` if given): each leaf in its own words, with its
    domain when that says more (``Photosynthesis (Biology)``), sorted."""
    from ..grounding.passages import leaf_name
    from ..taxonomy.findings import Finding
    from ..taxonomy.model import KNOWLEDGE, read_leaf
    from ..taxonomy.validate import TAXONOMY_FILE, discover

    resolved = root.resolve()
    prefixes = tuple(s.strip("/") + "/" for s in subtrees)
    topics: set[str] = set()
    if not resolved.is_dir():
        return []
    for path in discover([resolved]):
        if path.name != TAXONOMY_FILE:
            continue
        file = path.relative_to(resolved).as_posix()
        if prefixes and not file.startswith(prefixes):
            continue
        leaf = read_leaf(path.read_bytes(), file)
        if isinstance(leaf, Finding) or leaf.kind != KNOWLEDGE:
            continue
        name = leaf_name(leaf.folder)
        domain = leaf.domain.strip()
        same = domain.lower() in name.lower() or name.lower() in domain.lower()
        topics.add(name if not domain or same else f"{name} ({domain})")
    return sorted(topics)


def out_of_scope_reply(topics: Sequence[str], limit: int = 8) -> str:
    """What the bot says to a question outside the syllabus under ``strict``: that it cannot answer it here, and
    the topics it can help with (the first ``limit``, and how many more)."""
    if not topics:
        return (
            "That question is outside what I can help with in this class. Ask me about your lessons, or ask your "
            "teacher."
        )
    shown = list(topics[:limit])
    more = len(topics) - len(shown)
    listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    return (
        "That question is outside what this class covers, so I can't answer it here. I can help with: "
        f"{listed}. You could also ask your teacher."
    )
