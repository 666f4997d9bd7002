"""Answering from the material itself: the sentence of the passages that answers the question, quoted and cited.

This is the fallback when a grounded answer states a fact its passages do not hold: the reader gets the
teacher's own words instead of a model's guess. A sentence scores by the question's words it shares (stemmed,
stop words left out) plus a bonus when it holds the kind of fact the question asks for: a number for "how many",
"how much", "when", "what time"; a name for "who". Higher-ranked passages win ties. A short best sentence (a
heading, "Prices:") brings the next one along.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .facts import claims
from .words import content_stems, sentences

QUOTE_INTRO = "From your class notes:"
SHORT_SENTENCE = 30
MIN_SHARE = 0.2
"""The least share of the question's (rarity-weighted) words a quoted sentence must hold."""
"""A quoted sentence shorter than this many characters is followed by the next sentence of its passage."""

_MONTHS = "january february march april may june july august september october november december"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_KINDS: dict[str, re.Pattern[str]] = {
    "money": re.compile(r"[£$€]\s?\d|\b\d+(?:\.\d+)?\s?(?:p|pence|pounds?|dollars?|euros?)\b", re.I),
    "time": re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s?[ap]\.?m\b|\bnoon\b|\bmidday\b", re.I),
    "date": re.compile(
        rf"\b(?:{'|'.join(_MONTHS.split())}|{'|'.join(_DAYS.split())})\b|\b(?:1[6-9]|20)\d\d\b", re.I
    ),
    "count": re.compile(
        r"(?<![£$€:.\d])\b\d+(?:,\d{3})*\b(?![:.]\d)|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|"
        r"twelve|twenty|thirty|forty|fifty|hundred|dozen)\b",
        re.I,
    ),
    "place": re.compile(r"\b[A-Z]{1,2}\d{1,3}\b|\b(?:Room|Lab|Hall|Block|Building|Library|Centre)\b"),
}
_QUESTIONS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bhow much\b|\b(?:cost|price|fee|fine|charge)s?\b", re.I), ("money",)),
    (re.compile(r"\bwhat time\b|\bfrom what time\b|\bhow late\b|\bhow early\b", re.I), ("time",)),
    (
        re.compile(r"\bwhich (?:day|date|month|year)\b|\bwhat (?:day|date|year)\b|\bin which year\b", re.I),
        ("date",),
    ),
    (re.compile(r"^\W*when\b", re.I), ("date", "time")),
    (
        re.compile(r"\bhow (?:many|long|old|far|often)\b|\bwhat (?:number|percentage|score)\b", re.I),
        ("count",),
    ),
    (re.compile(r"^\W*(?:who|whose|whom)\b|\bwhich (?:teacher|person|pupil|student)\b", re.I), ("name",)),
    (re.compile(r"\bwhich room\b|\bwhere\b|\bwhat room\b", re.I), ("place",)),
]
FACT_BONUS = 1.5


def wanted_facts(question: str) -> tuple[str, ...]:
    """The kinds of fact ``question`` asks for (``money``, ``time``, ``date``, ``count``, ``name``, ``place``):
    empty for a question that is not a factoid one."""
    for pattern, kinds in _QUESTIONS:
        if pattern.search(question):
            return kinds
    return ()


def holds_kind(sentence: str, kind: str) -> bool:
    """Whether ``sentence`` states a fact of ``kind``."""
    if kind == "name":
        return any(fact.kind == "name" for fact in claims(sentence))
    return _KINDS[kind].search(sentence) is not None


@dataclass(frozen=True, slots=True)
class Quote:
    """The quoted text (one or two sentences) and the number of the passage it comes from."""

    n: int
    text: str

    def render(self) -> str:
        return f"{QUOTE_INTRO} “{self.text}” [{self.n}]"


def best_quote(question: str, passages: Sequence[tuple[int, str]]) -> Quote | None:
    """The sentence(s) of ``passages`` (``(n, text)``, best-ranked first) that answer ``question`` best, or
    None when no sentence shares enough words with it.

    Each shared word counts by its rarity among the passages' sentences (``log(1 + N / df)``): "adult ticket"
    tells more than "Spring Concert" in a passage about the concert. A sentence must share at least
    ``MIN_SHARE`` of the question's weight."""
    wanted = content_stems(question)
    kinds = wanted_facts(question)
    split = [(n, [s for s in sentences(text) if not s.startswith(("Q: ", "A: "))]) for n, text in passages]
    stems = [[content_stems(s) for s in found] for _, found in split]
    total = sum(len(found) for _, found in split) or 1
    frequency: dict[str, int] = {}
    for group in stems:
        for sentence_stems in group:
            for word in sentence_stems & wanted:
                frequency[word] = frequency.get(word, 0) + 1
    weight = {word: math.log(1 + total / frequency.get(word, 1)) for word in wanted}
    need = MIN_SHARE * sum(weight.values())
    best: tuple[float, int, int, list[str]] | None = None
    for rank, ((n, found), group) in enumerate(zip(split, stems, strict=True)):
        for i, sentence in enumerate(found):
            shared = sum(weight[word] for word in group[i] & wanted)
            if not shared or shared < need:
                continue
            score = shared - 0.25 * rank
            if any(holds_kind(sentence, kind) for kind in kinds):
                score += FACT_BONUS * max(weight.values(), default=1)
            if best is None or score > best[0]:
                best = (score, n, i, found)
    if best is None:
        return None
    _, n, i, found = best
    text = found[i]
    if len(text) < SHORT_SENTENCE and i + 1 < len(found):
        text = f"{text} {found[i + 1]}"
    return Quote(n, " ".join(text.split()))  # a wrapped line is one sentence
