"""`edubot taxonomy add`: flags, --from CSV/JSONL/simplified YAML, --dry-run, overwrite, path checks, prompts."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edubot_cli.errors import TaxonomyError, UsageError
from edubot_cli.main import app
from edubot_cli.taxonomy.scaffold import AUTHOR_QUESTION, AddRequest, add_leaf, check_leaf_path
from edubot_cli.taxonomy.validate import validate

from .conftest import CONTEXTS

KNOWLEDGE_FLAGS = [
    "--created-by", "teacher", "--domain", "Geography", "--outline", "Facts about Africa",
    "--repo", "https://github.com/example/docs", "--commit", "abc1234", "--pattern", "africa.md",
]  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("EDUBOT_DEBUG", raising=False)
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    # git's configuration is the test's own: no user name unless a test writes one.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (tmp_path / "taxonomy").mkdir()
    return tmp_path


def _knowledge_rows() -> list[dict[str, str]]:
    rows = []
    for i, context in enumerate(CONTEXTS):
        first, second = context.split(". ", 1)
        for j, answer in enumerate([first + ".", second, first + ". " + second]):
            rows.append({"context": context, "question": f"Question {j} on {i}?", "answer": answer})
    return rows


def _write_csv(path: Path, rows: list[dict[str, str]], blank_repeats: bool = True) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, ["context", "question", "answer"])
        writer.writeheader()
        previous = None
        for row in rows:
            shown = dict(row)
            if blank_repeats and row["context"] == previous:
                shown["context"] = ""  # an empty context continues the one above
            previous = row["context"]
            writer.writerow(shown)
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["taxonomy", "add", *args])
    return result.exit_code, result.stdout, result.stderr


def test_knowledge_from_csv_validates(project: Path, venv_on_path: None) -> None:
    source = _write_csv(project / "seeds.csv", _knowledge_rows())
    code, out, err = invoke(
        "knowledge/geo/africa", "--kind", "knowledge", "--from", str(source), *KNOWLEDGE_FLAGS
    )
    assert (code, err) == (0, "")
    qna = project / "taxonomy/knowledge/geo/africa/qna.yaml"
    assert out.splitlines() == [
        f"wrote {Path('taxonomy/knowledge/geo/africa/qna.yaml')}",
        f"wrote {Path('taxonomy/knowledge/geo/africa/attribution.txt')}",
        "indexed: 5 passages for grounded answers",
        "next: run `edubot serve`, open http://localhost:8000 and ask “Question 0 on 0?”",
    ]
    data = yaml.safe_load(qna.read_text())
    assert data["version"] == 3
    assert [len(s["questions_and_answers"]) for s in data["seed_examples"]] == [3] * 5
    assert data["seed_examples"][0]["context"] == CONTEXTS[0] + "\n"
    assert data["document"] == {
        "repo": "https://github.com/example/docs",
        "commit": "abc1234",
        "patterns": ["africa.md"],
    }
    assert "  - context: |\n" in qna.read_text()
    report = validate([project / "taxonomy"], strict=True, use_cache=False)
    assert (report.errors, report.warnings) == (0, 0)
    assert (qna.parent / "attribution.txt").read_text() == (
        "Title of work: Geography\nLink to work: https://github.com/example/docs\nRevision: abc1234\n"
        "License of the work: CC-BY-4.0\nCreator names: teacher\n"
    )
    # the reference validator agrees, yamllint strict included
    from instructlab.schema.taxonomy import TaxonomyMessageFormat, TaxonomyParser

    parser = TaxonomyParser(
        schema_version=0, yamllint_strict=True, message_format=TaxonomyMessageFormat.LOGGING
    )
    parser.yq_available = False
    result = parser.parse(qna)
    assert (result.errors, result.warnings) == (0, 0)


def test_csv_cells_may_span_lines(project: Path) -> None:
    source = project / "skill.csv"
    rows = "".join(f'"Say {i}?","Line one of {i}\nLine two of {i}"\n' for i in range(5))
    source.write_text("question,answer\n" + rows)
    code, out, _ = invoke(
        "compositional_skills/x/y",
        "--from",
        str(source),
        "--dry-run",
        "--created-by",
        "t",
        "--task-description",
        "t",
    )
    assert code == 0
    assert yaml.safe_load(out)["seed_examples"][3]["answer"] == "Line one of 3\nLine two of 3\n"
    assert "    answer: |\n      Line one of 3\n      Line two of 3\n" in out


def test_knowledge_from_flat_jsonl(project: Path) -> None:
    source = project / "seeds.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in _knowledge_rows()) + "\n")
    code, out, _ = invoke("knowledge/geo/africa", "--from", str(source), "--dry-run", *KNOWLEDGE_FLAGS)
    assert code == 0
    assert yaml.safe_load(out)["domain"] == "Geography"
    assert not (project / "taxonomy/knowledge").exists()  # --dry-run writes nothing


def test_knowledge_from_simplified_yaml(project: Path) -> None:
    simplified = {
        "version": 3,
        "created_by": "teacher",
        "domain": "Geography",
        "task_description": "Facts about the geography of Africa",
        "seed_examples": _knowledge_rows(),
        "document": {"repo": "https://github.com/example/docs", "commit": "abcdef0", "patterns": ["*.md"]},
    }
    source = project / "old.yaml"
    source.write_text(yaml.safe_dump(simplified))
    code, out, _ = invoke("knowledge/geo/africa", "--from", str(source), "--dry-run")
    assert code == 0
    data = yaml.safe_load(out)
    assert data["document_outline"] == "Facts about the geography of Africa\n"
    assert "task_description" not in data
    assert len(data["seed_examples"]) == 5


def test_skill_from_jsonl_with_multiline_answers(project: Path) -> None:
    source = project / "skill.jsonl"
    rows = [
        {"question": f"Count to {i}?", "answer": "\n".join(str(n) for n in range(1, i + 2))} for i in range(5)
    ]
    rows[0]["context"] = "Counting practice   \n  with trailing spaces"
    source.write_text("\n".join(json.dumps(r) for r in rows))
    code, _, err = invoke(
        "compositional_skills/math/counting", "--from", str(source), "--created-by", "teacher",
        "--task-description", "Counting aloud",
    )  # fmt: skip
    assert (code, err) == (0, "")
    qna = project / "taxonomy/compositional_skills/math/counting/qna.yaml"
    data = yaml.safe_load(qna.read_text())
    assert data["seed_examples"][4]["answer"] == "1\n2\n3\n4\n5\n"
    assert data["seed_examples"][0]["context"] == "Counting practice\n  with trailing spaces\n"
    report = validate([qna], strict=True, use_cache=False)
    assert (report.errors, report.warnings) == (0, 0)


def test_refuses_to_overwrite_without_force(project: Path) -> None:
    source = _write_csv(project / "seeds.csv", _knowledge_rows())
    args = ["knowledge/geo/africa", "--from", str(source), *KNOWLEDGE_FLAGS]
    assert invoke(*args)[0] == 0
    qna = project / "taxonomy/knowledge/geo/africa/qna.yaml"
    qna.write_text("# my edits\n")
    code, _, err = invoke(*args)
    assert code == 1
    assert "already exists" in err and "--force" in err
    assert qna.read_text() == "# my edits\n"
    assert invoke(*args, "--force")[0] == 0
    assert qna.read_text().startswith("version: 3\n")
    assert sorted(p.name for p in qna.parent.iterdir()) == [
        "attribution.txt",
        "qna.yaml",
    ]  # no temp files left


def test_a_failed_write_is_one_clear_error_and_keeps_the_old_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write_csv(project / "seeds.csv", _knowledge_rows())
    args = ["knowledge/geo/africa", "--from", str(source), *KNOWLEDGE_FLAGS]
    assert invoke(*args)[0] == 0
    qna = project / "taxonomy/knowledge/geo/africa/qna.yaml"
    before = qna.read_text()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("edubot_cli.fileio.os.fsync", full_disk)
    code, _, err = invoke(*args, "--force")
    assert code == 1
    assert "cannot write taxonomy/knowledge/geo/africa/attribution.txt: No space left on device" in err
    assert qna.read_text() == before
    assert sorted(p.name for p in qna.parent.iterdir()) == ["attribution.txt", "qna.yaml"]


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("skills/x", None, "must start with knowledge/, compositional_skills/ or foundational_skills/"),
        ("knowledge", None, "names a top folder, not a leaf"),
        ("knowledge/Geo Facts", None, "use lowercase letters, digits and underscores only"),
        ("knowledge/geo-facts", None, "use lowercase letters, digits and underscores only"),
        ("knowledge/../etc", None, "use lowercase letters, digits and underscores only"),
        ("knowledge/geo", "skill", "--kind skill does not fit knowledge/"),
        ("compositional_skills/geo", "knowledge", "--kind knowledge does not fit compositional_skills/"),
    ],
)
def test_path_checks(path: str, kind: str | None, message: str) -> None:
    with pytest.raises(UsageError) as info:
        check_leaf_path(path, kind)
    assert message in info.value.message


def test_path_normalisation() -> None:
    leaf, kind = check_leaf_path("taxonomy/knowledge/geo/qna.yaml", None)
    assert (str(leaf), kind) == ("knowledge/geo", "knowledge")
    assert check_leaf_path("foundational_skills/reasoning", None)[1] == "skill"


def test_bad_path_exits_2_on_the_cli(project: Path) -> None:
    code, _, err = invoke("Knowledge/Geo", "--dry-run")
    assert code == 2
    assert err.startswith("error: path 'Knowledge/Geo' must start with")


def test_missing_values_without_a_terminal(project: Path) -> None:
    code, _, err = invoke("knowledge/geo/africa", "--dry-run", "--created-by", "t", "--domain", "d", "--outline",
                          "o", "--repo", "https://github.com/example/docs", "--commit", "abc1234", "--pattern", "*.md")  # fmt: skip
    assert code == 2
    assert err.splitlines() == [
        "error: --from is required",
        "hint: pass --from FILE (or run in a terminal to be asked)",
    ]


def test_every_missing_flag_is_reported_at_once(project: Path) -> None:
    code, _, err = invoke("knowledge/geo/africa", "--dry-run")
    assert code == 2
    assert err.splitlines() == [
        "error: 6 required flags are missing: --domain, --outline, --repo, --commit, --pattern, --from",
        "hint: pass --domain VALUE --outline VALUE --repo VALUE --commit VALUE --pattern VALUE --from FILE (or run "
        "in a terminal to be asked)",
    ]
    code, _, err = invoke("compositional_skills/social/thanks", "--dry-run", "--created-by", "t")
    assert code == 2
    assert err.splitlines()[0] == "error: 2 required flags are missing: --task-description, --from"


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--repo", "my docs", "error: --repo 'my docs' is not a git repository URL (it contains spaces)"),
        ("--repo", "docs", "error: --repo 'docs' is not a git repository URL"),
        (
            "--repo",
            "github.com/example/docs",
            "error: --repo 'github.com/example/docs' is not a git repository URL",
        ),
        (
            "--repo",
            "https://docs.google.com/document/d/1AbC/edit",
            "error: --repo 'https://docs.google.com/document/d/1AbC/edit' is a link to a document, not a git "
            "repository",
        ),
        (
            "--repo",
            "https://school.example/trip.pdf",
            "error: --repo 'https://school.example/trip.pdf' is a link to a document, not a git repository",
        ),
        ("--commit", "main", "error: --commit 'main' is not a commit SHA (7 to 40 hex digits)"),
        ("--commit", "v1.0.0", "error: --commit 'v1.0.0' is not a commit SHA (7 to 40 hex digits)"),
        ("--commit", "abc", "error: --commit 'abc' is not a commit SHA (7 to 40 hex digits)"),
    ],
)
def test_bad_repo_or_commit_is_refused(project: Path, flag: str, value: str, message: str) -> None:
    source = _write_csv(project / "seeds.csv", _knowledge_rows())
    args = list(KNOWLEDGE_FLAGS)
    args[args.index(flag) + 1] = value
    code, _, err = invoke("knowledge/geo/africa", "--from", str(source), *args)
    assert code == 2
    assert err.splitlines()[0] == message
    assert err.splitlines()[1].startswith("hint: ")
    assert not (project / "taxonomy/knowledge").exists()


@pytest.mark.parametrize(
    "repo",
    ["https://github.com/example/docs", "git@github.com:example/docs.git", "ssh://git@host/x.git",
     "file:///srv/git/docs"],
)  # fmt: skip
def test_good_repo_urls_are_accepted(project: Path, repo: str) -> None:
    source = _write_csv(project / "seeds.csv", _knowledge_rows())
    args = list(KNOWLEDGE_FLAGS)
    args[args.index("--repo") + 1] = repo
    assert invoke("knowledge/geo/africa", "--from", str(source), "--dry-run", *args)[0] == 0


def test_bad_commit_in_the_from_file_names_it(project: Path) -> None:
    source = project / "old.yaml"
    source.write_text(yaml.safe_dump({"seed_examples": _knowledge_rows(), "document": {"commit": "main"}}))
    args = [a for a in KNOWLEDGE_FLAGS if a not in ("--commit", "abc1234")]
    code, _, err = invoke("knowledge/geo/africa", "--from", str(source), "--dry-run", *args)
    assert code == 2
    assert err.splitlines()[0] == f"error: commit in {source} 'main' is not a commit SHA (7 to 40 hex digits)"


def test_warnings_name_the_file_and_render_without_markup(project: Path) -> None:
    source = project / "seeds.jsonl"
    rows = [{"question": f"Greet person {i}?", "answer": f"Hello, {i}!"} for i in range(5)]
    rows.append({"question": "Greet person 0?", "answer": "Hi there, 0!"})
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, out, err = invoke("compositional_skills/social/greetings", "--from", str(source), "--created-by", "t",
                            "--task-description", "Greeting people")  # fmt: skip
    assert (code, err) == (0, "")
    qna = Path("taxonomy/compositional_skills/social/greetings/qna.yaml")
    assert out.splitlines()[2:] == [
        f"warning: {qna}:25:15 [duplicate-question] the same question is also at .seed_examples[0].question",
        "next: run `edubot serve`, open http://localhost:8000 and ask “Greet person 0?”",
    ]


def test_too_few_questions_per_context(project: Path) -> None:
    rows = _knowledge_rows()[:-1]
    source = _write_csv(project / "seeds.csv", rows)
    code, _, err = invoke("knowledge/geo/africa", "--from", str(source), "--dry-run", *KNOWLEDGE_FLAGS)
    assert code == 1
    assert "has 2 question/answer pairs; at least 3 are needed" in err


def test_knowledge_rows_need_a_context(project: Path) -> None:
    source = project / "flat.jsonl"
    source.write_text(json.dumps({"question": "Q?", "answer": "A."}) + "\n")
    code, _, err = invoke("knowledge/geo/africa", "--from", str(source), "--dry-run", *KNOWLEDGE_FLAGS)
    assert code == 1
    assert f"{source}:1: knowledge needs a context for every question" in err


def test_bad_jsonl_line_is_located(project: Path) -> None:
    source = project / "bad.jsonl"
    source.write_text('{"question": "Q?", "answer": "A."}\n{"question": oops}\n')
    with pytest.raises(TaxonomyError) as info:
        add_leaf(
            AddRequest("compositional_skills/x", source=source, created_by="t", task_description="t"), project
        )
    assert info.value.message.startswith(f"{source}:2:14: not valid JSON")


def test_prompts_fill_missing_values(project: Path) -> None:
    answers = iter(
        ["teacher", "Say hello politely"]
        + [v for i in range(5) for v in ("", f"Greet person {i}?", f"Hello, person {i}!")]
        + ["", "", "", "", ""]  # no sixth example; attribution: accept the defaults
    )
    asked: list[str] = []

    def prompt(question: str, default: str | None) -> str:
        asked.append(question)
        return next(answers) or (default or "")

    result = add_leaf(
        AddRequest("compositional_skills/social/greetings"), project / "taxonomy", prompt=prompt
    )
    assert result.written
    data = yaml.safe_load(result.qna_path.read_text())
    assert data["task_description"] == "Say hello politely"
    assert [s["question"] for s in data["seed_examples"]] == [f"Greet person {i}?\n" for i in range(5)]
    assert asked[0] == AUTHOR_QUESTION
    assert result.attribution_text.splitlines()[0] == "Title of work: Say hello politely"


def test_interactive_terminal(project: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    import sys

    edubot = str(Path(sys.executable).parent / "edubot")
    child = pexpect.spawn(
        edubot, ["taxonomy", "add", "compositional_skills/social/thanks", "--dry-run", "--created-by", "t",
                 "--attribution-title", "x", "--attribution-link", "-", "--license", "CC0-1.0", "--creators", "t"],
        cwd=str(project), encoding="utf-8", timeout=30,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(project / "cache")},
    )  # fmt: skip
    child.expect("Task description")
    child.sendline("Saying thank you")
    for i in range(5):
        child.expect("context")
        child.sendline("")
        child.expect("question")
        child.sendline(f"How to thank {i}?")
        child.expect("answer")
        child.sendline(f"Thank you, {i}!")
    child.expect("Add seed example 6")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "task_description: Saying thank you" in child.before


def test_empty_answers_are_asked_again_and_more_examples_are_offered(project: Path) -> None:
    answers = iter(
        ["teacher", "Say hello politely"]
        + ["", "", "Greet person 0?", "", "Hello, person 0!"]  # empty question and answer: asked again
        + [v for i in range(1, 5) for v in ("", f"Greet person {i}?", f"Hello, person {i}!")]
        + ["y", "", "Greet person 5?", "Hello, person 5!", "n"]  # a sixth example, then no seventh
        + ["", "", "", ""]  # attribution: accept the defaults
    )
    asked: list[str] = []

    def prompt(question: str, default: str | None) -> str:
        asked.append(question)
        return next(answers) or (default or "")

    result = add_leaf(
        AddRequest("compositional_skills/social/greetings"), project / "taxonomy", prompt=prompt
    )
    data = yaml.safe_load(result.qna_path.read_text())
    assert [s["question"] for s in data["seed_examples"]] == [f"Greet person {i}?\n" for i in range(6)]
    assert asked[2:7] == [
        "Seed example 1/5: context (optional, Enter to skip)",
        "  question",
        "  question (required: it cannot be empty)",
        "  answer",
        "  answer (required: it cannot be empty)",
    ]
    assert asked[-9:-4] == ["Add seed example 6? (y/N)", "Seed example 6: context (optional, Enter to skip)",
                            "  question", "  answer", "Add seed example 7? (y/N)"]  # fmt: skip


def test_line_prompter_reads_several_lines_and_takes_defaults() -> None:
    from edubot_cli.taxonomy.prompting import line_prompter

    lines = iter(['"""', "First line,", "  second line.", '"""', "", "typed"])
    shown: list[str] = []
    tips: list[str] = []

    def read(text: str) -> str:
        shown.append(text)
        return next(lines)

    ask = line_prompter(read, tip=tips.append)
    assert ask("Answer", None) == "First line,\n  second line."
    assert ask("License", "CC-BY-4.0\nmore") == "CC-BY-4.0\nmore"
    assert ask("Creators", "x") == "typed"
    assert shown == ["Answer: ", "... ", "... ", "... ", "License [CC-BY-4.0…]: ", "Creators [x]: "]
    assert tips == ['(to type several lines: enter """ alone on a line, the text, then """ again)']


def test_draft_is_kept_after_a_failed_run_and_offered_next_time(project: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    import sys

    edubot = str(Path(sys.executable).parent / "edubot")
    args = ["taxonomy", "add", "compositional_skills/social/thanks", "--dry-run", "--created-by", "t",
            "--attribution-title", "x", "--attribution-link", "-", "--license", "CC0-1.0", "--creators", "t"]  # fmt: skip
    env = {"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(project / "cache")}
    draft = project / "cache/edubot/drafts/compositional_skills__social__thanks.json"

    child = pexpect.spawn(edubot, args, cwd=str(project), encoding="utf-8", timeout=30, env=env)
    child.expect("Task description")
    child.sendline("Saying thank you")
    child.expect("context")
    child.sendline("")
    child.expect("question")
    child.sendline("How to thank 0?")
    child.expect("answer")
    child.sendline("")  # empty: asked again, not taken
    child.expect("required: it cannot be empty")
    child.sendline("Thank you, 0!")
    child.expect("Seed example 2/5: context")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert f"your answers are kept in {draft}" in child.before
    assert draft.exists()

    child = pexpect.spawn(edubot, args, cwd=str(project), encoding="utf-8", timeout=30, env=env)
    child.expect(
        r"Resume the 4 answers kept from your last try at compositional_skills/social/thanks\? \(Y/n\)"
    )
    child.sendline("")
    child.expect(r"Task description \(what the skill teaches the model\) \[Saying thank you\]: ")
    child.sendline("")
    child.expect("context")
    child.sendline("")
    child.expect(r"question \[How to thank 0\?\]")
    child.sendline("")
    child.expect(r"answer \[Thank you, 0!\]")
    child.sendline("")
    for i in range(1, 6):
        child.expect(f"Seed example {i + 1}" + ("/5" if i < 5 else "") + ": context")
        child.sendline("")
        child.expect("question")
        child.sendline(f"How to thank {i}?")
        child.expect("answer")
        child.sendline('"""')
        child.sendline(f"Thank you, {i}!")
        child.sendline("Really.")
        child.sendline('"""')
        if i == 4:
            child.expect("Add seed example 6")
            child.sendline("y")
    child.expect("Add seed example 7")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    data = yaml.safe_load(child.before[child.before.index("version: 3") :].replace("\r\n", "\n"))
    assert [s["question"] for s in data["seed_examples"]] == [f"How to thank {i}?\n" for i in range(6)]
    assert data["seed_examples"][5]["answer"] == "Thank you, 5!\nReally.\n"
    assert not draft.exists()


def test_prompted_values_are_checked_as_typed(project: Path) -> None:
    source = _write_csv(project / "seeds.csv", _knowledge_rows())
    answers = iter(["", "Geography", "Facts", "docs", "https://docs.google.com/document/d/1x/edit",
                    "https://github.com/example/docs", "main", "abc1234", "*.md", "", "", "", ""])  # fmt: skip
    asked: list[str] = []

    def prompt(question: str, default: str | None) -> str:
        asked.append(question)
        return next(answers) or (default or "")

    request = AddRequest("knowledge/geo/africa", source=source)
    result = add_leaf(request, project / "taxonomy", prompt=prompt, dry_run=True)
    assert "commit: abc1234" in result.yaml_text
    assert f"created_by: {getpass.getuser()}\n" in result.yaml_text  # Enter took the default
    assert asked[:8] == [
        AUTHOR_QUESTION,
        "Domain (e.g. Biology)",
        "Document outline (a one-line summary of the document)",
        "Git repository URL of the document",
        "'docs' is not a git repository URL. Git repository URL of the document",
        "'https://docs.google.com/document/d/1x/edit' is a link to a document, not a git repository. "
        "Git repository URL of the document",
        "Commit SHA of that repository",
        "'main' is not a commit SHA (7 to 40 hex digits). Commit SHA of that repository",
    ]
