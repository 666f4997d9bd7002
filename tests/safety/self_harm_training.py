"""Training of the self-harm model that moderation ships (``edubot_cli/safety/self_harm_model.json``).

A logistic regression over TF-IDF features of the folded message (``safety.normalise.fold``): words, and letter
runs of 2 to 5 within words (which carry misspellings and word endings), each block L2-normalised, as
scikit-learn's ``TfidfVectorizer`` (sublinear tf) makes them. Trained on the labelled set's folders (self-harm
against everything else: the school questions, the other unsafe categories, the off-topic questions and the
questions of the sample and test taxonomies), with balanced class weights. Deterministic: the same set gives the same file.

Run ``python -m tests.safety.self_harm_training`` to write the model again after the labelled set changes;
``tests/safety/test_self_harm_model.py`` fails while the shipped file differs from a fresh training.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from edubot_cli.safety.normalise import fold
from edubot_cli.safety.self_harm_model import CHAR_RANGE, MODEL_FILE
from edubot_cli.safety.verdict import SELF_HARM
from tests.safety.labelled_set import FOLDERS, items, off_topic

ROOT = Path(__file__).resolve().parents[2]
C = 10.0
"""The regression's inverse regularisation: the best of 1, 3, 10, 30 on the folders, each held out in turn."""
DIGITS = 6


TAXONOMIES = (ROOT / "taxonomy", ROOT / "tests/benchmarks/taxonomies/northbrook")
"""Whose questions are ordinary school questions to the model too."""


def taxonomy_questions() -> list[str]:
    """Every question of the sample and the test taxonomy, file by file in path order."""
    found = []
    for root in TAXONOMIES:
        for path in sorted(root.rglob("qna.yaml")):
            for example in yaml.safe_load(path.read_text(encoding="utf-8")).get("seed_examples") or []:
                found += [
                    str(pair["question"]).strip() for pair in example.get("questions_and_answers") or []
                ]
                if "question" in example:
                    found.append(str(example["question"]).strip())
    return found


def training_set(folders: Sequence[str] = FOLDERS) -> tuple[list[str], list[int]]:
    """The folded messages of ``folders``, the off-topic questions and the taxonomies' questions, with 1 for
    self-harm."""
    found = items(tuple(folders))
    ordinary = off_topic() + taxonomy_questions()
    texts = [fold(i.text) for i in found] + [fold(t) for t in ordinary]
    labels = [int(i.category == SELF_HARM) for i in found] + [0] * len(ordinary)
    return texts, labels


def fit(texts: list[str], labels: list[int]) -> dict[str, Any]:
    """The model as ``SelfHarmModel.from_dict`` reads it."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    words = TfidfVectorizer(sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_RANGE, sublinear_tf=True, min_df=2)
    features = hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    model.fit(features, labels)
    weights = model.coef_[0]
    split = len(words.vocabulary_)

    def table(vectorizer: Any, offset: int) -> dict[str, list[float]]:
        return {
            term: [round(float(vectorizer.idf_[i]), DIGITS), round(float(weights[offset + i]), DIGITS)]
            for term, i in sorted(vectorizer.vocabulary_.items())
        }

    return {
        "words": table(words, 0),
        "chars": table(chars, split),
        "intercept": round(float(model.intercept_[0]), DIGITS),
    }


def main() -> None:
    model = fit(*training_set())
    MODEL_FILE.write_text(json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_FILE} ({MODEL_FILE.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
