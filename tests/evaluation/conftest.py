"""Fixtures for the `edubot eval` tests: a clean environment in an empty folder, and a tiny taxonomy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.grounding.conftest import age, write

ROOTS = """\
version: 3
created_by: teacher
domain: Botany
document_outline: |
  What roots do.
seed_examples:
  - context: |
      Roots take up water and minerals from the soil. Tiny root hairs give the roots a large surface.
    questions_and_answers:
      - question: |
          What do roots take up from the soil?
        answer: |
          Roots take up water and minerals.
      - question: |
          Why do roots have root hairs?
        answer: |
          Root hairs give the roots a large surface, as Charles Darwin saw.
"""

SUMS = """\
version: 3
created_by: teacher
task_description: Adding money step by step
seed_examples:
  - context: |
      Sam has 2.50 euros.
    question: |
      Maria gives Sam 1.25 euros. How much does Sam have now?
    answer: |
      Sam has 2.50 + 1.25 = 3.75 euros.
"""

ROOTS_FILE = "knowledge/botany/roots/qna.yaml"
SUMS_FILE = "compositional_skills/maths/sums/qna.yaml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No EDUBOT_* variables, no colours, an isolated index cache, and an empty working folder (so run records go
    to ./datasets there)."""
    for name in list(os.environ):
        if name.startswith("EDUBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """knowledge/botany/roots (one context, two Q&A pairs) and compositional_skills/maths/sums (one example)."""
    root = tmp_path / "taxonomy"
    write(root, ROOTS_FILE, ROOTS)
    write(root, SUMS_FILE, SUMS)
    age(root)
    return root
