"""The checkable facts of a sentence — numbers, dates, times, amounts and names — and whether passages hold them.

A small model paraphrases well enough but misstates facts: "rebuilt 12 times" where the passage says "at least
nine", "costs £12" where it says £18, a date that is in no passage. Those are the claims a reader acts on, and
the ones text matching can check without a model:

- numbers in digits (``18``, ``8:45``, ``2,500``, ``3.5``, ``12th``) and in words (``nine``, ``twenty-five``;
  ``one`` is too common a word to be a claim); a time with am/pm also counts as its 24-hour form;
- names: capitalised words that do not start a sentence (a sentence's first word counts only when the next word
  is capitalised too, ``Claudia Severa``), and words in capitals (``PE``); months and days are names.

A fact is supported when the passages (or the question, which the student wrote) contain it: numbers compare as
numbers, names as lowercase words. Key terms that are ordinary lowercase words are not checked: a paraphrase
may use other words, and no list of synonyms is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .words import words

_UNITS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINALS = {
    "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "twelfth": 12, "twentieth": 20,
}  # fmt: skip
_SUPPORT_ONLY = {"one": 1, "first": 1, "hundred": 100, "thousand": 1000, "dozen": 12, "half": 0.5}
"""Number words that support a claim but are not claims themselves ("one of the rules", "first, ...")."""

_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:([.:])(\d+))?(?:st|nd|rd|th)?(?:\s*([ap])\.?m\b\.?)?", re.I
)
_WORD_NUMBER = re.compile(
    r"\b(" + "|".join(sorted([*_TENS], key=len, reverse=True)) + r")(?:[\s-]+(" + "|".join(
        sorted(["one", *_UNITS], key=len, reverse=True)) + r"))?\b"
    r"|\b(" + "|".join(sorted([*_UNITS, *_ORDINALS, *_SUPPORT_ONLY], key=len, reverse=True)) + r")\b",
    re.I,
)  # fmt: skip
_CAPITALISED = re.compile(r"\b([A-Z][a-z]+(?:['’-][A-Za-z]+)*|[A-Z]{2,}[a-z]?)\b")
_NOT_NAMES = frozenset(
    [
        "i",
        "i'm",
        "i've",
        "i'll",
        "i'd",
        "ok",
        "okay",
        "yes",
        "no",
        "hi",
        "hello",
        "sure",
        "note",
        "answer",
        "question",
        "passage",
        "passages",
        "source",
        "sources",
        "based",
        "according",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "sir",
        "st",
    ]
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One checkable claim: ``kind`` is ``number`` or ``name``; ``forms`` are the values that support it."""

    kind: str
    text: str
    forms: frozenset[str]


def _number_form(whole: str, sep: str | None, frac: str | None) -> str:
    whole = whole.replace(",", "")
    if sep == ":" and frac is not None:
        return f"{int(whole)}:{frac}"
    if sep == "." and frac is not None:
        value = f"{int(whole)}.{frac}".rstrip("0").rstrip(".")
        return value
    return str(int(whole))


def _numbers(text: str, *, claims: bool) -> list[Fact]:
    found: list[Fact] = []
    for m in _NUMBER.finditer(text):
        whole, sep, frac, meridiem = m.groups()
        form = _number_form(whole, sep, frac)
        forms = {form}
        if sep == "." and frac is not None and len(frac) == 2 and int(frac) < 60:
            forms.add(f"{int(whole)}:{frac}")  # 8.45 is also a time
        if meridiem:
            hour, minutes = whole.replace(",", ""), (frac if sep and frac and len(frac) == 2 else "")
            if hour.isdigit() and 1 <= int(hour) <= 12:
                shifted = (int(hour) % 12) + (12 if meridiem.lower() == "p" else 0)
                forms.add(f"{shifted}:{minutes}" if minutes else str(shifted))
                if not minutes:
                    forms.update({f"{hour}:00", f"{shifted}:00"})
        found.append(Fact("number", m.group(0).strip(), frozenset(forms)))
    for m in _WORD_NUMBER.finditer(text):
        tens, unit, single = m.groups()
        if tens:
            value: float = _TENS[tens.lower()] + (_UNITS.get(unit.lower(), 1) if unit else 0)
        else:
            word = single.lower()
            if word in _SUPPORT_ONLY and claims:
                continue
            value = _UNITS.get(word) or _ORDINALS.get(word) or _SUPPORT_ONLY[word]
        form = str(value).removesuffix(".0") if isinstance(value, float) else str(value)
        found.append(Fact("number", m.group(0), frozenset({form})))
    return found


_LEAD = re.compile(r"(?:^|[.!?:;\n]|\[\d+\])[\s\"'“‘(*_#>-]*(?:\d+[.)]\s+)?$")


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the word at ``at`` is the first of a sentence, a line or a list item."""
    return _LEAD.search(text[max(0, at - 40) : at]) is not None or not text[:at].strip()


def _names(text: str) -> list[Fact]:
    matches = list(_CAPITALISED.finditer(text))
    found: list[Fact] = []
    for i, m in enumerate(matches):
        word = m.group(1)
        low = word.lower().replace("’", "'")
        if low in _NOT_NAMES:
            continue
        if _starts_sentence(text, m.start()):
            following = matches[i + 1] if i + 1 < len(matches) else None
            if following is None or text[m.end() : following.start()].strip() != "":
                continue
        found.append(Fact("name", word, frozenset({low.removesuffix("'s")})))
    return found


_MARKER = re.compile(r"\[\d+\]")


def claims(sentence: str) -> list[Fact]:
    """The facts ``sentence`` states (see the module docstring); citation markers are not facts."""
    text = _MARKER.sub(" ", sentence)
    return [*_numbers(text, claims=True), *_names(text)]


@dataclass(frozen=True)
class Support:
    """What a set of texts can vouch for: the number forms and the lowercase words in them."""

    numbers: frozenset[str]
    words: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Support:
        numbers: set[str] = set()
        found: set[str] = set()
        for text in texts:
            for fact in _numbers(text, claims=False):
                numbers |= fact.forms
            for word in words(text):
                found.add(word)
                found.add(word.removesuffix("'s"))
        return cls(frozenset(numbers), frozenset(found))

    def holds(self, fact: Fact) -> bool:
        pool = self.numbers if fact.kind == "number" else self.words
        return bool(fact.forms & pool)

    def unsupported(self, sentence: str) -> list[Fact]:
        """The facts of ``sentence`` that none of the texts hold."""
        return [fact for fact in claims(sentence) if not self.holds(fact)]
