"""The self-harm model: a linear model of the words and letter runs of a folded message, which finds what the
phrase rules (``safety.rules``) miss when a child says it in words the rules never saw ("i just want to
disappear", "nobody would notice if i was gone").

It is trained on the labelled set of ``tests/safety/labelled`` (``tests/safety/self_harm_training.py``) and
shipped as JSON (``self_harm_model.json``: each feature's IDF and weight); scoring is plain Python, about 0.1 ms a
message, with no scikit-learn at run time. Features as scikit-learn's ``TfidfVectorizer`` makes them: words of two
or more letters, and the letter runs of 2 to 5 within each word padded with a space (``char_wb``), each with a
sublinear TF-IDF, each block L2-normalised. ``tests/safety/test_self_harm_model.py`` holds the scores equal to
scikit-learn's on the whole labelled set.

The model is asked only about a message with a word of the subject (``CUES``: dying, hurting, cutting, pills,
being gone, goodbyes, being a burden ...): unleashed on everything, it learned the labelled set's school questions
too narrowly and took one real InstructLab question in nine for self-harm ("how would you revise this sentence to
use inclusive IT terminology?"); behind the cues, one in a hundred (``docs/safety.md``). A cued message scoring
at least ``SUPPORT_CUT`` is treated as the rules treat self-harm: supported, not answered, and a high-severity
flag.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = Path(__file__).with_name("self_harm_model.json")
CHAR_RANGE = (2, 5)
SUPPORT_CUT = 0.5
"""The probability from which a message is self-harm."""

CUES = re.compile(
    r"\b(?:die|dies|dying|died|dead|death|kill\w*|suicid\w*|unalive|kms|kys|sh|hurt\w*|harm\w*|cut|cuts|cutting"
    r"|blade\w*|razor\w*|pills?|overdose|od|bleed\w*|blood|alive|live|living|life|gone|end|ending|disappear\w*"
    r"|bridge|jump\w*|drown\w*|hang\w*|rope|starv\w*|eat|eating|food|burn\w*|goodbye|bye|last|miss|better off"
    r"|burden|without me|wake|sleep|heaven|note|nobody|no one|anymore|worthless|myself|wrists?|scars?|bleach"
    r"|poison\w*|here|exist\w*|tired|done|over|forever|remember|sorry|deserve|wont need|around|medicine\w*"
    r"|medication|waste of space|taking up|plan|tonight|not need|hit me|should go|s h|my will|vanish\w*|breath|pass out"
    r"|nothing|stop|easier|happier|wish|gets better|ever again)\b|what(?: i)?s the point|no point"
)
"""Words of the subject, in the folded text: the model is asked only when one is there."""

_WORD = re.compile(r"(?u)\b\w\w+\b")
_SPACES = re.compile(r"\s\s+")


def char_runs(text: str, low: int = CHAR_RANGE[0], high: int = CHAR_RANGE[1]) -> list[str]:
    """The letter runs of ``text``'s words as scikit-learn's ``char_wb`` analyzer lists them."""
    runs: list[str] = []
    for word in _SPACES.sub(" ", text).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            offset = 0
            runs.append(padded[offset : offset + n])
            while offset + n < len(padded):
                offset += 1
                runs.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return runs


def _block(terms: list[str], table: dict[str, tuple[float, float]]) -> float:
    """The weighted sum of one L2-normalised sublinear TF-IDF block."""
    found = [(table[t], 1.0 + math.log(n)) for t, n in Counter(terms).items() if t in table]
    norm = math.sqrt(sum((tf * idf) ** 2 for (idf, _), tf in found))
    return sum(tf * idf * weight for (idf, weight), tf in found) / norm if norm else 0.0


@dataclass(frozen=True)
class SelfHarmModel:
    words: dict[str, tuple[float, float]]
    chars: dict[str, tuple[float, float]]
    intercept: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SelfHarmModel:
        return cls(
            {t: (v[0], v[1]) for t, v in data["words"].items()},
            {t: (v[0], v[1]) for t, v in data["chars"].items()},
            float(data["intercept"]),
        )

    def probability(self, folded: str) -> float:
        """The probability that the folded message ``folded`` (``normalise.fold``) speaks of self-harm."""
        text = folded.lower()
        score = self.intercept + _block(_WORD.findall(text), self.words) + _block(char_runs(text), self.chars)
        return 1.0 / (1.0 + math.exp(-score))


def cued(folded: str) -> bool:
    """Whether the folded message has a word of the subject (``CUES``)."""
    return CUES.search(folded) is not None


@functools.cache
def self_harm_model() -> SelfHarmModel:
    """The shipped model, read once."""
    return SelfHarmModel.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))
