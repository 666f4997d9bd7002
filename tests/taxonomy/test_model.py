"""The typed taxonomy model: one tolerant reader of a qna.yaml into leaves, seed examples, Q&A pairs and document
references, with their lines."""

from __future__ import annotations

from edubot_cli.taxonomy.findings import Finding
from edubot_cli.taxonomy.model import DocumentRef, Leaf, QnaPair, SeedExample, read_leaf

KNOWLEDGE_YAML = """\
version: 3
domain: botany
created_by: ms-lee
seed_examples:
  - context: |
      Roots take up water.
    questions_and_answers:
      - question: What do roots take up?
        answer: Water.
      - question: From where?
        answer: 42
  - 7
  - questions_and_answers: [1, {question: Why}]
document_outline: Plants
document:
  repo: https://github.com/school/notes
  commit: 0123abc
  patterns: ["plants/*.md", 5, " "]
"""

SKILL_YAML = """\
version: true
seed_examples:
  - question: Add 2 and 3.
    answer: "5"
  - context: A shop.
    question: What does it sell?
"""


def test_a_knowledge_leaf_with_its_lines() -> None:
    leaf = read_leaf(KNOWLEDGE_YAML.encode(), "knowledge/botany/plants/qna.yaml")
    assert leaf == Leaf(
        file="knowledge/botany/plants/qna.yaml",
        kind="knowledge",
        top="knowledge",
        version=3,
        domain="botany",
        created_by="ms-lee",
        document=DocumentRef("https://github.com/school/notes", ("plants/*.md",), 16, "0123abc"),
        seeds=(
            SeedExample(
                index=0,
                line=5,
                context="Roots take up water.",
                context_line=5,
                pairs=(
                    QnaPair(0, "What do roots take up?", "Water.", 8),
                    QnaPair(1, "From where?", "", 10),  # a number is no text: the schema wants a string
                ),
                has_pairs=True,
                question="",
                answer="",
            ),
            SeedExample(
                index=2,
                line=13,
                context="",
                context_line=13,
                pairs=(QnaPair(1, "Why", "", 13),),
                has_pairs=True,
                question="",
                answer="",
            ),
        ),
        seed_count=3,
    )
    assert leaf.folder == "knowledge/botany/plants"
    assert [pair.complete for pair in leaf.seeds[0].pairs] == [True, False]


def test_a_skill_leaf() -> None:
    leaf = read_leaf(SKILL_YAML.encode(), "compositional_skills/maths/sums/qna.yaml")
    assert isinstance(leaf, Leaf)
    assert (leaf.kind, leaf.top, leaf.version, leaf.document, leaf.seed_count) == (
        "skill",
        "compositional_skills",
        None,  # `version: true` is no version
        None,
        2,
    )
    assert [(s.line, s.context, s.skill_pair) for s in leaf.seeds] == [
        (3, "", QnaPair(-1, "Add 2 and 3.", "5", 3)),
        (5, "A shop.", QnaPair(-1, "What does it sell?", "", 5)),
    ]
    assert [s.skill_pair.complete for s in leaf.seeds] == [True, False]


def test_outside_the_top_folders_a_document_makes_knowledge() -> None:
    with_document = read_leaf(b"document: {repo: r, patterns: ['*.md']}\n", "misc/qna.yaml")
    without = read_leaf(b"seed_examples: []\n", "misc/qna.yaml")
    assert isinstance(with_document, Leaf) and isinstance(without, Leaf)
    assert (with_document.kind, with_document.top, without.kind) == ("knowledge", "", "skill")


def test_an_empty_document_is_an_empty_leaf_and_a_broken_one_a_finding() -> None:
    empty = read_leaf(b"", "knowledge/x/qna.yaml")
    assert isinstance(empty, Leaf) and (empty.empty, empty.seeds, empty.seed_count) == (True, (), 0)
    listed = read_leaf(b"- a\n- b\n", "knowledge/x/qna.yaml")
    assert isinstance(listed, Finding)
    assert (listed.rule, listed.file, listed.line) == ("top-level-not-mapping", "knowledge/x/qna.yaml", 1)
    broken = read_leaf(b"seed_examples: [\n", "knowledge/x/qna.yaml")
    assert isinstance(broken, Finding) and broken.file == "knowledge/x/qna.yaml"
