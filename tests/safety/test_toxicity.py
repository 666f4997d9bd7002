"""The offensive-language model scored without sklearn gives the library's own probabilities."""

from __future__ import annotations

from edubot_cli.safety.toxicity import toxicity_model
from tests.safety.labelled_set import items


def test_scores_equal_the_library_on_the_whole_labelled_set() -> None:
    from profanity_check import predict_prob  # the library itself (imports sklearn)

    texts = [i.text for i in items()] + ["", "!!!", "the the the"]
    model = toxicity_model()
    ours = [model.probability(text) for text in texts]
    theirs = predict_prob(texts).tolist()
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-9


def test_the_model_is_read_once() -> None:
    assert toxicity_model() is toxicity_model()
    assert len(toxicity_model().intercepts) == 5
