"""Text as children type it, folded to one plain form that the phrase rules can be written against.

``fold`` lowercases (NFKC first, so full-width and styled letters become plain ones), drops apostrophes
(``i'm`` → ``im``), reads leetspeak inside words (``k1ll`` → ``kill``, ``a$$`` → ``ass``), joins letters
spelled out one by one (``k i l l``, ``f.u.c.k``), shortens letters repeated three times or more to two
(``diieeee`` → ``diiee``), turns every other symbol into a space, and expands text speak (``u`` → ``you``,
``wanna`` → ``want to``, ``im`` → ``i am``). Digits that are not inside a word stay digits: phone numbers and sums
are left alone (personal data is found in the unfolded text anyway).

Starred words (``f*ck``, ``sh**``) cannot be folded; ``starred`` lists them for the lexicon to match.
"""

from __future__ import annotations

import re
import unicodedata

LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"}
)
"""Characters read as letters inside a word that has letters (``sh1t``, ``h0rny``, ``a$$hole``)."""

_APOSTROPHES = re.compile(r"['’‘`´]")
_LEET_WORD = re.compile(r"[a-z0-9@$!|]*[a-z][a-z0-9@$!|]*")
_HAS_LEET = re.compile(r"[0-9@$!|]")
_EDGE_PUNCT = re.compile(r"^[!|]+|[!|]+$")
# Three or more single characters, each followed by one separator (a space, dot, dash, underscore or star):
# "k i l l", "f.u.c.k", "s-h-i-t". Two spaces end a run, so "i n g o r e  p r e v i o u s" keeps its words.
_SPELLED = re.compile(r"(?<![^\W_])(?:[^\W_][ .\-_*]){2,}[^\W_](?![^\W_])")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_STARRED = re.compile(r"(?<![\w*])[a-z]+[*#]+[a-z*#]*|(?<![\w*])[a-z]*[*#]+[a-z]+[a-z*#]*")

TEXT_SPEAK = {
    "u": "you",
    "ya": "you",
    "yu": "you",
    "ur": "your",
    "youre": "you are",
    "ure": "you are",
    "r": "are",
    "im": "i am",
    "ima": "i am going to",
    "imma": "i am going to",
    "ill": "i will",
    "ive": "i have",
    "id": "i would",
    "wanna": "want to",
    "wana": "want to",
    "gonna": "going to",
    "gunna": "going to",
    "gona": "going to",
    "finna": "going to",
    "dont": "do not",
    "doesnt": "does not",
    "cant": "can not",
    "cannot": "can not",
    "wont": "will not",
    "isnt": "is not",
    "arent": "are not",
    "didnt": "did not",
    "hes": "he is",
    "shes": "she is",
    "theyre": "they are",
    "thats": "that is",
    "whats": "what is",
    "pls": "please",
    "plz": "please",
    "2": "to",
    "b4": "before",
    "cuz": "because",
    "coz": "because",
    "bc": "because",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "2day": "today",
    "2nite": "tonight",
    "every1": "everyone",
    "some1": "someone",
    "any1": "anyone",
    "no1": "no one",
    "myslef": "myself",
    "mysef": "myself",
    "mysel": "myself",
    "meself": "myself",
}
"""Text speak and common slips, each to the words the rules are written in."""


def _lower(text: str) -> str:
    return _APOSTROPHES.sub("'", unicodedata.normalize("NFKC", text).lower())


def plain(text: str) -> str:
    """``text`` in NFKC, lowercase, with straight apostrophes and single spaces."""
    return " ".join(_lower(text).split())


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    if not _HAS_LEET.search(word):
        return word
    core = _EDGE_PUNCT.sub("", word)  # "die!" is "die", not "diei"
    return core.translate(LEET)


def _join_spelled(match: re.Match[str]) -> str:
    return re.sub(r"[ .\-_*]", "", match.group(0))


def _unspace(text: str) -> str:
    """A message typed one letter at a time (``y o u  h a v e  n o  r u l e s``): most of its tokens are single
    characters, so single spaces are inside words and wider gaps between them."""
    tokens = text.split()
    wide = re.search(r"\S\s{2,}\S", text) is not None
    if not wide or len(tokens) < 6 or sum(len(t) == 1 for t in tokens) < 0.6 * len(tokens):
        return text
    return " ".join(part.replace(" ", "") for part in re.split(r"\s{2,}", text.strip()))


def fold(text: str) -> str:
    """The form the phrase rules match (see the module docstring)."""
    flat = _unspace(_lower(text).replace("'", ""))
    flat = _SPELLED.sub(_join_spelled, flat)
    flat = _LEET_WORD.sub(_unleet, flat)
    flat = _REPEATS.sub(r"\1\1", flat)
    tokens = _NON_WORD.sub(" ", flat).split()
    return " ".join(TEXT_SPEAK.get(token, token) for token in tokens)


def starred(text: str) -> list[str]:
    """The words of ``text`` with letters hidden by ``*`` or ``#`` (``f*ck``, ``sh**``, ``***hole``)."""
    return _STARRED.findall(plain(text))
