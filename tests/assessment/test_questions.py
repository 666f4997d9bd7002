"""The questions `edubot eval` asks: every knowledge Q&A pair and skill example, or only the held-out pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from edubot_cli.assessment.questions import Question, collect
from edubot_cli.errors import TaxonomyError
from edubot_cli.grounding.index import TaxonomyIndex
from tests.grounding.conftest import HAIKU, PLANTS, age, write

PLANTS_FILE = "knowledge/botany/plants/qna.yaml"
HAIKU_FILE = "compositional_skills/poems/haiku/qna.yaml"


@pytest.fixture
def plants(tmp_path: Path) -> Path:
    root = tmp_path / "taxonomy"
    write(root, PLANTS_FILE, PLANTS)
    write(root, HAIKU_FILE, HAIKU)
    write(root, "compositional_skills/poems/broken/qna.yaml", "version: 3\nseed_examples: [\n")
    age(root)
    return root


def test_every_pair_and_example_without_holdout(plants: Path) -> None:
    found = collect(plants)
    assert [(q.kind, q.yaml_path, q.line) for q in found] == [
        ("knowledge", "seed_examples[0].questions_and_answers[0]", 10),
        ("knowledge", "seed_examples[0].questions_and_answers[1]", 14),
        ("knowledge", "seed_examples[1].questions_and_answers[0]", 21),
        ("knowledge", "seed_examples[1].questions_and_answers[1]", 25),
        ("knowledge", "seed_examples[2].questions_and_answers[0]", 32),
        ("knowledge", "seed_examples[2].questions_and_answers[1]", 36),
        ("skill", "seed_examples[0]", 5),
        ("skill", "seed_examples[1]", 11),
    ]
    assert found[0] == Question(
        leaf="knowledge/botany/plants",
        file=PLANTS_FILE,
        line=10,
        kind="knowledge",
        yaml_path="seed_examples[0].questions_and_answers[0]",
        context_path="seed_examples[0].context",
        question="What do roots take up from the soil?",
        reference="Roots take up water and minerals.",
    )
    assert found[-1] == Question(
        leaf="compositional_skills/poems/haiku",
        file=HAIKU_FILE,
        line=11,
        kind="skill",
        yaml_path="seed_examples[1]",
        context_path="seed_examples[1]",
        question="The class has just learnt about volcanoes.\n\nWrite a haiku about what the class learnt.",
        reference="Mountain breathes out fire,\nlava crawls down to the sea,\nnew land cools to stone.",
    )


def test_holdout_asks_only_the_held_out_pairs_the_index_leaves_out(plants: Path) -> None:
    found = collect(plants, holdout=1)
    assert [(q.question, q.context_path) for q in found] == [
        ("Why do roots have root hairs?", "seed_examples[0].context"),
        ("What does phloem carry?", "seed_examples[1].context"),
        ("What leaves a plant through the stomata?", "seed_examples[2].context"),
    ]
    with TaxonomyIndex(plants, holdout=1) as index:
        index.refresh()
        assert [(h.file, h.yaml_path, h.question) for h in index.held_out()] == [
            (q.file, q.yaml_path, q.question) for q in found
        ]
    assert [q.question for q in collect(plants, holdout=2)][:2] == [
        "What do roots take up from the soil?",
        "Why do roots have root hairs?",
    ]
    assert len(collect(plants, holdout=5)) == 6


def test_a_missing_taxonomy_or_one_without_questions_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError) as caught:
        collect(tmp_path / "nowhere")
    assert caught.value.message == f"the taxonomy folder {tmp_path / 'nowhere'} does not exist"
    root = tmp_path / "empty"
    write(root, "compositional_skills/poems/haiku/qna.yaml", HAIKU)
    with pytest.raises(TaxonomyError) as caught:
        collect(root, holdout=1)
    assert caught.value.message == f"the taxonomy {root} has no held-out knowledge Q&A pair to ask"
    (root / "compositional_skills/poems/haiku/qna.yaml").unlink()
    with pytest.raises(TaxonomyError) as caught:
        collect(root)
    assert caught.value.message == f"the taxonomy {root} has no knowledge Q&A pair or skill example to ask"
