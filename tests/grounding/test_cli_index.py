"""`edubot taxonomy index`: output, formats, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app

from .conftest import age, write


@pytest.fixture
def project(taxonomy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(taxonomy.parent)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("EDUBOT_DEBUG", raising=False)
    return taxonomy


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["taxonomy", "index", *args])
    return result.exit_code, result.stdout, result.stderr


def lines(out: str) -> list[str]:
    """The output less its first line (the index path) and last (the time)."""
    return out.splitlines()[1:-1]


def test_table_output_build_then_refresh(project: Path, isolated_cache: Path) -> None:
    write(project, "compositional_skills/poems/broken/qna.yaml", "version: 3\nseed_examples: [\n")
    age(project)
    code, out, _ = run()  # the default taxonomy: ./taxonomy
    assert code == 0
    first = out.splitlines()
    assert first[0].startswith(f"index {isolated_cache}/grounding/taxonomy-") and first[0].endswith(
        ".sqlite3 (rebuilt)"
    )
    assert lines(out) == [
        "files: 3 read, 0 unchanged, 1 skipped, 0 removed",
        "passages: 3 knowledge, 2 skill, 2 document (7 in all)",
        "skipped compositional_skills/poems/broken/qna.yaml:3:1 [yaml-syntax] expected the node content, but "
        "found '<stream end>' (while parsing a flow node)",
    ]
    assert first[-1].startswith("took ") and first[-1].endswith(" s")
    code, out, _ = run("taxonomy")
    assert code == 0
    assert not out.splitlines()[0].endswith("(rebuilt)")
    assert lines(out)[0] == "files: 0 read, 3 unchanged, 1 skipped, 0 removed"
    code, out, _ = run("taxonomy", "--rebuild")
    assert lines(out)[0] == "files: 3 read, 0 unchanged, 1 skipped, 0 removed"


def test_json_output(project: Path, tmp_path: Path) -> None:
    index_file = tmp_path / "my-index.sqlite3"
    remote = (
        (project / "knowledge/botany/plants/qna.yaml")
        .read_text()
        .replace("repo: docs", "repo: https://github.com/example/plant-docs")
    )
    write(project, "knowledge/botany/plants/qna.yaml", remote)
    age(project)
    code, out, _ = run(str(project), "--index", str(index_file), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["seconds"] >= 0
    del data["seconds"]
    assert data == {
        "root": str(project.resolve()),
        "index": str(index_file),
        "holdout": 0,
        "rebuilt": True,
        "files": {"read": 2, "unchanged": 0, "skipped": 0, "removed": 0},
        "passages": {"knowledge": 3, "skill": 2, "document": 0, "total": 5},
        "held_out": 0,
        "remote_documents": 1,
        "skipped": [],
        "warnings": [],
    }
    code, out, _ = run(str(project), "--index", str(index_file))
    assert lines(out) == [
        "files: 0 read, 2 unchanged, 0 skipped, 0 removed",
        "passages: 3 knowledge, 2 skill, 0 document (5 in all)",
        "1 knowledge leaf: its document is on the internet (a git repository), which edubot does not download. "
        "Its questions and answers are indexed; to ground answers in the document too, download (git clone) "
        "each repository into one folder and pass it with --docs FOLDER (or set grounding_docs_dir). Your own "
        "files: `edubot taxonomy add --document FILE` keeps them on this computer.",
    ]


def test_docs_folder(project: Path, tmp_path: Path) -> None:
    remote = (
        (project / "knowledge/botany/plants/qna.yaml")
        .read_text()
        .replace("repo: docs", "repo: https://github.com/example/plant-docs")
    )
    write(project, "knowledge/botany/plants/qna.yaml", remote)
    write(tmp_path / "src", "plant-docs/plants/leaves.md", "# Leaves\n\nLeaves make food.\n")
    age(tmp_path)
    code, out, _ = run(str(project), "--docs", str(tmp_path / "src"))
    assert code == 0
    assert lines(out)[1] == "passages: 3 knowledge, 2 skill, 1 document (6 in all)"


def test_missing_taxonomy_is_exit_1_with_one_message(project: Path) -> None:
    code, out, err = run("nowhere")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "error: taxonomy nowhere is not a folder",
        "hint: pass the taxonomy folder (the one holding knowledge/ and compositional_skills/), or set "
        "taxonomy_path in the config",
    ]


def test_help_names_the_options(project: Path) -> None:
    result = CliRunner().invoke(app, ["taxonomy", "index", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ["--rebuild", "--format", "--index", "--docs", "Example: edubot taxonomy index"]:
        assert option in result.stdout
