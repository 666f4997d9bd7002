"""`edubot taxonomy add --document`: the teacher's own files are converted, kept and committed in the project's
``knowledge_docs/`` repository, named by the leaf, and indexed at once; the author comes from git or the login."""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

import pytest
import yaml

from edubot_cli.taxonomy.validate import validate
from tests.support.office_files import pdf_bytes

from .test_add import _knowledge_rows, _write_csv, invoke, project  # noqa: F401  (project is a fixture)

TRIP = "# Year 9 museum trip\n\nThe coach leaves the school gate at 8:15.\n\nBring a packed lunch.\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_markdown_document_is_kept_committed_and_indexed(project: Path) -> None:  # noqa: F811
    (project / "trip.md").write_text(TRIP)
    seeds = _write_csv(project / "seeds.csv", _knowledge_rows())
    code, out, err = invoke(
        "knowledge/school/museum_trip", "--document", "trip.md", "--from", str(seeds), "--domain", "School"
    )
    assert (code, err) == (0, "")
    docs = project / "knowledge_docs"
    kept = docs / "school/museum_trip/trip.md"
    sha = _git(docs, "rev-parse", "HEAD")
    assert out.splitlines() == [
        f"wrote {Path('taxonomy/knowledge/school/museum_trip/qna.yaml')}",
        f"wrote {Path('taxonomy/knowledge/school/museum_trip/attribution.txt')}",
        f"kept {kept} (commit {sha[:7]})",
        "indexed: 6 passages for grounded answers",
        "next: run `edubot serve`, open http://localhost:8000 and ask “Question 0 on 0?”",
    ]
    assert kept.read_text() == TRIP
    assert _git(docs, "status", "--porcelain") == ""
    assert _git(docs, "log", "--format=%s") == "Documents for school/museum_trip"
    qna = project / "taxonomy/knowledge/school/museum_trip/qna.yaml"
    data = yaml.safe_load(qna.read_text())
    assert data["document"] == {
        "repo": docs.as_uri(),
        "commit": sha,
        "patterns": ["school/museum_trip/trip.md"],
    }
    assert data["created_by"] == getpass.getuser()
    assert data["document_outline"] == "Year 9 museum trip\n"  # the document's first heading
    assert (qna.parent / "attribution.txt").read_text().splitlines()[1:3] == [
        f"Link to work: {docs.as_uri()}",
        f"Revision: {sha}",
    ]
    report = validate([project / "taxonomy"], strict=True, use_cache=False)
    assert (report.errors, report.warnings) == (0, 0)


def test_a_pdf_is_kept_as_markdown_with_its_original(project: Path) -> None:  # noqa: F811
    (project / "Trip Letter.pdf").write_bytes(
        pdf_bytes(["The coach leaves at 8:15.", "Bring a packed lunch."])
    )
    seeds = _write_csv(project / "seeds.csv", _knowledge_rows())
    code, _, err = invoke(
        "knowledge/school/trip", "-d", "Trip Letter.pdf", "--from", str(seeds), "--domain", "School"
    )
    assert (code, err) == (0, "")
    folder = project / "knowledge_docs/school/trip"
    assert (folder / "trip_letter.md").read_text() == "The coach leaves at 8:15.\n\nBring a packed lunch.\n"
    assert (folder / "originals/Trip Letter.pdf").read_bytes() == (project / "Trip Letter.pdf").read_bytes()
    assert _git(project / "knowledge_docs", "ls-files").splitlines() == [
        "school/trip/originals/Trip Letter.pdf",
        "school/trip/trip_letter.md",
    ]


def test_the_author_comes_from_git_when_not_given(project: Path) -> None:  # noqa: F811
    (project / "gitconfig").write_text("[user]\n\tname = Ms Rivera\n\temail = rivera@school.example\n")
    (project / "trip.md").write_text(TRIP)
    seeds = _write_csv(project / "seeds.csv", _knowledge_rows())
    code, _, err = invoke(
        "knowledge/school/trip", "-d", "trip.md", "--from", str(seeds), "--domain", "School"
    )
    assert (code, err) == (0, "")
    data = yaml.safe_load((project / "taxonomy/knowledge/school/trip/qna.yaml").read_text())
    assert data["created_by"] == "Ms Rivera"
    assert (
        _git(project / "knowledge_docs", "log", "--format=%an <%ae>") == "Ms Rivera <rivera@school.example>"
    )


def test_a_failed_leaf_commits_nothing(project: Path) -> None:  # noqa: F811
    (project / "trip.md").write_text(TRIP)
    seeds = _write_csv(project / "seeds.csv", _knowledge_rows()[:-1])  # the last context has 2 questions
    code, _, err = invoke(
        "knowledge/school/trip", "-d", "trip.md", "--from", str(seeds), "--domain", "School"
    )
    assert code == 1
    assert "has 2 question/answer pairs; at least 3 are needed" in err
    assert not (project / "knowledge_docs").exists()
    assert not (project / "taxonomy/knowledge").exists()


def test_a_dry_run_writes_nothing(project: Path) -> None:  # noqa: F811
    (project / "trip.md").write_text(TRIP)
    seeds = _write_csv(project / "seeds.csv", _knowledge_rows())
    code, out, _ = invoke(
        "knowledge/school/trip", "-d", "trip.md", "--from", str(seeds), "--domain", "School", "--dry-run"
    )
    assert code == 0
    assert yaml.safe_load(out)["document"] == {
        "repo": (project / "knowledge_docs").as_uri(),
        "commit": "0" * 40,
        "patterns": ["school/trip/trip.md"],
    }
    assert not (project / "knowledge_docs").exists()


def test_a_different_document_of_the_same_name_needs_force(project: Path) -> None:  # noqa: F811
    (project / "trip.md").write_text(TRIP)
    seeds = _write_csv(project / "seeds.csv", _knowledge_rows())
    args = ["knowledge/school/trip", "-d", "trip.md", "--from", str(seeds), "--domain", "School"]
    assert invoke(*args)[0] == 0
    first = _git(project / "knowledge_docs", "rev-parse", "HEAD")
    (project / "trip.md").write_text(TRIP + "\nThe cost is 12 pounds.\n")
    code, _, err = invoke(*args)
    kept = project / "knowledge_docs/school/trip/trip.md"
    assert (code, err.splitlines()) == (
        1,
        [
            f"error: {kept} already holds a different document",
            "hint: pass --force to replace it, or rename your file",
        ],
    )
    assert kept.read_text() == TRIP
    code, _, err = invoke(*args, "--force")
    assert (code, err) == (0, "")
    assert kept.read_text().endswith("The cost is 12 pounds.\n")
    second = _git(project / "knowledge_docs", "rev-parse", "HEAD")
    assert second != first
    data = yaml.safe_load((project / "taxonomy/knowledge/school/trip/qna.yaml").read_text())
    assert data["document"]["commit"] == second


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["compositional_skills/school/trip", "--task-description", "t"], "--document is for knowledge leaves",
         "put the leaf under knowledge/, or drop --document"),
        (["knowledge/school/trip", "--repo", "https://github.com/x/y"],
         "--document fills the document repository itself: --repo, --commit and --pattern cannot be given with it",
         "pass either your files with --document, or a repository with --repo/--commit/--pattern"),
    ],
)  # fmt: skip
def test_document_clashes_are_usage_errors(
    project: Path,  # noqa: F811
    args: list[str],
    message: str,
    hint: str,
) -> None:
    (project / "trip.md").write_text(TRIP)
    code, _, err = invoke(*args, "-d", "trip.md")
    assert (code, err.splitlines()) == (2, [f"error: {message}", f"hint: {hint}"])


def test_the_prompts_offer_the_documents_passages_as_contexts(project: Path) -> None:  # noqa: F811
    from edubot_cli.taxonomy.scaffold import AddRequest, add_leaf

    paragraphs = [f"Rule {i}: students walk in pairs and stay with group {i} all day." for i in range(6)]
    (project / "rules.md").write_text("# Trip rules\n\n" + "\n\n".join(paragraphs) + "\n")
    offered: list[str | None] = []

    def prompt(question: str, default: str | None) -> str:
        if ": context (" in question:
            offered.append(default)
            return default or ""  # Enter takes the passage shown (as the line prompter does)
        if question.startswith("  question"):
            return f"Question {len(offered)}.{question[11]}?"
        if question.startswith("  answer"):
            return "Walk in pairs."
        return "n" if question.startswith("Add seed example") else (default or "School")

    request = AddRequest("knowledge/school/rules", documents=[project / "rules.md"])
    result = add_leaf(request, project / "taxonomy", prompt=prompt)
    data = yaml.safe_load(result.qna_path.read_text())
    # The five longest passages in document order ("Rule 5" ties on length and comes last).
    assert offered == paragraphs[:5]
    assert [s["context"] for s in data["seed_examples"]] == [p + "\n" for p in paragraphs[:5]]
    assert data["document_outline"] == "Trip rules\n"
