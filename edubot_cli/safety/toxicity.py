"""The offensive-language model that ``alt-profanity-check`` ships (a TF-IDF vectoriser and a linear SVM
calibrated with sigmoids over five folds, trained on tweets and Wikipedia comments), scored without sklearn at
run time.

The library's own ``predict_prob`` goes through sklearn's input checks and sparse matrices: about 2 ms a message
here, most of the 5 ms budget. The model is linear, so its weights are read once (``joblib.load`` of the files
the wheel ships: sklearn is imported then, and only then) into one table, word → (idf, weight per fold), and a
message is scored in microseconds: TF-IDF of its words, L2-normalised, each fold's decision value through its
sigmoid, the five averaged. ``tests/safety/test_toxicity.py`` checks that the scores equal the library's.

The model scores offensiveness, not who is aimed at: "What is the hell in Dante's Inferno?" scores 0.99 and
"what does the penis do" 1.0. Moderation uses it only for a message that speaks to someone (``you``), where
insults without a listed word ("you're an idiot") would otherwise pass.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingDependencyError

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
"""sklearn's default ``token_pattern``, which the vectoriser was fitted with."""


@dataclass(frozen=True)
class ToxicityModel:
    """The model as plain tables: ``weights[word] = (idf, (w_fold1, ... w_fold5))``."""

    weights: dict[str, tuple[float, tuple[float, ...]]]
    intercepts: tuple[float, ...]
    sigmoids: tuple[tuple[float, float], ...]
    """``(a, b)`` of each fold's calibrator: p = 1 / (1 + exp(a * d + b))."""
    stop_words: frozenset[str]

    def probability(self, text: str) -> float:
        """The probability that ``text`` is offensive, as ``profanity_check.predict_prob([text])[0]``."""
        counts = Counter(t for t in _TOKEN.findall(text.lower()) if t not in self.stop_words)
        features = [(self.weights[t], n) for t, n in counts.items() if t in self.weights]
        norm = math.sqrt(sum((idf * n) ** 2 for (idf, _), n in features))
        total = 0.0
        for k, intercept in enumerate(self.intercepts):
            decision = intercept
            if norm:
                decision += sum(weights[k] * idf * n for (idf, weights), n in features) / norm
            a, b = self.sigmoids[k]
            total += 1.0 / (1.0 + math.exp(a * decision + b))
        return total / len(self.intercepts)


def _data_dir() -> Path:
    spec = importlib.util.find_spec("profanity_check")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "alt-profanity-check is not installed (moderation uses its offensive-language model)",
            hint="run `make install` or `pip install -e .`",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.cache
def toxicity_model() -> ToxicityModel:
    """The shipped model, read once (about a second: sklearn is imported to unpickle it). The files are the
    installed wheel's own data, as trusted as its code."""
    import joblib  # heavy (sklearn, scipy): only here

    data = _data_dir()
    vectorizer = joblib.load(data / "vectorizer.joblib")
    model = joblib.load(data / "model.joblib")
    folds = model.calibrated_classifiers_
    coefs = [fold.estimator.coef_.ravel().tolist() for fold in folds]
    idf = vectorizer.idf_.tolist()
    weights = {word: (idf[i], tuple(coef[i] for coef in coefs)) for word, i in vectorizer.vocabulary_.items()}
    return ToxicityModel(
        weights=weights,
        intercepts=tuple(float(fold.estimator.intercept_.ravel()[0]) for fold in folds),
        sigmoids=tuple((float(fold.calibrators[0].a_), float(fold.calibrators[0].b_)) for fold in folds),
        stop_words=frozenset(vectorizer.get_stop_words() or ()),
    )
