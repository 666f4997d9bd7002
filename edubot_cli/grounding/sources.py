"""What retrieval hands out: ``Source`` (the citation the API returns) and ``Passage`` (a source plus its text)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

SNIPPET_CHARS = 300
_SPACE = re.compile(r"\s+")


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` with whitespace collapsed, cut at a word boundary to at most ``limit`` chars (``…`` included)."""
    flat = _SPACE.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    if cut < limit // 2:
        cut = limit - 1
    return flat[:cut].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Source:
    """One cited passage, as ``/chat`` returns it in ``sources``.

    ``n`` is the 1-based rank (the ``[n]`` marker in the prompt); ``file`` is relative to the taxonomy root
    (``<repo>/<path>`` for a document outside it); ``line`` is where the passage starts; ``yaml_path`` is e.g.
    ``seed_examples[2].context`` ('' for documents); ``score`` is BM25, higher is better.
    """

    n: int
    file: str
    line: int
    yaml_path: str
    title: str
    snippet: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved source with the whole text the prompt quotes (the snippet is only its start)."""

    source: Source
    text: str
