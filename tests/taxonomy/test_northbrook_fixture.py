"""The Northbrook benchmark taxonomy is valid seed data, shaped for ``edubot eval --holdout 1``.

Every leaf has 5 contexts of 3 Q&A pairs; the last pair of each context is the held-out question, and the numbers
in its answer must be written in its context exactly as the answer writes them, or a grounded answer could not
be scored on them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from edubot_cli.assessment.retrieval import all_questions
from edubot_cli.taxonomy.validate import validate

ROOT = Path(__file__).resolve().parents[1] / "benchmarks" / "taxonomies" / "northbrook"
LEAVES = [
    "canteen",
    "eco_club_garden",
    "house_system",
    "library_rules",
    "orchestra",
    "school_history",
    "science_fair",
    "sports_day",
    "uniform_lost_property",
    "year8_vindolanda_trip",
]
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def leaves() -> dict[str, dict[str, Any]]:
    return {
        qna.parent.name: yaml.safe_load(qna.read_text(encoding="utf-8"))
        for qna in sorted(ROOT.rglob("qna.yaml"))
    }


def test_northbrook_is_clean_under_strict() -> None:
    report = validate([ROOT], strict=True, use_cache=False)
    assert report.files_checked == len(LEAVES)
    assert report.findings == []


def test_every_leaf_has_five_contexts_of_three_pairs() -> None:
    found = leaves()
    assert sorted(found) == LEAVES
    for name, data in found.items():
        assert [len(seed["questions_and_answers"]) for seed in data["seed_examples"]] == [3] * 5, name
        for seed in data["seed_examples"]:
            assert 60 <= len(seed["context"].split()) <= 150, (name, seed["context"][:40])
    for qna in ROOT.rglob("qna.yaml"):
        assert qna.parent.parent.relative_to(ROOT) == Path("knowledge", "northbrook")
        assert (qna.parent / "attribution.txt").read_text(encoding="utf-8").strip()


def test_held_out_answers_keep_the_numbers_of_their_context() -> None:
    held_out = {}
    for name, data in leaves().items():
        for seed in data["seed_examples"]:
            last = seed["questions_and_answers"][-1]
            held_out[last["question"].strip()] = last["answer"].strip()
            numbers = set(NUMBER.findall(last["answer"]))
            assert numbers <= set(NUMBER.findall(seed["context"])), (name, last["answer"])
    # the pairs written last are exactly the ones that `edubot eval --holdout 1` asks
    asked = {item.question.strip(): item.answer.strip() for item in all_questions(ROOT, holdout=1)}
    assert asked == held_out
    assert len(asked) == 5 * len(LEAVES)


def test_held_out_numbers_are_not_reused_in_other_leaves() -> None:
    """A number of three or more digits that a held-out answer gives (and its question does not ask about)
    belongs to one leaf, so that no other leaf's passage holds the same number with another meaning."""
    by_leaf = {
        name: {n for seed in data["seed_examples"] for n in NUMBER.findall(seed["context"])}
        for name, data in leaves().items()
    }
    for name, data in leaves().items():
        for seed in data["seed_examples"]:
            last = seed["questions_and_answers"][-1]
            given = set(NUMBER.findall(last["answer"])) - set(NUMBER.findall(last["question"]))
            for number in sorted(given):
                if len(re.sub(r"\D", "", number)) < 3:
                    continue
                others = [other for other, numbers in by_leaf.items() if other != name and number in numbers]
                assert others == [], (name, number)
