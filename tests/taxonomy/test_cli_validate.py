"""`edubot taxonomy validate`: output formats, exit codes, --strict, --changed, --no-cache."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app

from .conftest import knowledge_text, skill_text, write_leaf


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp project (the working directory) with a taxonomy of one good and one broken leaf."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("EDUBOT_DEBUG", raising=False)
    root = tmp_path / "taxonomy"
    write_leaf(root, "knowledge/geo/africa", knowledge_text())
    write_leaf(
        root,
        "compositional_skills/lang/questions",
        skill_text().replace("created_by: teacher", "created_by: 7"),
    )
    return root


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["taxonomy", "validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_output(tree: Path) -> None:
    code, out, _ = run("--format", "json", "--no-cache")
    assert code == 1
    assert json.loads(out) == {
        "files_checked": 2,
        "errors": 1,
        "warnings": 0,
        "findings": [
            {
                "file": "taxonomy/compositional_skills/lang/questions/qna.yaml",
                "line": 2,
                "col": 13,
                "severity": "error",
                "rule": "schema/type",
                "yaml_path": ".created_by",
                "message": "7 is not of type 'string'",
                "hint": "write text; quote values YAML would read as numbers, dates or booleans, or use a `|` block",
            }
        ],
    }


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_number_too_long_to_check_is_one_finding_and_the_run_goes_on(tree: Path, fmt: str) -> None:
    write_leaf(tree, "knowledge/geo/hex", knowledge_text() + "extra: 0x" + "f" * 4000 + "\n")
    code, out, err = run("--format", fmt, "--no-cache")
    assert (code, err) == (1, "")
    hex_file = "taxonomy/knowledge/geo/hex/qna.yaml"
    skill = "taxonomy/compositional_skills/lang/questions/qna.yaml"
    message = "a number of 4,002 characters is too long to check (at most 4,000 digits)"
    if fmt == "json":
        report = json.loads(out)
        assert (report["files_checked"], report["errors"]) == (3, 2)
        assert [(f["file"], f["line"], f["col"], f["rule"]) for f in report["findings"]] == [
            (skill, 2, 13, "schema/type"),
            (hex_file, 87, 8, "yaml-syntax"),
        ]
        assert report["findings"][1]["message"] == message
        assert report["findings"][1]["yaml_path"] == ".extra"
        assert report["findings"][1]["hint"] == "quote it if it is text, or shorten it"
    else:
        assert f"{skill}:2:13: error [schema/type]" in out
        assert f"{hex_file}:87:8: error [yaml-syntax] {message} (.extra)" in out
        assert out.rstrip().endswith("failed: 3 files checked: 2 errors, 0 warnings")


def test_github_output(tree: Path) -> None:
    code, out, _ = run("--format", "github", "--no-cache")
    assert code == 1
    assert out.splitlines() == [
        "::error file=taxonomy/compositional_skills/lang/questions/qna.yaml,line=2,col=13::"
        "[schema/type] .created_by: 7 is not of type 'string' (hint: write text; quote values YAML would read "
        "as numbers, dates or booleans, or use a `|` block)",
        "2 files checked: 1 error, 0 warnings",
    ]


def test_github_escapes_newlines_and_percent() -> None:
    from edubot_cli.taxonomy.findings import Finding, github_line

    item = Finding("a,b:c.yaml", 3, 4, "warning", "r", "", "50% done\nnext", "")
    assert github_line(item) == "::warning file=a%2Cb%3Ac.yaml,line=3,col=4::[r] 50%25 done%0Anext"


def test_github_duplicate_question_reads_once(tree: Path) -> None:
    path = tree / "knowledge/geo/africa/qna.yaml"
    path.write_text(path.read_text().replace("Question 2 about seed 1", "Question 1 about seed 1"))
    code, out, _ = run("taxonomy/knowledge", "--format", "github", "--no-cache")
    assert code == 0
    assert out.splitlines()[0] == (
        "::warning file=taxonomy/knowledge/geo/africa/qna.yaml,line=14,col=19::[duplicate-question] "
        ".seed_examples[0].questions_and_answers[1].question: the same question with the same context is also "
        "at .seed_examples[0].questions_and_answers[0].question (hint: ask something different: repeated seed "
        "questions add nothing to the generated data)"
    )


def test_table_output_and_exit_code(tree: Path) -> None:
    code, out, _ = run("--no-cache")
    assert code == 1
    assert "taxonomy/compositional_skills/lang/questions/qna.yaml:2:13" in out
    assert "schema/type" in out
    assert out.rstrip().endswith("failed: 2 files checked: 1 error, 0 warnings")


def test_table_at_80_columns_groups_by_file_and_shows_each_hint_once(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    monkeypatch.setattr(
        "edubot_cli.commands.taxonomy.rich_console",
        lambda stderr=False: Console(width=80, stderr=stderr, highlight=False, no_color=True),
    )
    text = (
        "version: 3\ncreated_by: teacher\ndomain: Geography\n"
        "task_description: Facts about Africa\nseed_examples:\n"
        + "".join(f"  - question: Question {i}?\n    answer: Answer {i}.\n" for i in range(5))
        + "document:\n  repo: https://github.com/example/docs\n  commit: abc\n  patterns:\n    - a.md\n"
    )
    write_leaf(tree, "knowledge/geo/simple", text)
    code, out, _ = run("--no-cache")
    assert code == 1
    lines = out.splitlines()
    simple = "taxonomy/knowledge/geo/simple/qna.yaml"
    skill = "taxonomy/compositional_skills/lang/questions/qna.yaml"
    assert lines[:2] == [
        f"{skill}:2:13: error [schema/type] 7 is not of type 'string' (.created_by)",
        "  hint: write text; quote values YAML would read as numbers, dates or booleans, or use a `|` block",
    ]
    assert lines[2] == ""
    assert lines[3] == (
        f"{simple}:4:1: error [simplified-format] this is the simplified knowledge format (task_description "
        "and flat question/answer seed examples), which is not valid version 3 knowledge (.task_description)"
    )
    findings = [line for line in lines if line.startswith(simple)]
    assert len(findings) == 18  # every location whole on one line, never folded at 80 columns
    hints = [line for line in lines if line.startswith("  hint: ")]
    assert len(hints) == len(set(hints))
    assert hints.count("  hint: add `context:` here") == 1
    assert sum("version 3 knowledge needs" in line for line in lines) == 1
    assert lines[-1] == "failed: 3 files checked: 19 errors, 0 warnings"


def test_clean_tree_exits_0(tree: Path) -> None:
    code, out, _ = run("taxonomy/knowledge", "--no-cache")
    assert code == 0
    assert out.strip() == "ok: 1 file checked: 0 errors, 0 warnings"


def test_strict_turns_yamllint_warnings_into_errors(tree: Path) -> None:
    path = tree / "knowledge/geo/africa/qna.yaml"
    path.write_text(path.read_text().replace("domain: Geography", "domain:  Geography"))
    assert run("taxonomy/knowledge", "--no-cache")[0] == 0
    code, out, _ = run("taxonomy/knowledge", "--no-cache", "--strict", "--format", "json")
    assert code == 1
    assert [(f["rule"], f["severity"]) for f in json.loads(out)["findings"]] == [("yamllint/colons", "error")]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_changed_only_checks_modified_and_untracked(tree: Path) -> None:
    _git(tree.parent, "init", "-q", "-b", "main")
    _git(tree.parent, "add", ".")
    _git(tree.parent, "commit", "-q", "-m", "base")
    # unchanged broken file is skipped; a modified file and an untracked one are checked
    africa = tree / "knowledge/geo/africa/qna.yaml"
    africa.write_text(africa.read_text().replace("domain: Geography", "domain: 5"))
    write_leaf(tree, "knowledge/geo/europe", knowledge_text())
    code, out, err = run("--changed", "--format", "json", "--no-cache")
    report = json.loads(out)
    assert report["files_checked"] == 2
    assert [(f["file"], f["rule"]) for f in report["findings"]] == [
        ("taxonomy/knowledge/geo/africa/qna.yaml", "schema/type")
    ]
    assert code == 1
    assert "files changed against HEAD, untracked files included" in err


def test_changed_with_base_ref(tree: Path) -> None:
    _git(tree.parent, "init", "-q", "-b", "main")
    _git(tree.parent, "add", ".")
    _git(tree.parent, "commit", "-q", "-m", "base")
    _git(tree.parent, "checkout", "-q", "-b", "topic")
    write_leaf(tree, "knowledge/geo/asia", knowledge_text())
    _git(tree.parent, "add", ".")
    _git(tree.parent, "commit", "-q", "-m", "asia")
    code, out, _ = run("--changed", "--base", "main", "--format", "json", "--no-cache")
    assert code == 0
    assert json.loads(out)["files_checked"] == 1
    code, out, _ = run("--changed", "--format", "json", "--no-cache")  # against HEAD: nothing changed
    assert json.loads(out)["files_checked"] == 0


def test_changed_with_unknown_base(tree: Path) -> None:
    _git(tree.parent, "init", "-q", "-b", "main")
    _git(tree.parent, "add", ".")
    _git(tree.parent, "commit", "-q", "-m", "base")
    code, _, err = run("--changed", "--base", "nope")
    assert code == 1
    assert "git ref 'nope' does not exist" in err
    assert "hint:" in err


def test_changed_outside_git_is_one_error_with_the_way_out(tree: Path) -> None:
    code, out, err = run("--changed", "--format", "json", "--no-cache")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: taxonomy is not inside a git repository",
        "hint: run `git init` there (and commit) first, or run without --changed to check every file",
    ]


def test_changed_without_git_installed_says_what_to_install(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    code, out, err = run("--changed", "--no-cache")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: git is not installed (or not on PATH)",
        "hint: install git (e.g. `apt-get install -y git`), or run without --changed to check every file",
    ]
