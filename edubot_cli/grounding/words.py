"""Words and sentences of plain text, for matching a question, an answer and a passage without a tokenizer.

``stem`` folds the common English inflections (``leaves`` → ``leav``, ``rebuilt`` stays) so that the same word
in two forms matches; it is applied to both sides of every comparison, so its crudeness never matters more than
the two sides' difference. ``sentences`` cuts at ``.``, ``!``, ``?``, blank lines and list items, but not at a wrapped line nor inside numbers
(``8.45``, ``£18.50``) or after the usual abbreviations (``Mr.``, ``e.g.``).
"""

from __future__ import annotations

import re

from .query import STOP_WORDS

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SUFFIXES = ("ing", "ies", "ied", "es", "ed", "ly", "s")
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "prof",
        "mt",
        "no",
        "vs",
        "etc",
        "eg",
        "ie",
        "e.g",
        "i.e",
        "approx",
        "dept",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)|\n\s*\n\s*|\n(?=[ \t]*(?:Q: |A: |[-*•+] |#|\d+[.)] ))")
"""A sentence end: closing punctuation and the spaces after it, a blank line, or a line break before a list item,
a heading or a ``Q:``/``A:`` line. A single line break inside a paragraph is a wrapped line, not an end."""


def words(text: str) -> list[str]:
    """The words of ``text`` (letters and digits, inner apostrophes kept), lowercase, in order."""
    return [m.group(0).lower().replace("’", "'") for m in _WORD.finditer(text)]


def stem(word: str) -> str:
    """``word`` without a possessive, one common suffix and a final ``e``, when at least three letters stay:
    ``close``, ``closes`` and ``closed`` are all ``clos``."""
    word = word.lower().removesuffix("'s").removesuffix("’s")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


FILLER = frozenset(
    [
        "one",
        "get",
        "gets",
        "got",
        "many",
        "much",
        "make",
        "makes",
        "made",
        "take",
        "takes",
        "use",
        "used",
        "can",
    ]
)
"""Words of a question that say little about its topic, besides the stop words."""


def content_stems(text: str) -> set[str]:
    """The stems of ``text``'s words, stop words and ``FILLER`` left out."""
    return {stem(w) for w in words(text) if w not in STOP_WORDS and w not in FILLER}


def sentence_ends(text: str) -> list[int]:
    """Offsets just past each sentence boundary in ``text`` (after the closing punctuation and the spaces that
    follow it, or after a run of line ends). A boundary needs the space after it: ``8.45`` is one number."""
    ends: list[int] = []
    for match in _BOUNDARY.finditer(text):
        if match.group(1):
            before = text[: match.start(1)]
            last = before.rsplit(None, 1)[-1].lower() if before.strip() else ""
            if match.group(1) == "." and (last in ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
                continue
        ends.append(match.end())
    return ends


def sentences(text: str) -> list[str]:
    """``text`` cut into its sentences (each stripped; empty ones left out)."""
    out: list[str] = []
    start = 0
    for end in sentence_ends(text):
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out
