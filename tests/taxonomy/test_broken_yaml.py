"""Broken YAML of every kind gives one finding at the offending line:col, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from edubot_cli.taxonomy import yamlload
from edubot_cli.taxonomy.validate import validate

from .conftest import Check, knowledge_text, skill_text, triples, write_leaf

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *[
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ],
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "version: 3\ncreated_by: teacher\n  domain: Geography\n", ("yaml-syntax", 3, 9), id="syntax"
        ),
        pytest.param("version: 3\ncreated_by: teacher\n\tdomain: Geography\n", ("yaml-tab", 3, 1), id="tab"),
        pytest.param(b"version: 3\ncreated_by: caf\xe9\n", ("encoding", 2, 16), id="non-utf8"),
        pytest.param("version: 3\ncreated_by: a\x07b\n", ("encoding", 2, 14), id="control-char"),
        pytest.param("", ("empty-file", 1, 1), id="empty"),
        pytest.param("# nothing here yet\n", ("empty-file", 1, 1), id="comment-only"),
        pytest.param(
            "# seeds\n- version: 3\n- created_by: x\n", ("top-level-not-mapping", 2, 1), id="top-level-list"
        ),
        pytest.param("\n\njust a sentence\n", ("top-level-not-mapping", 3, 1), id="top-level-scalar"),
        pytest.param(BILLION_LAUGHS, ("yaml-alias-bomb", 6, 8), id="alias-bomb"),
        pytest.param("version: 3\ncreated_by: 2024-13-45\n", ("yaml-syntax", 2, 13), id="impossible-date"),
        pytest.param(
            "version: 3\ncreated_by: teacher\nextra: 0x" + "f" * 4000 + "\n",
            ("yaml-syntax", 3, 8),
            id="huge-hex",
        ),
        pytest.param(
            "version: 3\ncreated_by: teacher\nextra: " + "9" * 5000 + "\n",
            ("yaml-syntax", 3, 8),
            id="huge-int",
        ),
        pytest.param("version: 3\n? 0b" + "1" * 20000 + "\n: x\n", ("yaml-syntax", 2, 3), id="huge-key"),
        pytest.param("version: 3\n---\nversion: 3\n", ("yaml-syntax", 2, 1), id="two-documents"),
    ],
)
def test_broken_yaml_gives_one_finding(
    check: Check, text: str | bytes, expected: tuple[str, int, int]
) -> None:
    findings = check(text)
    assert triples(findings) == [expected]
    assert findings[0].hint
    assert findings[0].severity == ("warning" if expected[0] == "empty-file" else "error")


def amplified(aliases: int) -> str:
    """A skill whose one 300,000-character question is aliased ``aliases`` times under ``extra``."""
    seeds = "".join(f"  - question: q{i}\n    answer: a{i}\n" for i in range(4))
    return (
        "version: 3\ncreated_by: teacher\ntask_description: a task\nseed_examples:\n"
        + f"  - question: &a {'x' * 300_000}\n    answer: b\n{seeds}"
        + f"extra: [{', '.join(['*a'] * aliases)}]\n"
    )


def test_aliases_of_a_long_text_are_a_bomb_under_the_node_count(check: Check) -> None:
    """386 KB of file, 20,000 aliases (far under 100,000 nodes): 6 GB of text once expanded."""
    text = amplified(20_000)
    assert len(text) < yamlload.MAX_FILE_BYTES
    findings = check(text, "compositional_skills/lang/questions")
    assert [(f.rule, f.line, f.col, f.severity, f.message) for f in findings] == [
        (
            "yaml-alias-bomb",
            15,
            21,  # the fourth alias: 1,200,000 characters
            "error",
            "aliases expand to more than 1,048,576 characters of text (an alias bomb)",
        )
    ]
    assert findings[0].hint == "write the values out instead of using anchors (&) and aliases (*)"


def test_aliases_within_the_text_limit_are_read(check: Check) -> None:
    findings = check(amplified(3), "compositional_skills/lang/questions")
    assert [(f.rule, f.line, f.col) for f in findings] == [("schema/unevaluatedProperties", 15, 1)]


def test_recursive_alias_is_a_warning_and_the_schema_still_runs(check: Check) -> None:
    findings = check("version: 3\nseed_examples: &x [1, *x]\n")
    alias = [(f.rule, f.line, f.col, f.severity) for f in findings if f.rule == "yaml-alias-bomb"]
    assert alias == [("yaml-alias-bomb", 2, 23, "warning")]
    assert ("schema/minItems", 2, 16) in triples(findings)


def test_huge_file(check: Check) -> None:
    text = knowledge_text() + "# " + "x" * yamlload.MAX_FILE_BYTES + "\n"
    findings = check(text)
    assert triples(findings) == [("file-too-large", 1, 1)]
    assert "limit is 1,048,576" in findings[0].message


def test_duplicate_key_version3_is_a_yamllint_error(check: Check) -> None:
    lines = knowledge_text().splitlines(keepends=True)
    lines.insert(3, "domain: History\n")
    findings = check("".join(lines))
    assert [(f.rule, f.line, f.col, f.severity) for f in findings] == [
        ("yamllint/key-duplicates", 4, 1, "error")
    ]
    assert findings[0].message == 'duplication of key "domain" in mapping'
    assert findings[0].yaml_path == ".domain"


def test_duplicate_key_version1_is_a_warning(check: Check) -> None:
    text = (
        skill_text()
        .replace("version: 3\n", "version: 1\n")
        .replace("task_description:", "created_by: someone\ntask_description:")
    )
    findings = check(text, "compositional_skills/lang/questions", attribution=None)
    dup = [f for f in findings if f.rule == "yaml-duplicate-key"]
    assert [(f.line, f.col, f.severity, f.yaml_path) for f in dup] == [(3, 1, "warning", ".created_by")]


def test_run_completes_past_broken_files(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    write_leaf(root, "knowledge/a_syntax", "a: [\n")
    write_leaf(root, "knowledge/b_bytes", b"\xff\xfe")
    write_leaf(root, "knowledge/c_bomb", BILLION_LAUGHS)
    write_leaf(root, "knowledge/d_good", knowledge_text())
    write_leaf(root, "knowledge/e_list", "- 1\n")
    report = validate([root], use_cache=False, jobs=1)
    assert report.files_checked == 5
    by_file = {Path(f.file).parent.name: f.rule for f in report.findings}
    assert by_file == {
        "a_syntax": "yaml-syntax",
        "b_bytes": "encoding",
        "c_bomb": "yaml-alias-bomb",
        "e_list": "top-level-not-mapping",
    }
    assert report.errors == 4


def test_a_number_too_long_to_check_names_itself() -> None:
    doc, problem = yamlload.load(b"version: 3\nseed_examples:\n  - extra: 0x" + b"f" * 4000 + b"\n")
    assert doc is None and problem is not None
    assert (problem.line, problem.col, problem.yaml_path) == (3, 12, ".seed_examples[0].extra")
    assert problem.message == "a number of 4,002 characters is too long to check (at most 4,000 digits)"
    assert problem.hint == "quote it if it is text, or shorten it"
    # Numbers of up to 4,000 digits are read as YAML reads them.
    doc, problem = yamlload.load(b"extra: " + b"9" * 4000 + b"\n")
    assert problem is None and doc is not None
    assert doc.data == {"extra": 10**4000 - 1}
