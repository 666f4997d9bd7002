"""Only the passages that matter: a relative score cut, and a window around the sentences that match.

BM25 scores have no fixed scale (they grow with the query's length and the words' rarity), so the cut is
relative to the best passage of the same query: a passage scoring below ``RELATIVE_CUT`` times the best one is
left out. ``RELATIVE_CUT`` is calibrated on the taxonomy's own held-out questions (``docs/grounding.md``): it
keeps the passage that answers the question while dropping those that share a stray word with it ("green" in a
question about leaves and in a field-trip rule).

A long passage is cut to a window of whole sentences around the one that matches the question best, growing
towards whichever neighbour matches more, until ``WINDOW_CHARS``: the model reads the sentences that carry the
answer, and the prompt stays short (a class of 32 pays for every prompt token 32 times).
"""

from __future__ import annotations

from collections.abc import Sequence

from .sources import Passage
from .words import content_stems, sentence_ends

RELATIVE_CUT = 0.6
"""A passage is kept when its score is at least this share of the best passage's score."""

WINDOW_CHARS = 600
"""A passage longer than this (about 150 tokens) is cut to a window of its best-matching sentences."""


def relevant(passages: Sequence[Passage], cut: float = RELATIVE_CUT) -> list[Passage]:
    """``passages`` (best first) less those scoring below ``cut`` times the best one's score."""
    if not passages:
        return []
    best = passages[0].source.score or 0.0  # retrieved sources always carry their score
    if best <= 0:
        return list(passages[:1])
    return [p for p in passages if (p.source.score or 0.0) >= cut * best]


def _spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for end in [*sentence_ends(text), len(text)]:
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    return spans


def window(text: str, query: str, limit: int = WINDOW_CHARS) -> str:
    """``text`` itself when it fits ``limit``; else the run of whole sentences around the sentence sharing the
    most words with ``query``, grown towards the better-matching neighbour (the later one on a tie) while it
    still fits. A first sentence longer than ``limit`` is kept whole: a window never cuts a sentence."""
    text = text.strip()
    if len(text) <= limit:
        return text
    spans = _spans(text)
    wanted = content_stems(query)
    scores = [len(wanted & content_stems(text[a:b])) for a, b in spans]
    best = max(range(len(spans)), key=lambda i: (scores[i], -i))
    first = last = best

    def size(a: int, b: int) -> int:
        return len(text[spans[a][0] : spans[b][1]].strip())

    while True:
        options = []
        if last + 1 < len(spans) and size(first, last + 1) <= limit:
            options.append((scores[last + 1], 1, last + 1))
        if first > 0 and size(first - 1, last) <= limit:
            options.append((scores[first - 1], 0, first - 1))
        if not options:
            break
        _, later, index = max(options)
        if later:
            last = index
        else:
            first = index
    return text[spans[first][0] : spans[last][1]].strip()
