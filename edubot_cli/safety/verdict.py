"""What moderation says about one text: the flags it raised (category, severity, the rule that fired), the text
with personal data masked, and the one action the chat takes.

Actions, strongest first: ``support`` (a child at risk: the model is not asked, a supportive reply with help
resources is given), ``refuse`` (a calm refusal), ``remind`` (answered, the personal data masked in the store and
the student reminded not to share it), ``answer`` (nothing to do; a ``low`` flag may still be recorded for the
teacher).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SELF_HARM = "self_harm"
VIOLENCE = "violence"
SEXUAL = "sexual"
HARASSMENT = "harassment"
PERSONAL_DATA = "personal_data"
INJECTION = "injection"
OTHER = "other"
"""A guard model's category that none of the others covers (crime, specialised advice, elections ...)."""
CATEGORIES = (SELF_HARM, VIOLENCE, SEXUAL, HARASSMENT, PERSONAL_DATA, INJECTION, OTHER)

HIGH = "high"
MEDIUM = "medium"
LOW = "low"
SEVERITIES = (HIGH, MEDIUM, LOW)
"""Strongest first. ``high``: harm to self or others (the school's alert hook runs); ``medium``: refused or
supported, shown to the teacher; ``low``: answered, shown to the teacher."""

SUPPORT = "support"
REFUSE = "refuse"
REMIND = "remind"
ANSWER = "answer"
ACTIONS = (SUPPORT, REFUSE, REMIND, ANSWER)
"""Strongest first: a verdict's action is the strongest of its flags' actions."""

_RANK = {name: i for i, name in enumerate(SEVERITIES)}
_ACTION_RANK = {name: i for i, name in enumerate(ACTIONS)}


@dataclass(frozen=True, slots=True)
class Flag:
    """One finding: ``rule`` names what fired (``self_harm.intent``, ``profanity.model``, ``guard.S11``) so that a
    teacher or a maintainer can tell why."""

    category: str
    severity: str
    action: str
    rule: str

    @property
    def label(self) -> str:
        """``self_harm:high``: how the classroom store records it on the message."""
        return f"{self.category}:{self.severity}"

    def to_dict(self) -> dict[str, str]:
        return {
            "category": self.category,
            "severity": self.severity,
            "action": self.action,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The flags raised on ``text`` and the text with personal data masked (``masked``; the text itself when
    there was none). No flags: the action is ``answer``."""

    text: str
    masked: str = ""
    flags: tuple[Flag, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.masked:
            object.__setattr__(self, "masked", self.text)

    @property
    def action(self) -> str:
        if not self.flags:
            return ANSWER
        return min((f.action for f in self.flags), key=_ACTION_RANK.__getitem__)

    @property
    def severity(self) -> str | None:
        """The strongest severity among the flags; None without flags."""
        if not self.flags:
            return None
        return min((f.severity for f in self.flags), key=_RANK.__getitem__)

    @property
    def categories(self) -> tuple[str, ...]:
        """The flagged categories, each once, in ``CATEGORIES`` order."""
        found = {f.category for f in self.flags}
        return tuple(c for c in CATEGORIES if c in found)

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @property
    def blocked(self) -> bool:
        """Whether the model is not asked (``support`` or ``refuse``)."""
        return self.action in (SUPPORT, REFUSE)

    @property
    def labels(self) -> list[str]:
        """``category:severity`` of each category at its strongest severity, sorted: the store's flags."""
        strongest: dict[str, str] = {}
        for f in self.flags:
            if f.category not in strongest or _RANK[f.severity] < _RANK[strongest[f.category]]:
                strongest[f.category] = f.severity
        return sorted(f"{c}:{s}" for c, s in strongest.items())

    def with_flags(self, flags: Iterable[Flag]) -> Verdict:
        """This verdict with more flags (each kept once, in order)."""
        merged = tuple(dict.fromkeys([*self.flags, *flags]))
        return Verdict(self.text, self.masked, merged)

    def to_dict(self) -> dict[str, Any]:
        """As ``/chat`` returns it in ``flags`` (without the text: the student sent it)."""
        return {
            "action": self.action,
            "severity": self.severity,
            "categories": list(self.categories),
            "flags": [f.to_dict() for f in self.flags],
        }


def strongest(severities: Iterable[str]) -> str | None:
    """The strongest of ``severities``; None for none."""
    found = list(severities)
    return min(found, key=_RANK.__getitem__) if found else None
