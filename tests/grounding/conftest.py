"""Fixtures for the grounding tests: a small temp taxonomy with known text and lines, an isolated cache."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

PLANTS = """\
version: 3
created_by: teacher
domain: Botany
document_outline: |
  How plants drink, breathe and grow.
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
          Root hairs give the roots a large surface.
  - context: |
      Xylem tubes carry water from the roots up to the leaves. Phloem tubes carry sugar around the plant.
    questions_and_answers:
      - question: |
          Which tubes carry water to the leaves?
        answer: |
          Xylem tubes carry water from the roots to the leaves.
      - question: |
          What does phloem carry?
        answer: |
          Phloem carries sugar around the plant.
  - context: |
      Stomata are small pores under a leaf. They open to let carbon dioxide in and water vapour out.
    questions_and_answers:
      - question: |
          Where are stomata found?
        answer: |
          Stomata are found under a leaf.
      - question: |
          What leaves a plant through the stomata?
        answer: |
          Water vapour leaves the plant through the stomata.
document:
  repo: docs
  commit: 0123456789abcdef0123456789abcdef01234567
  patterns:
    - plants/*.md
"""

HAIKU = """\
version: 3
created_by: teacher
task_description: Writing a haiku about a school subject
seed_examples:
  - question: |
      Write a haiku about fractions.
    answer: |
      Pizza cut in eight,
      three slices gone, five remain:
      five eighths on the plate.
  - context: |
      The class has just learnt about volcanoes.
    question: |
      Write a haiku about what the class learnt.
    answer: |
      Mountain breathes out fire,
      lava crawls down to the sea,
      new land cools to stone.
"""

ROOTS_MD = """\
# Roots

Roots anchor the plant in the ground.

Root hairs absorb water by osmosis.

## Root cap

A cap of cells protects the growing tip.
"""


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def age(root: Path, seconds: int = 3600) -> None:
    """Move the mtime of every file written in the last minute ``seconds`` into the past: the index trusts
    only mtimes older than 2 s (see RACY_NS), and tests should not wait."""
    recent = time.time_ns() - 60 * 1_000_000_000
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            stat = path.stat()
            if stat.st_mtime_ns > recent:
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 1_000_000_000))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def taxonomy(tmp_path: Path) -> Path:
    """knowledge/botany/plants (3 contexts, a local document folder), compositional_skills/poems/haiku (2)."""
    root = tmp_path / "taxonomy"
    write(root, "knowledge/botany/plants/qna.yaml", PLANTS)
    write(root, "compositional_skills/poems/haiku/qna.yaml", HAIKU)
    write(root, "docs/plants/roots.md", ROOTS_MD)
    age(root)
    return root
