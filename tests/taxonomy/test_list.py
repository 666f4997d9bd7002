"""`edubot taxonomy list`: tree, --stats and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app

from .conftest import knowledge_text, skill_text, write_leaf


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    root = tmp_path / "taxonomy"
    write_leaf(root, "knowledge/geo/africa", knowledge_text())
    write_leaf(root, "compositional_skills/lang/questions", skill_text(examples=6))
    write_leaf(root, "compositional_skills/lang/broken", "a: [\n")
    return root


def test_json(tree: Path) -> None:
    result = CliRunner().invoke(app, ["taxonomy", "list", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    leaves = {leaf["path"]: leaf for leaf in data["leaves"]}
    assert list(leaves) == [
        "compositional_skills/lang/broken",
        "compositional_skills/lang/questions",
        "knowledge/geo/africa",
    ]
    assert leaves["knowledge/geo/africa"] == {
        "path": "knowledge/geo/africa",
        "kind": "knowledge",
        "version": 3,
        "seed_examples": 5,
        "qna_pairs": 15,
        "context_words": 89,
        "qna_words": leaves["knowledge/geo/africa"]["qna_words"],
        "readable": True,
        "words": 89 + leaves["knowledge/geo/africa"]["qna_words"],
    }
    assert leaves["knowledge/geo/africa"]["qna_words"] > 0
    assert leaves["compositional_skills/lang/questions"]["seed_examples"] == 6
    assert leaves["compositional_skills/lang/broken"]["readable"] is False
    assert data["totals"]["leaves"] == 3
    assert data["totals"]["seed_examples"] == 11
    assert data["totals"]["compositional_skill_leaves"] == 2


def test_tree_and_stats(tree: Path) -> None:
    plain = CliRunner().invoke(app, ["taxonomy", "list"])
    assert plain.exit_code == 0
    assert "africa knowledge v3, 5 seed examples" in plain.stdout
    assert "words" not in plain.stdout
    assert plain.stdout.rstrip().endswith("3 leaves, 11 seed examples")
    stats = CliRunner().invoke(app, ["taxonomy", "list", "--stats"])
    assert "africa knowledge v3, 5 seed examples, 15 Q&A" in stats.stdout
    assert "broken compositional_skill, unreadable: run `edubot taxonomy validate`" in stats.stdout
    assert stats.stdout.splitlines()[-1] == "3 leaves, 11 seed examples, 21 Q&A pairs, 519 words"


def test_one_of_each_is_singular(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    write_leaf(tmp_path / "taxonomy", "compositional_skills/lang/one", skill_text(examples=1))
    result = CliRunner().invoke(app, ["taxonomy", "list", "--stats"])
    assert result.exit_code == 0
    assert "one compositional_skill v3, 1 seed example, 1 Q&A, 24 words (0 context)" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 leaf, 1 seed example, 1 Q&A pair, 24 words"


def test_missing_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["taxonomy", "list"])
    assert result.exit_code == 1
    assert "taxonomy root taxonomy is not a folder" in result.stderr


def test_only_complete_pairs_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    text = skill_text(examples=5).replace(
        "      Where did the cat sit in sentence 5? On mat 4.\n", "      \n"
    )
    text = text.replace("    answer: |\n      \n", '    answer: ""\n')
    write_leaf(tmp_path / "taxonomy", "compositional_skills/lang/gap", text)
    result = CliRunner().invoke(app, ["taxonomy", "list", "--stats", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["leaves"][0]["qna_pairs"] == 4
    tree = CliRunner().invoke(app, ["taxonomy", "list", "--stats"])
    assert "gap compositional_skill v3, 5 seed examples, 4 Q&A," in tree.stdout


def test_a_narrow_terminal_never_cuts_a_leaf_line(tmp_path: Path) -> None:
    import re
    import shutil
    import sys

    import pexpect

    shutil.copytree(Path(__file__).resolve().parents[2] / "taxonomy", tmp_path / "taxonomy")
    edubot = str(Path(sys.executable).with_name("edubot"))
    child = pexpect.spawn(
        edubot, ["taxonomy", "list", "--stats"], cwd=str(tmp_path), dimensions=(40, 80), encoding="utf-8"
    )
    child.expect(pexpect.EOF, timeout=60)
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before).replace("\r", "").split("\n")
    leaf = next(line for line in lines if "photosynthesis" in line)
    assert leaf.endswith("photosynthesis knowledge v3, 5 seed examples, 15 Q&A, 742 words (389 context)")
