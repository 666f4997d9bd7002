"""Content lint warnings beyond the schema: words, duplicates, overlap, attribution.txt, folder names."""

from __future__ import annotations

from .conftest import Check, knowledge_text, skill_text


def _words(n: int, word: str = "river") -> str:
    return " ".join([word] * n)


def _rules(findings) -> list[tuple[str, int, int, str]]:  # type: ignore[no-untyped-def]
    return [(f.rule, f.line, f.col, f.severity) for f in findings]


def test_long_context(check: Check) -> None:
    text = knowledge_text().replace(
        "into the Mediterranean Sea.", "into the Mediterranean Sea. " + _words(490), 1
    )
    findings = check(text)
    assert _rules(findings) == [("context-words", 7, 14, "warning")]
    assert findings[0].message == "context has 508 words (limit 500)"
    assert findings[0].yaml_path == ".seed_examples[0].context"


def test_long_questions_and_answers(check: Check) -> None:
    text = knowledge_text().replace(
        "Question 1 about seed 1:", "Question 1 about seed 1: " + _words(240, "nile"), 1
    )
    findings = check(text)
    assert _rules(findings) == [("qna-words", 10, 7, "warning")]
    assert findings[0].yaml_path == ".seed_examples[0].questions_and_answers"


def test_skill_qna_words(check: Check) -> None:
    text = skill_text().replace("the cat sat on mat 0.", "the cat sat on mat 0. " + _words(240, "cat"))
    findings = check(text, "compositional_skills/lang/questions")
    assert _rules(findings) == [("qna-words", 5, 5, "warning")]


def test_total_words(check: Check) -> None:
    text = knowledge_text()
    for ending in (
        "Mediterranean Sea.",
        "three cones.",
        "very little rain.",
        "Kenya and Tanzania.",
        "okapis live there.",
    ):
        text = text.replace(ending, f"{ending} {_words(440)}", 1)
    findings = check(text)
    assert _rules(findings) == [("total-words", 6, 1, "warning")]
    assert findings[0].message.startswith("the seed examples have 2")


def test_duplicate_question(check: Check) -> None:
    text = knowledge_text().replace("Question 2 about seed 1", "question 1  ABOUT seed 1")
    findings = check(text)
    assert _rules(findings) == [("duplicate-question", 14, 19, "warning")]
    assert findings[0].message == (
        "the same question with the same context is also at .seed_examples[0].questions_and_answers[0].question"
    )


def test_same_instruction_over_different_contexts_is_not_a_duplicate(check: Check) -> None:
    """The README's skill pattern: one instruction, a different context per example."""
    lines = ["version: 3", "created_by: teacher", "task_description: Summarise a paragraph in one line",
             "seed_examples:"]  # fmt: skip
    for i in range(5):
        lines += [
            "  - context: |",
            f"      Paragraph {i}: the river number {i} floods every spring and farmers plant after it.",
            "    question: |",
            "      Summarise this paragraph in one line.",
            "    answer: |",
            f"      River {i} floods in spring, then farmers plant.",
        ]
    assert _rules(check("\n".join(lines) + "\n", "compositional_skills/lang/summary")) == []


def test_same_question_over_the_same_context_is_a_duplicate(check: Check) -> None:
    lines = ["version: 3", "created_by: teacher", "task_description: Summarise a paragraph in one line",
             "seed_examples:"]  # fmt: skip
    for i in range(5):
        lines += [
            "  - context: |",
            f"      Paragraph {min(i, 3)}: the river floods every spring and farmers plant after it.",
            "    question: |",
            "      Summarise this paragraph in one line.",
            "    answer: |",
            f"      Answer {i}.",
        ]
    findings = check("\n".join(lines) + "\n", "compositional_skills/lang/summary")
    assert [(f.rule, f.yaml_path) for f in findings] == [("duplicate-question", ".seed_examples[4].question")]
    assert (
        findings[0].message == "the same question with the same context is also at .seed_examples[3].question"
    )


def test_answer_without_overlap(check: Check) -> None:
    lines = knowledge_text().splitlines()
    lines[12] = "          Yes, absolutely, penguins enjoy skating."
    findings = check("\n".join(lines) + "\n")
    assert _rules(findings) == [("answer-not-in-context", 12, 17, "warning")]
    assert findings[0].yaml_path == ".seed_examples[0].questions_and_answers[0].answer"


def test_answer_overlap_is_not_required_for_skills(check: Check) -> None:
    assert (
        check(skill_text().replace("On mat 0.", "Somewhere else entirely."), "compositional_skills/x") == []
    )


def test_attribution_missing_and_empty(check: Check) -> None:
    assert _rules(check(knowledge_text(), attribution=None)) == [("attribution", 1, 1, "warning")]
    empty = check(knowledge_text(), "knowledge/geo/other", attribution="  \n")
    assert [(f.rule, f.message) for f in empty] == [("attribution", "attribution.txt is empty")]


def test_attribution_not_needed_before_version_3(check: Check) -> None:
    text = skill_text().replace("version: 3", "version: 2")
    assert check(text, "compositional_skills/lang/questions", attribution=None) == []


def test_folder_names(check: Check) -> None:
    findings = check(knowledge_text(), "knowledge/Geo Facts/africa")
    assert _rules(findings) == [("folder-name", 1, 1, "warning")]
    assert findings[0].message == 'folder name "Geo Facts" has spaces or capital letters'
    assert findings[0].hint.startswith('rename it to "geo_facts"')
