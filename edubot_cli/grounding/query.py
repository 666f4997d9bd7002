"""Free text to the words of a safe FTS5 query; ``TaxonomyIndex`` quotes each and joins them by OR (BM25 ranks).

User text never reaches FTS5 as syntax: every term is a run of letters and digits, wrapped in double quotes, so
``NEAR(``, ``col:x*``, ``AND``, ``^`` or an unbalanced quote are plain words (or nothing) and cannot become
operators, column filters or prefix queries.
"""

from __future__ import annotations

import re

_TERM = re.compile(r"[^\W_]+")

MAX_TERMS = 32
"""Terms kept from a long query (question plus recent turns): enough for meaning, bounded search time."""

_STOP_WORDS = """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    please tell explain"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
"""Common English words that match nearly every passage: dropped from the query (unless nothing else is left),
which keeps the OR query short and fast without changing the ranking much (BM25 gives them little weight)."""


def terms(text: str) -> list[str]:
    """The distinct lowercase words of ``text`` in order, stop words dropped unless they are all there is."""
    words = list(dict.fromkeys(m.group(0).lower() for m in _TERM.finditer(text)))
    content = [w for w in words if w not in STOP_WORDS]
    return (content or words)[:MAX_TERMS]
