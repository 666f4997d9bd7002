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


SOURCE_TEXT_FIELDS = ("file", "yaml_path", "title", "snippet")


@dataclass(frozen=True, slots=True)
class Source:
    """One cited passage: what retrieval finds, what ``/chat`` returns in ``sources``, what the terminal chat shows
    and saves (the one shape from the index to the screen).

    ``n`` is the 1-based rank (the ``[n]`` marker in the prompt); ``file`` is relative to the taxonomy root
    (``<repo>/<path>`` for a document outside it); ``line`` is where the passage starts; ``yaml_path`` is e.g.
    ``seed_examples[2].context`` ('' for documents); ``score`` is BM25, higher is better (None once saved: it is a
    retrieval detail).
    """

    n: int
    file: str
    line: int
    yaml_path: str = ""
    title: str = ""
    snippet: str = ""
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """As ``/chat`` returns it."""
        return asdict(self)

    @property
    def citation(self) -> str:
        """``[1] title — file:line``, as the web page shows it."""
        return f"[{self.n}] {self.title} — {self.file}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        """As a conversation saves it (the web page's fields; not the score)."""
        return {
            "n": self.n,
            "line": self.line,
            "file": self.file,
            "yaml_path": self.yaml_path,
            "title": self.title,
            "snippet": self.snippet,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Source | None:
        """A source from ``/chat`` or a saved file; ``None`` unless ``n`` and ``line`` are integers and the
        text fields strings."""
        if not isinstance(raw, dict):
            return None
        n, line = raw.get("n"), raw.get("line")
        if type(n) is not int or type(line) is not int:
            return None
        texts = {name: raw.get(name, "") for name in SOURCE_TEXT_FIELDS}
        if not all(isinstance(value, str) for value in texts.values()):
            return None
        score = raw.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float):
            score = None
        return cls(n=n, line=line, score=score, **texts)


def sources_from_json(raw: Any) -> list[Source] | None:
    """The sources of a ``/chat`` answer or a saved message; ``None`` when ``raw`` is not a list of sources."""
    if not isinstance(raw, list):
        return None
    sources = [Source.from_json(item) for item in raw]
    return None if any(source is None for source in sources) else [s for s in sources if s is not None]


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved source with the whole text the prompt quotes (the snippet is only its start)."""

    source: Source
    text: str
