"""`edubot eval --local --holdout 1` with the real embedded engine on a two-leaf taxonomy: what does not depend on
sampling (the structure, the counts, the held-out questions asked, each grounded answer citing its own leaf,
scores within their ranges)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app
from tests.grounding.conftest import age, write

from .conftest import ROOTS, ROOTS_FILE

pytestmark = [pytest.mark.engine, pytest.mark.timeout(300)]

VOLCANOES_FILE = "knowledge/geology/volcanoes/qna.yaml"
VOLCANOES = """\
version: 3
created_by: teacher
domain: Geology
document_outline: |
  How volcanoes erupt.
seed_examples:
  - context: |
      A volcano erupts when molten rock called magma rises through cracks in the crust. Magma that reaches the
      surface is called lava. Ash and gas are thrown into the air during an explosive eruption.
    questions_and_answers:
      - question: |
          What is magma called when it reaches the surface?
        answer: |
          Magma that reaches the surface is called lava.
      - question: |
          What is thrown into the air during an explosive eruption?
        answer: |
          Ash and gas are thrown into the air during an explosive eruption.
"""


def test_local_holdout_run(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    write(root, ROOTS_FILE, ROOTS)
    write(root, VOLCANOES_FILE, VOLCANOES)
    age(root)
    result = CliRunner().invoke(
        app,
        ["eval", "--local", "--holdout", "1", "--taxonomy", str(root), "--max-tokens", "24", "-f", "json"],
        env={"EDUBOT_LOGS_DIR": str(tmp_path / "logs")},
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["target"] == {"url": None, "local": True}
    assert report["settings"]["holdout"] == 1 and report["settings"]["temperature"] == 0.0
    assert [(item["file"], item["question"]) for item in report["items"]] == [
        (ROOTS_FILE, "Why do roots have root hairs?"),
        (VOLCANOES_FILE, "What is thrown into the air during an explosive eruption?"),
    ]
    for item in report["items"]:
        grounded, ungrounded = item["results"]["grounded"], item["results"]["ungrounded"]
        assert grounded["error"] is None and ungrounded["error"] is None
        assert grounded["answer"].strip() and ungrounded["answer"].strip()
        # two leaves on unrelated topics: the question's own passage comes first
        assert grounded["cited_leaf"] is True
        assert grounded["sources"][0].startswith(item["file"] + "#seed_examples[0].context")
        assert ungrounded["sources"] == [] and ungrounded["cited_leaf"] is None
        for answer in (grounded, ungrounded):
            for metric in ("f1", "content_recall"):
                assert 0.0 <= answer[metric] <= 1.0
            # an answer quoted from the material (grounding_answer: quote) asks the engine for nothing
            quoted = answer["faithfulness"] == "quoted" and answer["answer"].startswith(
                "From your class notes: “"
            )
            assert answer["completion_tokens"] == 0 if quoted else 0 < answer["completion_tokens"] <= 24
    assert [leaf["leaf"] for leaf in report["leaves"]] == [
        "knowledge/botany/roots",
        "knowledge/geology/volcanoes",
    ]
    for mode in ("grounded", "ungrounded"):
        overall = report["overall"][mode]
        assert (overall["questions"], overall["answered"], overall["errors"]) == (2, 2, 0)
    assert report["overall"]["grounded"]["cited_leaf"] == 1.0
    [record] = sorted(Path("datasets").glob("edubot-run-eval-*.json"))
    assert result.stderr.splitlines()[-1] == f"run record: {record.absolute()}"


SAMPLE = Path(__file__).resolve().parents[2] / "taxonomy"
SAMPLE_LEAVES = [
    "knowledge/school/class_5b_field_trip_rules",
    "knowledge/school/riverside_garden_project",
    "knowledge/science/biology/photosynthesis",
    "knowledge/science/earth_science/water_cycle",
]


@pytest.mark.timeout(600)
def test_the_sample_taxonomy_four_at_once(tmp_path: Path) -> None:
    """`edubot eval --local --holdout 1 --concurrency 4` on the shipped taxonomy: the structure and the counts of
    the report (not the scores, which depend on the model): the 20 held-out questions, five per leaf, in the
    taxonomy's order, each answered in both modes with a verdict that agrees with the shares."""
    flags = [
        "--holdout",
        "1",
        "--concurrency",
        "4",
        "--taxonomy",
        str(SAMPLE),
        "--max-tokens",
        "16",
        "-f",
        "json",
    ]
    result = CliRunner().invoke(
        app,
        ["eval", "--local", *flags],
        env={"EDUBOT_LOGS_DIR": str(tmp_path / "logs")},
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    settings = report["settings"]
    assert (settings["temperature"], settings["concurrency"], settings["holdout"]) == (0.0, 4, 1)
    assert (report["partial"], report["asked"], report["total"]) == (False, 20, 20)
    assert [leaf["leaf"] for leaf in report["leaves"]] == SAMPLE_LEAVES
    items = report["items"]
    assert [item["leaf"] for item in items] == [leaf for leaf in SAMPLE_LEAVES for _ in range(5)]
    for leaf in SAMPLE_LEAVES:
        lines = [item["line"] for item in items if item["leaf"] == leaf]
        assert lines == sorted(lines)
    for mode in ("grounded", "ungrounded"):
        overall = report["overall"][mode]
        assert (overall["questions"], overall["answered"], overall["errors"]) == (20, 20, 0)
        verdicts = [item["results"][mode]["verdict"] for item in items]
        assert set(verdicts) <= {"right", "partly", "wrong"}
        for word in ("right", "partly", "wrong"):
            assert overall[word] == round(verdicts.count(word) / 20, 4)
        factoid = [item for item in items if item["factoid"]]
        assert overall["factoid_questions"] == len(factoid) > 0
        for item in items:
            answer = item["results"][mode]
            assert answer["answer"].strip()
            quoted = answer["faithfulness"] == "quoted" and answer["answer"].startswith(
                "From your class notes: “"
            )
            assert answer["completion_tokens"] == 0 if quoted else 0 < answer["completion_tokens"] <= 16
            assert len(answer["source_titles"]) == len(answer["sources"])
            assert (answer["sources"] == []) is (mode == "ungrounded")
