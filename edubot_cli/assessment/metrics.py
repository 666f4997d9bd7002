"""Answer scores that need no second model: token F1, content-word recall, numbers and names kept, right leaf cited.

The rules, exactly (the README's "Evaluating answers" section repeats them):

- **Citation markers** ``[1]``, ``[2, 3]`` are removed from an answer, with the spaces before them, before anything
  else (they are the grounded prompt's passage numbers, not content).
- **Words** (``words``): the text is NFKC-normalised and casefolded, accents are dropped (NFKD, combining marks
  removed), then cut into tokens: a number (digits, with ``,ddd`` thousands groups and a ``.ddd`` decimal part,
  see numbers below) or a run of letters and digits; everything else (punctuation, spaces, ``'``, ``-``) separates
  tokens. Each word is then normalised: a number as below; a word ending in ``ies`` (5+ letters) ends in ``y``
  instead; a word ending in ``s`` (4+ letters, not ``ss``, ``us`` or ``is``) loses it. So ``Leaves`` → ``leave``,
  ``stages`` → ``stage``, ``berries`` → ``berry``, ``glass`` and ``stomata`` stay.
- **Token F1** (``token_f1``): SQuAD-style: the words of the answer and of the reference as multisets;
  precision = shared / answer words, recall = shared / reference words, F1 = 2PR / (P + R); 1.0 when both have no
  words, 0.0 when only one has none.
- **Content-word recall** (``content_recall``): the distinct words of the reference less stop words (the retrieval
  query's list, ``grounding.query.STOP_WORDS``) and less the words of the question (repeating the question is not
  knowing the answer: for "What gas is released as a by-product of photosynthesis?" only ``oxygen`` of "Oxygen is
  released as a by-product of photosynthesis." counts), and the share of them among the answer's words. When the
  question holds every content word of the reference, all of them count. ``None`` when the reference has no
  content word.
- **Numbers** (``numbers``): ``\\d+(?:,\\d{3})*(?:\\.\\d+)?`` not inside a word (``CO2`` holds none), normalised:
  thousands commas dropped, trailing decimal zeros dropped (``2.50`` = ``2.5``, ``7.0`` = ``7``); ``8:45`` is two
  numbers. Score: the share of the reference's distinct numbers found among the answer's. ``None`` when the
  reference has none. Given the question (the verdict does), the numbers it holds do not count: "Sam has 2.50 +
  1.25 = 3.75 euros." asks only for ``3.75`` when the question gave 2.50 and 1.25.
- **Names** (``names``): words (letters only) of the reference that either are an acronym (two or more letters,
  all capitals: ``ATP``) or start with a capital and do not start a sentence (a sentence starts at the start of
  the text, after ``.``, ``!``, ``?`` or ``:`` and a space, and at the start of a line, once any spaces, quotes,
  brackets or other punctuation there are passed); ``I`` is never a name. Found when the
  answer has the same word in any case, anywhere. Score: the share of the reference's distinct names found.
  ``None`` when the reference has none. Given the question, its words do not count (repeating "Earth" of
  "Where is most of the Earth's fresh water held?" says nothing).
- **Right leaf cited** (``cited_leaf``): a grounded answer's sources include the question's own ``qna.yaml``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from ..grounding.query import STOP_WORDS

_CITATION = re.compile(r"\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
_TOKEN = re.compile(rf"{_NUMBER}(?![^\W_])|[^\W_]+")
_NUMBER_ALONE = re.compile(rf"(?<![^\W_]){_NUMBER}(?![^\W_])")
_LETTERS = re.compile(r"[^\W\d_]+")
_SENTENCE_START = re.compile(r"(?:\A|[.!?:]\s|\n)[\W_]*")
_DIGITS = re.compile(r"[\d,.]+")


def strip_citations(text: str) -> str:
    """``text`` without the ``[n]`` markers of grounded answers."""
    return _CITATION.sub("", text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise_number(number: str) -> str:
    """``1,000`` → ``1000``; ``2.50`` → ``2.5``; ``7.0`` → ``7``."""
    plain = number.replace(",", "")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return plain


def normalise_word(word: str) -> str:
    """The word compared: numbers normalised, plural ``ies`` → ``y`` and ``s`` dropped (see the module doc)."""
    if _DIGITS.fullmatch(word) and word[0].isdigit():
        return normalise_number(word)
    if len(word) >= 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The normalised words of ``text``, in order, citation markers removed."""
    return [normalise_word(m.group(0)) for m in _TOKEN.finditer(_fold(strip_citations(text)))]


def content_words(text: str) -> set[str]:
    """The distinct words of ``text`` that are not stop words."""
    return {w for w in words(text) if w not in STOP_WORDS}


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style token F1 of ``answer`` against ``reference`` (see the module doc)."""
    got, want = Counter(words(answer)), Counter(words(reference))
    if not got or not want:
        return 1.0 if not got and not want else 0.0
    shared = sum((got & want).values())
    if not shared:
        return 0.0
    precision = shared / sum(got.values())
    recall = shared / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _share(wanted: Iterable[str], found: set[str]) -> float | None:
    wanted = set(wanted)
    return len(wanted & found) / len(wanted) if wanted else None


def content_recall(answer: str, reference: str, question: str = "") -> float | None:
    """Share of the reference's content words found in the answer, less the words of ``question`` when any are
    left (see the module doc); ``None`` when the reference has no content word."""
    wanted = content_words(reference)
    new = wanted - set(words(question))
    return _share(new or wanted, set(words(answer)))


def numbers(text: str) -> list[str]:
    """The normalised numbers of ``text``, in order (citation markers removed)."""
    return [normalise_number(m.group(0)) for m in _NUMBER_ALONE.finditer(strip_citations(text))]


def numbers_found(answer: str, reference: str, question: str = "") -> float | None:
    """Share of the reference's distinct numbers the answer contains, less those of ``question``; ``None`` when
    none is left."""
    return _share(set(numbers(reference)) - set(numbers(question)), set(numbers(answer)))


def names(text: str) -> list[str]:
    """The names of ``text`` by the rule of the module doc, in order, as written."""
    text = strip_citations(text)
    starts = {m.end() for m in _SENTENCE_START.finditer(text)}
    found = []
    for match in _LETTERS.finditer(text):
        word = match.group(0)
        if word == "I" or not word[0].isupper():
            continue
        acronym = len(word) >= 2 and word.isupper()
        if acronym or match.start() not in starts:
            found.append(word)
    return found


def names_found(answer: str, reference: str, question: str = "") -> float | None:
    """Share of the reference's distinct names (casefolded) the answer has in any case, less the words of
    ``question``; ``None`` when none is left."""
    have = {w.casefold() for w in _LETTERS.findall(strip_citations(answer))}
    asked = {w.casefold() for w in _LETTERS.findall(question)}
    return _share({n.casefold() for n in names(reference)} - asked, have)


def cited_leaf(source_files: Sequence[str], file: str) -> bool:
    """Whether the sources (their ``file``) include the question's own ``file``."""
    return file in source_files
