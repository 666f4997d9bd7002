"""Personal data a child types: phone numbers, e-mail addresses, postal addresses and full names (given as one's
own, or with a school), found in the text as typed and masked as ``[phone]``, ``[email]``, ``[address]`` and
``[name]``.

Numbers are phone numbers only when they are shaped like one: 10 to 13 digits in at most five groups of two or
more (``07700 900123``, ``+44 7700 900461``, ``(555) 123-4567``), so sums, years and counting are left alone.
A street address is a house number, one to three words and a street word (``12 Elm Road``, ``221b Baker
Street``); a UK postcode counts when written in capitals or next to a word about where one lives. A name is two
or three words after "my name is", or after "I'm" / "this is" when they are capitalised or a school is named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..grounding.query import STOP_WORDS

EMAIL = "[email]"
PHONE = "[phone]"
ADDRESS = "[address]"
NAME = "[name]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPOKEN_EMAIL = re.compile(
    r"(?i)\b[\w.+-]+\s*(?:\(at\)|\[at\]|\bat\b)\s*[\w-]+\s*(?:\(dot\)|\[dot\]|\bdot\b)\s*[a-z]{2,}(?:\s*(?:\(dot\)|\[dot\]|\bdot\b)\s*[a-z]{2,})?\b"
)
_PHONE = re.compile(r"(?<![\w+])(?:\+\s?)?\(?\d[\d\s().-]{7,20}\d(?![\w])")
_POSTCODE = re.compile(r"(?i)\b[a-z]{1,2}\d[a-z\d]?\s*\d[abd-hjlnp-uw-z]{2}\b")
_WHERE = re.compile(r"(?i)\b(?:post\s*code|zip|live|lives|living|address|house|home|street|flat|road)\b")
_STREET_WORDS = (
    r"road|rd|street|st|lane|ln|avenue|ave|close|drive|dr|way|crescent|court|ct|place|pl|gardens|grove|terrace|"
    r"walk|mews|square|hill|row|rise|parade|boulevard|blvd|estate|cottages|villas"
)
_FUNCTION = r"(?:in|on|at|of|to|for|and|or|is|are|was|were|a|an|with|by|from|my|your|his|her|their|our|it|this|that|these|those|every|each|per|times|x|people|players|students|pupils|kids|children|minutes|hours|days|years|metres|meters|km|miles)"
_ADDRESS = re.compile(
    rf"(?i)\b(?:flat\s+\d+[a-z]?\s*,?\s*)?\d{{1,4}}[a-z]?\s*,?\s+(?:the\s+|(?:the\s+)?(?:(?!{_FUNCTION}\b)[a-z'-]+\s+){{1,3}})(?:{_STREET_WORDS})\b(?:\s*,\s*[a-z]+)?"
)
_OWN = re.compile(r"(?i)\b(?:i|we|my|our|me|us|mine|send|post|deliver|bring|come)\b|\bi'm\b|\bim\b")
"""An address counts when it is one's own or where to come or send something ("Who lived at 10 Downing Street?"
is history)."""
_INTRO_OWN = re.compile(
    r"(?i)\b(?:my\s+(?:full\s+)?name\s+is|my\s+names|my\s+name's|call\s+me|i\s+am\s+called|im\s+called|i'm\s+called)\s+"
)
_INTRO_SOFT = re.compile(
    r"(?i)\b(?:i\s+am|i'm|im|this\s+is|me\s+and\s+my\s+friend|me\s+and|my\s+friend\s+is|my\s+friend|my\s+teacher\s+is|my\s+teacher|my\s+mum\s+is|my\s+dad\s+is|my\s+sister\s+is|my\s+brother\s+is|with\s+my\s+friend|and\s+my\s+friend)\s+"
)
_TITLE = re.compile(r"(?i)(?:mrs|mr|ms|miss|dr|sir)\.?\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_SCHOOL = re.compile(
    r"(?i)\b(?:school|primary|academy|college|high|secondary|prep|grammar|infants|juniors|year\s+\d+|y\d+)\b"
)
_NOT_NAMES_TEXT = """

    going gonna trying sad happy so very really just not also still here there good bad fine ok okay sorry sure
    new old years year called named from at in on and the a an doing feeling feel stuck lost scared bored tired
    hungry confused glad stupid dumb smart clever learning studying writing reading asking wondering looking
    thinking working student pupil kid child boy girl teacher friend class form school primary academy years
    homework maths math english science history geography question questions problem help test exam
    like love hate want need know think understand mean its it's im i'm me you he she they we us with age
    aged gonna wanna about back home out ready yes no thanks thank hello hi hey bye everyone nobody someone
    go goes went live lives lived play plays like likes got get has have said says told asked sits
"""
NOT_NAMES = STOP_WORDS | frozenset(_NOT_NAMES_TEXT.split())
"""Words that follow "I'm" or "this is" without being a name."""


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: str


def _digits_ok(text: str) -> bool:
    groups = [g for g in re.split(r"[\s().-]+", text.lstrip("+")) if g]
    digits = sum(len(g) for g in groups)
    if not 10 <= digits <= 13 or len(groups) > 5 or not all(len(g) >= 2 for g in groups):
        return False
    # one run of digits is a phone number only when it starts like one (07700900123, 447700900123)
    return len(groups) > 1 or text.startswith(("0", "+", "44"))


def _name_words(text: str, at: int, *, soft: bool) -> tuple[int, int] | None:
    """Where a full name starts and ends at ``at`` in ``text`` (two or three words that are not common ones),
    after an optional title (Mrs, Mr ...); None when there is none. ``soft`` (after "I'm" or "this is"): the words
    must be capitalised unless a school is named in the text."""
    start = at
    title = _TITLE.match(text, at)
    if title:
        at = title.end()
    words: list[re.Match[str]] = []
    pos = at
    while len(words) < 3:
        found = _WORD.match(text, pos)
        if not found or found.group(0).lower() in NOT_NAMES:
            break
        if words and words[0].group(0)[0].isupper() and not found.group(0)[0].isupper():
            break  # "Lily Evans go to ...": a capitalised name ends at the first lowercase word
        words.append(found)
        pos = found.end()
        gap = re.match(r"[ \t]+", text[pos:])
        if not gap:
            break
        pos += gap.end()
    if len(words) < 2 and not (title and words):
        return None
    if soft and not _SCHOOL.search(text) and not all(w.group(0)[0].isupper() for w in words):
        return None
    if soft and not title and not all(w.group(0)[0].isupper() for w in words) and len(words) < 2:
        return None
    return (start if title else words[0].start()), words[-1].end()


def find(text: str) -> list[Span]:
    """The personal data in ``text``, in order, without overlaps (the first found wins)."""
    spans: list[Span] = []
    for m in _EMAIL.finditer(text):
        spans.append(Span(m.start(), m.end(), EMAIL))
    for m in _SPOKEN_EMAIL.finditer(text):
        spans.append(Span(m.start(), m.end(), EMAIL))
    for m in _PHONE.finditer(text):
        value = m.group(0).rstrip(").- ")
        if _digits_ok(value):
            spans.append(Span(m.start(), m.start() + len(value), PHONE))
    own = _OWN.search(text) is not None
    for m in _ADDRESS.finditer(text):
        if own:
            spans.append(Span(m.start(), m.end(), ADDRESS))
    for m in _POSTCODE.finditer(text):
        written = m.group(0)
        if written.upper() == written or _WHERE.search(text):
            spans.append(Span(m.start(), m.end(), ADDRESS))
    for pattern, soft in ((_INTRO_OWN, False), (_INTRO_SOFT, True)):
        for m in pattern.finditer(text):
            found = _name_words(text, m.end(), soft=soft)
            if found is not None:
                spans.append(Span(found[0], found[1], NAME))
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[Span] = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def mask(text: str, spans: list[Span]) -> str:
    """``text`` with each span replaced by its kind (``[phone]`` ...)."""
    out: list[str] = []
    at = 0
    for span in spans:
        out.append(text[at : span.start])
        out.append(span.kind)
        at = span.end
    out.append(text[at:])
    return "".join(out)
