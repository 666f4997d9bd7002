"""Seed examples as ``taxonomy add`` builds them, and the prompt it asks through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIN_SEED_EXAMPLES = 5
MIN_QNA_PER_CONTEXT = 3

Prompt = Callable[[str, "str | None"], str]
"""Asks the user ``question`` (offering ``default``) and returns the answer."""


@dataclass
class QA:
    question: str
    answer: str


@dataclass
class Seed:
    """A knowledge seed example (context + Q&A list) or a skill one (one Q&A, optional context)."""

    context: str | None
    qas: list[QA]


def text_value(value: Any) -> str | None:
    """``value`` as stripped text; None for None or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
