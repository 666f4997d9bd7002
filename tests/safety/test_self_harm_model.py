"""The shipped self-harm model (``safety.self_harm_model``): its plain-Python scores equal scikit-learn's for the
same training, the shipped file is what a fresh training on the labelled set writes, and it reads children's
phrasings the way its labels say."""

from __future__ import annotations

import json

import pytest

from edubot_cli.safety.normalise import fold
from edubot_cli.safety.self_harm_model import (
    MODEL_FILE,
    SUPPORT_CUT,
    SelfHarmModel,
    char_runs,
    self_harm_model,
)
from tests.safety.self_harm_training import C, fit, training_set


def test_letter_runs_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    for text in ("i want to disappear", "a  bb ccc", "kms", "x", "  no   more  "):
        assert char_runs(text) == analyzer(text)


def test_the_shipped_file_is_a_fresh_training_on_the_labelled_set() -> None:
    fresh = fit(*training_set())
    shipped = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert shipped == fresh, "the labelled set changed: run `python -m tests.safety.self_harm_training`"


def test_the_scores_are_scikit_learns() -> None:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = training_set()
    words = TfidfVectorizer(sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    features = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
    reference = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(features, labels)
    expected = reference.predict_proba(features)[:, 1]
    model = self_harm_model()
    found = [model.probability(text) for text in texts]
    assert max(abs(a - b) for a, b in zip(found, expected, strict=True)) < 1e-3  # the file's six digits


@pytest.mark.parametrize(
    ("text", "self_harm"),
    [
        ("i dont want to wake up tomorrow", True),
        ("everyone would be better off if i wasnt here", True),
        ("what is the boiling point of water", False),
        ("why did so many soldiers die at the somme", False),
    ],
)
def test_children_s_phrasings(text: str, self_harm: bool) -> None:
    assert (self_harm_model().probability(fold(text)) >= SUPPORT_CUT) is self_harm


def test_an_empty_message_scores_the_prior() -> None:
    model = SelfHarmModel({}, {}, -2.0)
    assert model.probability("") == pytest.approx(1 / (1 + 2.718281828459045**2))
