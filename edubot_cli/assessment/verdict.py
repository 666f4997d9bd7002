"""A plain verdict per answer (right, partly, wrong) from the metrics, and which questions are factoid.

The rules, exactly (``edubot eval --help`` and the README's "Evaluating answers" section repeat them):

- **wrong**: the answer is empty, or says the material does not cover the question (``NOT_COVERED``: "do not
  cover", "not covered", "no information", "not mentioned", "I don't know", "cannot answer" and their
  variants), or the reference starts with "Yes" or "No" and the answer with the other one, or it has none of what the reference holds: no number and no name of the reference, and a
  content-word recall below ``PARTLY_RECALL`` (0.25; one content word of a short reference is often there by
  chance, a quarter of them is not).
- **right**: every number and every name of the reference appear in the answer (``metrics.numbers_found`` and
  ``metrics.names_found`` are 1, or the reference has none), less those the question itself gives (they are no
  evidence either way: a word problem's reference repeats the question's numbers on the way to the result, "Sam
  has 2.50 + 1.25 = 3.75 euros." is answered by "3.75 euros"), and the content-word recall is at least
  ``RIGHT_RECALL`` (0.5: the answer says at least half of what the reference says beyond the question's own
  words). A reference without any content word (rare: "Yes.") uses token F1 instead of the recall.
- **partly**: the rest: some of the reference's numbers or names, or a recall from 0.25, but not all of them.

Calibrated on the embedded model's answers to the sample taxonomy (``docs/eval-verdicts.md``): the verdict
matches a reader's on 36 of 40. Bag-of-words rules cannot read: an answer that names the right word in the wrong
role ("the by-product is carbon dioxide … into glucose and oxygen") can pass as right, and one that gives just
what was asked when the reference says more ("ATP and NADPH" for "ATP and NADPH … carry it to the Calvin cycle")
is only partly right.

A **factoid** question asks for one fact: its last sentence (the question itself, after a skill example's context)
starts, after an optional preposition ("At what time", "In which"), with how many, how much, how long, how old,
how far, how often, when, who, whom, whose, which, or what time, year, date or day.
"""

from __future__ import annotations

import re

RIGHT = "right"
PARTLY = "partly"
WRONG = "wrong"
VERDICTS = (RIGHT, PARTLY, WRONG)
RIGHT_RECALL = 0.5
"""Least content-word recall of a right answer (with every number and name of the reference)."""
PARTLY_RECALL = 0.25
"""Least content-word recall of a partly right answer that has none of the reference's numbers or names."""

_NEGATION = r"(?:do|does|did|can|could)\s*(?:n['’]t|\s+not)|cannot"
NOT_COVERED = re.compile(
    rf"\b(?:(?:{_NEGATION})\s+(?:cover|mention|say|tell|contain|include|answer|provide)"
    r"|(?:is|are)\s*(?:n['’]t|\s+not)\s+(?:covered|mentioned|given|stated|provided)"
    r"|not\s+(?:covered|mentioned)\s+in"
    r"|no\s+information\s+(?:about|on|in|regarding)"
    r"|(?:I|we)\s+(?:do\s+not|don['’]t)\s+know)\b",
    re.IGNORECASE,
)
"""An answer saying that the material (or the model) does not hold the answer."""

_FACTOID = re.compile(
    r"^(?:(?:in|at|on|by|for|from|to|with|during|until|since|after|before)\s+)?"
    r"(?:how\s+(?:many|much|long|old|far|often)|when|who|whom|whose|which|what\s+(?:time|year|date|day))\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_YES_NO = re.compile(r"\W*(yes|no)\b", re.IGNORECASE)


def says_not_covered(answer: str) -> bool:
    """Whether ``answer`` says the material does not cover the question (``NOT_COVERED``)."""
    return NOT_COVERED.search(answer) is not None


def _yes_or_no(text: str) -> str | None:
    match = _YES_NO.match(text)
    return match.group(1).casefold() if match else None


def _contradicts(answer: str, reference: str) -> bool:
    """The reference answers a yes/no question and the answer says the opposite."""
    said, meant = _yes_or_no(answer), _yes_or_no(reference)
    return said is not None and meant is not None and said != meant


def verdict(
    answer: str,
    *,
    reference: str = "",
    content_recall: float | None,
    numbers: float | None,
    names: float | None,
    f1: float,
) -> str:
    """``right``, ``partly`` or ``wrong`` for an answer with these scores (see the module doc)."""
    if not answer.strip() or says_not_covered(answer) or _contradicts(answer, reference):
        return WRONG
    recall = f1 if content_recall is None else content_recall
    complete = numbers in (None, 1.0) and names in (None, 1.0)
    if complete and recall >= RIGHT_RECALL:
        return RIGHT
    if (numbers or 0.0) > 0 or (names or 0.0) > 0 or recall >= PARTLY_RECALL:
        return PARTLY
    return WRONG


def is_factoid(question: str) -> bool:
    """Whether ``question`` asks for one fact (see the module doc)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", question.strip()) if p.strip()]
    if not paragraphs:
        return False
    sentences = [s.strip() for s in _SENTENCE.findall(paragraphs[-1]) if s.strip()]
    asked = [s for s in sentences if s.endswith("?")] or sentences
    return bool(asked) and _FACTOID.match(asked[-1]) is not None
