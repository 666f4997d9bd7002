"""Fixtures for the taxonomy tests: valid version 3 documents, temp taxonomies, an isolated cache."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edubot_cli.taxonomy.findings import Finding
from edubot_cli.taxonomy.validate import validate_files

CONTEXTS = [
    "The Nile is the longest river in Africa. It flows north through eleven countries into the Mediterranean Sea.",
    "Mount Kilimanjaro in Tanzania is the highest mountain in Africa. It is a dormant volcano with three cones.",
    "The Sahara is the largest hot desert in the world. It covers much of North Africa and has very little rain.",
    "Lake Victoria is the largest lake in Africa. It is shared by Uganda, Kenya and Tanzania.",
    "The Congo rainforest is the second largest tropical forest on Earth. Gorillas and okapis live there.",
]


def knowledge_text(contexts: int = 5, version: int = 3) -> str:
    """A valid version 3 knowledge qna.yaml (5 contexts, 3 Q&A each)."""
    lines = [
        f"version: {version}",
        "created_by: teacher",
        "domain: Geography",
        "document_outline: |",
        "  Facts about the rivers, mountains, deserts, lakes and forests of Africa.",
        "seed_examples:",
    ]
    for i, context in enumerate(CONTEXTS[:contexts]):
        lines += ["  - context: |", f"      {context}", "    questions_and_answers:"]
        for j in range(3):
            lines += [
                "      - question: |",
                f"          Question {j + 1} about seed {i + 1}: what does the text say?",
                "        answer: |",
                f"          {context.split('. ')[j % 2]}.",
            ]
    lines += [
        "document:",
        "  repo: https://github.com/example/africa-docs",
        "  commit: 0123456789abcdef0123456789abcdef01234567",
        "  patterns:",
        "    - africa.md",
    ]
    return "\n".join(lines) + "\n"


def skill_text(examples: int = 5) -> str:
    """A valid version 3 compositional skill qna.yaml."""
    lines = [
        "version: 3",
        "created_by: teacher",
        "task_description: Turning a sentence into a question for a quiz",
        "seed_examples:",
    ]
    for i in range(examples):
        lines += [
            "  - question: |",
            f"      Turn sentence number {i + 1} into a question: the cat sat on mat {i}.",
            "    answer: |",
            f"      Where did the cat sit in sentence {i + 1}? On mat {i}.",
        ]
    return "\n".join(lines) + "\n"


ATTRIBUTION = "Title of work: Test\nLink to work: -\nLicense of the work: CC-BY-4.0\nCreator names: teacher\n"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own user cache directory (platformdirs honours XDG_CACHE_HOME)."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "edubot"


@pytest.fixture
def venv_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference validator runs `yamllint` from PATH: put this virtualenv's bin first."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def write_leaf(root: Path, leaf: str, text: str | bytes, attribution: str | None = ATTRIBUTION) -> Path:
    """Write ``root/leaf/qna.yaml`` (and attribution.txt unless None); return the qna.yaml path."""
    folder = root / leaf
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "qna.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    if attribution is not None:
        (folder / "attribution.txt").write_text(attribution, encoding="utf-8")
    return path


Check = Callable[..., list[Finding]]


@pytest.fixture
def check(tmp_path: Path) -> Check:
    """Validate one document written at ``leaf`` under a temp taxonomy; return its findings."""

    def run(
        text: str | bytes, leaf: str = "knowledge/geo/africa", *, strict: bool = False, **kw: object
    ) -> list[Finding]:
        path = write_leaf(tmp_path / "taxonomy", leaf, text, **kw)  # type: ignore[arg-type]
        return validate_files([path], strict=strict, use_cache=False, jobs=1).findings

    return run


def triples(findings: list[Finding]) -> list[tuple[str, int, int]]:
    return [(f.rule, f.line, f.col) for f in findings]
