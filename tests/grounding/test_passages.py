"""Cutting qna.yaml files and markdown documents into passages; finding documents on this machine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edubot_cli.grounding.documents import document_files, is_remote, locate
from edubot_cli.grounding.passages import (
    Chunk,
    markdown_passages,
    prompt_text,
    qna_passages,
)
from edubot_cli.taxonomy.model import DocumentRef

from .conftest import HAIKU, PLANTS, write


def test_knowledge_passages() -> None:
    result = qna_passages(PLANTS.encode(), "knowledge/botany/plants/qna.yaml")
    assert result.finding is None and result.held_out == []
    assert [(c.kind, c.line, c.yaml_path, c.title) for c in result.chunks] == [
        ("knowledge", 7, "seed_examples[0].context", "knowledge/botany/plants (Botany)"),
        ("knowledge", 18, "seed_examples[1].context", "knowledge/botany/plants (Botany)"),
        ("knowledge", 29, "seed_examples[2].context", "knowledge/botany/plants (Botany)"),
    ]
    assert result.chunks[0].text == (
        "Roots take up water and minerals from the soil. Tiny root hairs give the roots a large surface.\n"
        "Q: What do roots take up from the soil?\n"
        "A: Roots take up water and minerals.\n"
        "Q: Why do roots have root hairs?\n"
        "A: Root hairs give the roots a large surface."
    )
    assert result.document == DocumentRef("docs", ("plants/*.md",), 41)


def test_the_prompt_quotes_a_knowledge_passage_as_its_context() -> None:
    text = qna_passages(PLANTS.encode(), "knowledge/botany/plants/qna.yaml").chunks[0].text
    assert prompt_text("knowledge", text) == (
        "Roots take up water and minerals from the soil. Tiny root hairs give the roots a large surface."
    )
    assert (
        prompt_text("knowledge", "Line one.\n\nLine two.\nQ: Why?\nA: Because.") == "Line one.\n\nLine two."
    )


def test_a_knowledge_passage_without_a_context_is_quoted_as_its_answers() -> None:
    text = "Q: Why?\nStill the question?\nA: Because.\nAnd more.\nQ: Who?\nA: Us."
    assert prompt_text("knowledge", text) == "Because.\nAnd more.\nUs."


@pytest.mark.parametrize("kind", ["skill", "document"])
def test_skills_and_documents_are_quoted_as_stored(kind: str) -> None:
    text = "Sam has 2 apples.\nQ: How many are left if he eats one?\nA: 2 - 1 = 1 apple."
    assert prompt_text(kind, text) == text


@pytest.mark.parametrize("text", [PLANTS, HAIKU, "version: 3\nseed_examples: [\n", "- a\n", ""])
def test_libyaml_and_pure_python_agree(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = qna_passages(text.encode(), "knowledge/x/qna.yaml", holdout=1)
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    assert qna_passages(text.encode(), "knowledge/x/qna.yaml", holdout=1) == fast


def test_skill_passages() -> None:
    result = qna_passages(HAIKU.encode(), "compositional_skills/poems/haiku/qna.yaml")
    assert result.chunks == [
        Chunk(
            "skill",
            5,
            "seed_examples[0]",
            "compositional_skills/poems/haiku",
            "Q: Write a haiku about fractions.\n"
            "A: Pizza cut in eight,\nthree slices gone, five remain:\nfive eighths on the plate.",
            "Haiku: Write a haiku about fractions.",
        ),
        Chunk(
            "skill",
            11,
            "seed_examples[1]",
            "compositional_skills/poems/haiku",
            "The class has just learnt about volcanoes.\n"
            "Q: Write a haiku about what the class learnt.\n"
            "A: Mountain breathes out fire,\nlava crawls down to the sea,\nnew land cools to stone.",
            "Haiku: The class has just learnt about volcanoes.",
        ),
    ]
    assert result.document is None


def test_odd_values_are_skipped_not_fatal() -> None:
    text = "version: 3\nseed_examples:\n  - 7\n  - context: 12\n    questions_and_answers: [1, {question: Why}]\n"
    result = qna_passages(text.encode(), "knowledge/x/qna.yaml")
    assert result.finding is None
    assert [(c.line, c.yaml_path, c.text) for c in result.chunks] == [(4, "seed_examples[1]", "Q: Why")]
    assert qna_passages(b"", "knowledge/x/qna.yaml").chunks == []
    assert qna_passages(b"version: 3\nseed_examples: 4\n", "knowledge/x/qna.yaml").chunks == []


def test_markdown_sections_paragraphs_and_lines() -> None:
    text = (
        "---\ntitle: front matter\n---\n"  # 1-3
        "Intro before any heading.\n"  # 4
        "\n"
        "# Cells\n"  # 6
        "\n"
        "Cells are small.\n"  # 8
        "They divide.\n"  # 9
        "\n"
        "```\n"  # 11
        "# not a heading\n"
        "\n"
        "code\n"
        "```\n"
        "## Nucleus ##\n"  # 16
        "The nucleus holds DNA.\n"  # 17
        "# Tissues\n"  # 18
        "#\n"  # 19: an empty heading ends the trail
        "Plain.\n"  # 20
    )
    chunks = markdown_passages(text, "cells.md")
    assert [(c.line, c.title, c.text) for c in chunks] == [
        (4, "cells.md", "Intro before any heading."),
        (8, "Cells", "Cells are small.\nThey divide.\n\n```\n# not a heading\n\ncode\n```"),
        (17, "Cells > Nucleus", "The nucleus holds DNA."),
        (20, "cells.md", "Plain."),
    ]
    assert {c.kind for c in chunks} == {"document"} and {c.yaml_path for c in chunks} == {""}


def test_markdown_paragraphs_are_packed_up_to_the_limit() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 8 for i in range(5)]  # 50 chars each
    text = "# T\n\n" + "\n\n".join(p.strip() for p in paragraphs) + "\n"
    chunks = markdown_passages(text, "t.md", limit=120)
    assert [(c.line, c.text.count("Paragraph")) for c in chunks] == [(3, 2), (7, 2), (11, 1)]
    assert all(len(c.text) <= 120 for c in chunks)


def test_a_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentences = [f"Sentence {i} has some words in it." for i in range(10)]  # 32 chars: 3 fit in 100
    text = "# Long\n" + "\n".join(sentences) + "\n"
    chunks = markdown_passages(text, "l.md", limit=100)
    assert all(len(c.text) <= 100 for c in chunks)
    assert " ".join(c.text.replace("\n", " ") for c in chunks) == " ".join(sentences)
    assert [c.line for c in chunks] == [2, 5, 8, 11]
    unbroken = markdown_passages("x" * 250, "u.md", limit=100)
    assert [len(c.text) for c in unbroken] == [100, 100, 50]


def test_locate_document_folders(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    (root / "docs").mkdir(parents=True)
    (tmp_path / "abs").mkdir()
    (tmp_path / "src/owner/name").mkdir(parents=True)
    (tmp_path / "src/plain").mkdir(parents=True)
    assert locate("docs", root).folder == root / "docs"
    assert locate(str(tmp_path / "abs"), root).folder == tmp_path / "abs"
    assert locate(f"file://{tmp_path / 'abs'}", root).folder == tmp_path / "abs"
    assert locate("missing", root).folder is None and not locate("missing", root).remote
    assert (
        locate("https://github.com/owner/plain.git", root, tmp_path / "src").folder == tmp_path / "src/plain"
    )
    assert (
        locate("git@github.com:owner/name.git", root, tmp_path / "src").folder == tmp_path / "src/owner/name"
    )
    assert locate("https://github.com/owner/other", root, tmp_path / "src").folder is None
    assert locate("https://github.com/owner/plain", root).remote
    assert [is_remote(r) for r in ["https://x/y", "git@h:o/n", "file:///x", "../docs", "/abs"]] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_document_files_stay_inside_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    write(root, "docs/a/one.md", "# One\n")
    write(root, "docs/a/two.MD", "# Two\n")
    write(root, "docs/a/three.txt", "three\n")
    write(tmp_path, "secret.md", "# Secret\n")
    (root / "docs/a/link.md").symlink_to(tmp_path / "secret.md")
    ref = DocumentRef("docs", ("a/*", "a/one.md", "../../secret.md", "/etc/*.md", "b/*.md"), 1)
    found, unmatched = document_files(ref, root / "docs", root)
    assert found == [
        ((root / "docs/a/one.md").resolve(), "docs/a/one.md"),
        ((root / "docs/a/two.MD").resolve(), "docs/a/two.MD"),
    ]
    assert unmatched == ["../../secret.md", "/etc/*.md", "b/*.md"]
