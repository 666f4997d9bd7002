"""The syllabus scope on the sample taxonomy: held-out questions are in scope, questions it does not cover are
not, small talk and follow-ups pass, and the reply names what the class covers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edubot_cli.grounding.index import TaxonomyIndex
from edubot_cli.grounding.select import relevant
from edubot_cli.safety.scope import ScopeCheck, check_scope, out_of_scope_reply, scope_topics, within

SAMPLE = Path(__file__).parents[2] / "taxonomy"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaxonomyIndex]:
    with TaxonomyIndex(SAMPLE, tmp_path_factory.mktemp("scope") / "index.sqlite3", holdout=1) as found:
        found.refresh()
        yield found


def scope_of(index: TaxonomyIndex, question: str, subtrees: tuple[str, ...] = ()) -> ScopeCheck:
    return check_scope(index, question, within(relevant(index.retrieve(question, 5)), subtrees))


def test_every_held_out_question_of_the_taxonomy_is_in_scope(index: TaxonomyIndex) -> None:
    held = index.held_out()
    assert len(held) == 20
    assert [h.question for h in held if not scope_of(index, h.question).in_scope] == []


def test_questions_the_taxonomy_does_not_cover(index: TaxonomyIndex) -> None:
    assert scope_of(index, "What is the capital of France?") == ScopeCheck(False, 0.0, "not covered")
    assert scope_of(index, "How many days are in a year on Jupiter?") == ScopeCheck(
        False, 0.397, "not covered"
    )
    assert scope_of(index, "Which gas do plants give off during photosynthesis?") == ScopeCheck(
        True, 1.0, "covered"
    )


def test_a_class_scope_counts_only_the_passages_of_its_subtrees(index: TaxonomyIndex) -> None:
    question = "Which gas do plants give off during photosynthesis?"
    assert scope_of(index, question, ("knowledge/science",)).in_scope
    assert scope_of(index, question, ("knowledge/school",)) == ScopeCheck(False, 0.0, "not covered")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("thanks!", "small talk"),
        ("Hello edubot", "small talk"),
        ("can you explain that again?", "no topic words"),
    ],
)
def test_small_talk_and_follow_ups_are_in_scope(index: TaxonomyIndex, text: str, reason: str) -> None:
    assert scope_of(index, text) == ScopeCheck(True, 1.0, reason)


def test_the_topics_of_a_scope_and_the_reply_that_names_them() -> None:
    assert scope_topics(SAMPLE) == [
        "Class 5b field trip rules (Class trip)",
        "Photosynthesis (Biology)",
        "Riverside garden project (School garden project)",
        "Water cycle (Earth science)",
    ]
    assert scope_topics(SAMPLE, ["knowledge/science/"]) == [
        "Photosynthesis (Biology)",
        "Water cycle (Earth science)",
    ]
    assert out_of_scope_reply(scope_topics(SAMPLE, ["knowledge/science"])) == (
        "That question is outside what this class covers, so I can't answer it here. I can help with: "
        "Photosynthesis (Biology), Water cycle (Earth science). You could also ask your teacher."
    )
    assert out_of_scope_reply(["A", "B", "C"], limit=2).endswith(
        "I can help with: A, B and 1 more. You could also ask your teacher."
    )
    assert out_of_scope_reply([]) == (
        "That question is outside what I can help with in this class. Ask me about your lessons, or ask your teacher."
    )


def test_index_stems_and_frequencies(index: TaxonomyIndex) -> None:
    assert index.stems(["leaves", "Photosynthesis", "zzqx"]) == [{"leav"}, {"photosynthesi"}, {"zzqx"}]
    counts, total = index.frequencies(["leav", "zzqx"])
    assert "zzqx" not in counts and 0 < counts["leav"] < total
