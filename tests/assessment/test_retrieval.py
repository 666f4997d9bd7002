"""Retrieval quality on the shipped sample taxonomy: each knowledge question finds its own context.

With ``holdout`` the question's own Q&A pair is not in the index, so a hit is not a lookup of the same text.
The figures are printed (``pytest -s``) and reported in the README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edubot_cli.assessment.retrieval import all_questions, seed_recall

SAMPLE = Path(__file__).resolve().parents[2] / "taxonomy"


def test_the_sample_has_sixty_knowledge_questions() -> None:
    questions = all_questions(SAMPLE)
    assert len(questions) == 60
    assert {q.file for q in questions} == {
        "knowledge/school/class_5b_field_trip_rules/qna.yaml",
        "knowledge/school/riverside_garden_project/qna.yaml",
        "knowledge/science/biology/photosynthesis/qna.yaml",
        "knowledge/science/earth_science/water_cycle/qna.yaml",
    }


@pytest.mark.parametrize(
    ("holdout", "questions"),
    [(0, 60), (1, 20), (3, 60)],  # 3 = every pair held out: the contexts alone are indexed
)
def test_recall_at_3_on_the_sample(holdout: int, questions: int, tmp_path: Path) -> None:
    report = seed_recall(SAMPLE, k=3, holdout=holdout, path=tmp_path / "index.sqlite3")
    print(f"\n[recall] holdout={holdout}: recall@3 = {report.hits}/{report.questions} = {report.recall:.2f}")
    assert report.questions == questions
    assert report.misses == []
    assert report.recall == 1.0


def test_recall_at_1_is_lower_without_the_answers(tmp_path: Path) -> None:
    with_answers = seed_recall(SAMPLE, k=1, holdout=0, path=tmp_path / "a.sqlite3")
    contexts_only = seed_recall(SAMPLE, k=1, holdout=3, path=tmp_path / "b.sqlite3")
    print(f"\n[recall] recall@1: {with_answers.hits}/60 with the Q&A, {contexts_only.hits}/60 contexts only")
    assert with_answers.hits == 60
    assert contexts_only.hits == 54
