"""``gitrepo``: the one way edubot asks git, and its one failure policy (real git in temporary folders)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edubot_cli.errors import MissingDependencyError
from edubot_cli.gitrepo import GitError, repository

WAY_OUT = "pass --no-git"


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_a_folder_inside_a_repository_finds_its_top_and_refs(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "sub").mkdir()
    repo = repository(tmp_path / "sub", WAY_OUT)
    assert repo.top == tmp_path.resolve()
    assert not repo.ref_exists("HEAD")  # no commit yet
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "first")
    assert repo.ref_exists("HEAD") and repo.ref_exists("main") and not repo.ref_exists("nope")
    assert repo.output("rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_a_folder_outside_any_repository_is_a_git_error_with_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(GitError) as info:
        repository(tmp_path, WAY_OUT)
    assert info.value.message == f"{tmp_path} is not inside a git repository"
    assert info.value.hint == "run `git init` there (and commit) first, or pass --no-git"


def test_a_failing_git_command_is_a_git_error_quoting_git(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    repo = repository(tmp_path, WAY_OUT)
    with pytest.raises(GitError) as info:
        repo.run("merge-base", "nope", "HEAD")
    assert info.value.message.startswith(f"`git merge-base nope HEAD` failed in {repo.top}: ")
    assert "nope" in info.value.message.partition(": ")[2]
    assert info.value.hint == "check the repository, or pass --no-git"
    assert repo.run("merge-base", "nope", "HEAD", check=False).returncode != 0


def test_git_missing_is_a_missing_dependency_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(MissingDependencyError) as info:
        repository(tmp_path, WAY_OUT)
    assert info.value.message == "git is not installed (or not on PATH)"
    assert info.value.hint == "install git (e.g. `apt-get install -y git`), or pass --no-git"
