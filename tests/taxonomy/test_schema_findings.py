"""Schema findings: the rule, the exact line:col of the offending node and InstructLab's yaml path."""

from __future__ import annotations

from .conftest import Check, knowledge_text, skill_text, triples


def _edit(text: str, line: int, new: str | None) -> str:
    """Replace 1-based ``line`` (None deletes it)."""
    lines = text.splitlines()
    if new is None:
        del lines[line - 1]
    else:
        lines[line - 1] = new
    return "\n".join(lines) + "\n"


def test_wrong_type_points_at_the_value(check: Check) -> None:
    findings = check(_edit(knowledge_text(), 2, "created_by: 42"))
    assert triples(findings) == [("schema/type", 2, 13)]
    assert findings[0].yaml_path == ".created_by"
    assert findings[0].message == "42 is not of type 'string'"


def test_misspelt_key_points_at_the_seed_and_the_key(check: Check) -> None:
    findings = check(_edit(knowledge_text(), 39, "    questions:"))
    assert triples(findings) == [("schema/required", 37, 5), ("schema/unevaluatedProperties", 39, 5)]
    assert [f.yaml_path for f in findings] == [".seed_examples[2]", ".seed_examples[2]"]
    assert findings[0].message == "'questions_and_answers' is a required property"
    assert "allowed here: context, questions_and_answers" in findings[1].hint


def test_too_few_seed_examples(check: Check) -> None:
    findings = check(knowledge_text(contexts=4))
    assert triples(findings) == [("schema/minItems", 7, 3)]
    assert findings[0].message == "Value must have at least 5 items (it has 4)"
    assert findings[0].yaml_path == ".seed_examples"


def test_empty_answer(check: Check) -> None:
    text = _edit(_edit(knowledge_text(), 13, None), 12, '        answer: ""')
    findings = check(text)
    assert triples(findings) == [("schema/minLength", 12, 17)]
    assert findings[0].yaml_path == ".seed_examples[0].questions_and_answers[0].answer"


def test_missing_top_level_key_points_at_the_document(check: Check) -> None:
    findings = check(_edit(knowledge_text(), 3, None))
    assert triples(findings) == [("schema/required", 1, 1)]
    assert findings[0].yaml_path == "."
    assert findings[0].message == "'domain' is a required property"


def test_version_must_be_the_integer_3(check: Check) -> None:
    findings = check(_edit(knowledge_text(), 1, 'version: "3"'))
    assert triples(findings) == [("schema/const", 1, 10), ("schema/type", 1, 10)]
    assert {f.yaml_path for f in findings} == {".version"}
    assert findings[0].hint == "set `version: 3`"


def test_knowledge_version_2_is_deprecated(check: Check) -> None:
    findings = check(knowledge_text(version=2))
    assert triples(findings) == [("deprecated-version", 1, 10)]
    assert findings[0].message == "Version 2 is not supported for knowledge. Minimum supported version is 3."


def test_knowledge_version_1_is_deprecated(check: Check) -> None:
    findings = check(knowledge_text(version=1), attribution=None)
    assert triples(findings) == [("deprecated-version", 1, 10)]


def test_unknown_version(check: Check) -> None:
    findings = check(knowledge_text(version=7))
    assert triples(findings) == [("schema-version", 1, 10)]
    assert findings[0].hint == "set `version: 3`"


def test_simplified_format_is_explained(check: Check) -> None:
    text = (
        "version: 3\ncreated_by: teacher\ndomain: Geography\n"
        "task_description: Facts about Africa\nseed_examples:\n"
        + "".join(f"  - question: Question {i}?\n    answer: Answer {i}.\n" for i in range(5))
        + "document:\n  repo: https://github.com/example/docs\n  commit: abc\n  patterns:\n    - a.md\n"
    )
    findings = check(text)
    simplified = [f for f in findings if f.rule == "simplified-format"]
    assert [(f.line, f.col) for f in simplified] == [(4, 1)]
    assert "document_outline" in simplified[0].hint
    assert "edubot taxonomy add" in simplified[0].hint
    unexpected = [f for f in findings if f.rule == "schema/unevaluatedProperties" and f.yaml_path == "."]
    assert [(f.line, f.col) for f in unexpected] == [(4, 1)]


def test_skill_under_knowledge_uses_the_knowledge_schema(check: Check) -> None:
    rules = {f.rule for f in check(skill_text(), "knowledge/lang/questions")}
    # a skill-shaped file under knowledge/ is exactly the simplified knowledge format
    assert rules == {"schema/required", "schema/unevaluatedProperties", "simplified-format"}


def test_schema_by_document_outside_the_known_folders(check: Check) -> None:
    assert check(skill_text(), "foundational_skills/lang/questions") == []
    assert check(knowledge_text(), "elsewhere/geo/africa") == []


def test_misnamed_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edubot_cli.taxonomy.validate import validate

    leaf = tmp_path / "knowledge" / "geo"
    leaf.mkdir(parents=True)
    (leaf / "qna.yml").write_text(knowledge_text())
    report = validate([tmp_path], use_cache=False)
    assert triples(report.findings) == [("file-name", 1, 1)]
    assert (
        report.findings[0].message == 'taxonomy files must be named "qna.yaml"; "qna.yml" is not a valid name'
    )


def test_missing_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edubot_cli.taxonomy.validate import validate

    report = validate([tmp_path / "nope" / "qna.yaml"], use_cache=False)
    assert triples(report.findings) == [("file-missing", 1, 1)]


def test_yamllint_warning_and_strict(check: Check) -> None:
    text = _edit(knowledge_text(), 3, "domain:  Geography")
    relaxed = check(text)
    assert [(f.rule, f.line, f.col, f.severity) for f in relaxed] == [("yamllint/colons", 3, 9, "warning")]
    assert relaxed[0].yaml_path == ".domain"
    strict = check(text, strict=True)
    assert [(f.rule, f.severity) for f in strict] == [("yamllint/colons", "error")]


def test_yamllint_not_run_for_version_1(check: Check) -> None:
    text = skill_text().replace("version: 3\n", "version: 1\n").replace("teacher", "teacher   ")
    findings = check(text, "compositional_skills/lang/questions", attribution=None)
    assert not [f for f in findings if f.rule.startswith("yamllint/")]
