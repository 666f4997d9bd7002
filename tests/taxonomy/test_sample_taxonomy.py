"""The shipped sample taxonomy validates with no errors and no warnings, here and in InstructLab."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edubot_cli.taxonomy.validate import validate

SAMPLE = Path(__file__).resolve().parents[2] / "taxonomy"


def test_sample_is_clean_under_strict() -> None:
    report = validate([SAMPLE], strict=True, use_cache=False)
    assert report.files_checked >= 3
    assert report.findings == []


def test_sample_has_the_required_leaves() -> None:
    leaves = {str(p.parent.relative_to(SAMPLE)).split("/")[0] for p in SAMPLE.rglob("qna.yaml")}
    assert {"knowledge", "compositional_skills"} <= leaves
    assert len(list((SAMPLE / "compositional_skills").rglob("qna.yaml"))) >= 2
    assert (SAMPLE / "foundational_skills").is_dir()
    for qna in SAMPLE.rglob("qna.yaml"):
        assert (qna.parent / "attribution.txt").read_text().strip()


@pytest.mark.parametrize("root", [SAMPLE, SAMPLE.parent / "tests/benchmarks/taxonomies/northbrook"])
def test_reference_validator_agrees(venv_on_path: None, root: Path) -> None:
    """InstructLab's own validator finds nothing in the shipped sample, nor in the benchmarks' Northbrook."""
    from instructlab.schema.taxonomy import TaxonomyMessageFormat, TaxonomyParser

    parser = TaxonomyParser(
        schema_version=0, yamllint_strict=True, message_format=TaxonomyMessageFormat.LOGGING
    )
    parser.yq_available = False
    for qna in sorted(root.rglob("qna.yaml")):
        result = parser.parse(qna)
        assert (qna, result.errors, result.warnings) == (qna, 0, 0)


def test_the_readme_counts_the_sample_leaves_right() -> None:
    readme = (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
    said = re.search(r"ships a sample taxonomy \(`taxonomy/`\): (\w+) knowledge leaves .*? and (\w+) teaching\s+skills",
                     readme, flags=re.S)  # fmt: skip
    assert said is not None
    knowledge = len(list((SAMPLE / "knowledge").rglob("qna.yaml")))
    skills = len(list((SAMPLE / "compositional_skills").rglob("qna.yaml")))
    assert (words[said[1]], words[said[2]]) == (knowledge, skills)
    guide = (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert f"`knowledge/`: {said[1]} version 3 knowledge leaves" in guide
