"""Prompt assembly: numbered passages within a token budget, the instruction, the retrieval query."""

from __future__ import annotations

from pathlib import Path

from edubot_cli.grounding.index import TaxonomyIndex
from edubot_cli.grounding.prompt import (
    INSTRUCTION,
    estimate_tokens,
    fit_passages,
    grounded_messages,
    material_first,
    retrieval_query,
)
from edubot_cli.grounding.sources import Passage, Source


def passage(n: int, title: str, text: str) -> Passage:
    return Passage(
        Source(n, f"f{n}.yaml", n * 10, f"seed_examples[{n}].context", title, text[:20], 1.0), text
    )


FIRST = Passage(
    Source(1, "a.yaml", 7, "seed_examples[0].context", "leaf/a", "Roots take up water.", 5.0),
    "Roots take up water.",
)
SECOND = passage(
    2,
    "leaf/b",
    "Xylem tubes carry water from the roots up to the leaves of the plant, day and night, pulled by the water "
    "that evaporates from the leaves through the stomata.",
)
THIRD = passage(3, "leaf/c", "Stomata let carbon dioxide in.")


def test_estimate_tokens_is_characters_over_four_rounded_up() -> None:
    assert [estimate_tokens(t) for t in ["", "a", "abcd", "abcde", "x" * 400]] == [0, 1, 1, 2, 100]


def test_exact_messages_for_a_tiny_budget() -> None:
    # 40 tokens = 160 chars: [1] fits whole (24 chars); [2] (158) is cut at a word to the 130 chars of text
    # left after the blank line and its "[2] " marker; [3] is dropped
    prompt = grounded_messages(
        "You are a patient teacher.",
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        "How does water reach the leaves?",
        [FIRST, SECOND, THIRD],
        budget_tokens=40,
    )
    block_1 = "[1] Roots take up water."
    block_2 = (
        "[2] Xylem tubes carry water from the roots up to the leaves of the plant, day and night, "
        "pulled by the water that evaporates from the…"
    )
    assert len(block_1) + 2 + len(block_2) <= 160
    assert prompt.messages == [
        {"role": "system", "content": "You are a patient teacher.\n\n" + INSTRUCTION},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {
            "role": "user",
            "content": f"Notes:\n\n{block_1}\n\n{block_2}\n\nQuestion: How does water reach the leaves?",
        },
    ]
    assert [(s.n, s.file) for s in prompt.sources] == [(1, "a.yaml"), (2, "f2.yaml")]
    assert prompt.passage_tokens == estimate_tokens(f"{block_1}\n\n{block_2}") <= 40
    assert INSTRUCTION == (
        "Answer the question in one or two sentences, using only the numbered notes below. Copy numbers, dates "
        "and names exactly as the notes write them. Cite the note you use by its number, like [1]. If the notes "
        "do not answer the question, say so."
    )


def test_knowledge_passages_are_quoted_as_their_context() -> None:
    knowledge = Passage(
        Source(1, "knowledge/botany/roots/qna.yaml", 7, "seed_examples[0].context", "knowledge/botany/roots (Botany)",
               "Roots take up water. Q: What do roots take up? A: Water.", 5.0),
        "Roots take up water.\nQ: What do roots take up?\nA: Water.\nQ: Why do roots have hairs?\nA: For surface.",
    )  # fmt: skip
    skill = Passage(
        Source(2, "compositional_skills/maths/sums/qna.yaml", 3, "seed_examples[0]", "compositional_skills/maths/sums",
               "Sam has 2 euros. Q: Add 1 euro. A: 3 euros.", 2.0),
        "Sam has 2 euros.\nQ: Add 1 euro.\nA: 3 euros.",
    )  # fmt: skip
    document = Passage(
        Source(3, "docs/roots.md", 1, "", "Roots", "Q: and A: lines", 1.0), "Q: kept\nA: as written"
    )
    # The skill example ranks first, so every passage is kept (``material_first``).
    prompt = grounded_messages(None, [], "What do roots take up?", [skill, knowledge, document], 1000)
    assert prompt.messages[-1]["content"] == (
        "Notes:\n\n"
        "[1] Sam has 2 euros.\nQ: Add 1 euro.\nA: 3 euros.\n\n"
        "[2] Roots take up water.\n\n"
        "[3] Q: kept\nA: as written\n\n"
        "Question: What do roots take up?"
    )
    assert [s.snippet for s in prompt.sources] == [
        skill.source.snippet,
        knowledge.source.snippet,
        "Q: and A: lines",
    ]


def test_lowest_ranked_passages_are_dropped_first() -> None:
    sources, blocks = fit_passages([FIRST, THIRD, SECOND], budget_tokens=20)
    # 20 tokens = 80 chars: [1] 24 + 2 + [2] 34 = 60; the 16 chars left are too few for [3], which is dropped
    assert blocks == ["[1] Roots take up water.", "[2] Stomata let carbon dioxide in."]
    assert [s.n for s in sources] == [1, 2]


def test_everything_fits_a_large_budget() -> None:
    sources, blocks = fit_passages([FIRST, SECOND, THIRD], budget_tokens=1000)
    assert [s.n for s in sources] == [1, 2, 3] and blocks[1] == "[2] " + SECOND.text


def test_too_small_a_budget_gives_no_passages() -> None:
    prompt = grounded_messages(None, [], "Why?", [SECOND], budget_tokens=10)
    assert prompt.sources == [] and prompt.passage_tokens == 0
    assert prompt.messages == [
        {"role": "system", "content": INSTRUCTION},
        {"role": "user", "content": "Notes:\n\n(none found)\n\nQuestion: Why?"},
    ]


def test_sources_are_renumbered_in_the_order_given() -> None:
    prompt = grounded_messages("", [], "q", [THIRD, FIRST], budget_tokens=100)
    assert [(s.n, s.file) for s in prompt.sources] == [(1, "f3.yaml"), (2, "a.yaml")]
    assert prompt.messages[-1]["content"].startswith("Notes:\n\n[1] Stomata")


def test_a_source_without_its_passage_contributes_its_snippet() -> None:
    source = Source(4, "d.md", 3, "", "Roots", "Roots anchor the plant.", 2.5)
    prompt = grounded_messages("S", [], "q", [source], budget_tokens=100)
    assert "[1] Roots anchor the plant.\n\nQuestion: q" in prompt.messages[-1]["content"]
    assert prompt.sources == [Source(1, "d.md", 3, "", "Roots", "Roots anchor the plant.", 2.5)]


def test_retrieval_query_adds_the_last_user_turns() -> None:
    history = [
        {"role": "user", "content": "Tell me about photosynthesis."},
        {"role": "assistant", "content": "It happens in chloroplasts."},
        {"role": "user", "content": "And cellular respiration?"},
        {"role": "assistant", "content": "It happens in mitochondria."},
    ]
    question = "Where does it happen?"
    assert retrieval_query(question, []) == "Where does it happen?"
    assert retrieval_query(question, history) == "Where does it happen? And cellular respiration?"
    assert retrieval_query(question, history, turns=2) == (
        "Where does it happen? And cellular respiration? Tell me about photosynthesis."
    )
    assert retrieval_query(question, history, turns=0) == question


def test_a_follow_up_question_retrieves_the_conversation_topic(taxonomy: Path, tmp_path: Path) -> None:
    history = [
        {"role": "user", "content": "What are stomata?"},
        {"role": "assistant", "content": "Small pores."},
    ]
    with TaxonomyIndex(taxonomy, tmp_path / "index.sqlite3") as index:
        index.refresh()
        assert index.search("Where do they sit?", 3) == []  # stop words and "sit"
        query = retrieval_query("Where do they sit?", history)
        top = index.retrieve(query, 3)
        prompt = grounded_messages("", history, "Where do they sit?", top, budget_tokens=200, query=query)
    assert top[0].source.yaml_path == "seed_examples[2].context"
    assert prompt.messages[-1]["content"].startswith("Notes:\n\n[1] Stomata are small pores under a leaf.")
    assert prompt.messages[-1]["content"].endswith("\n\nQuestion: Where do they sit?")


def ranked(*files: str) -> list[Passage]:
    """Passages from these files in rank order (a yaml path marks a taxonomy passage; none, a document)."""
    return [
        Passage(
            Source(0, file, 1, "" if file.endswith(".md") else "seed_examples[0].context", file, "text", 1.0),
            f"Text of {file}.",
        )
        for file in files
    ]


KNOWLEDGE = "knowledge/science/water_cycle/qna.yaml"
MCQ = "compositional_skills/assessment/multiple_choice/qna.yaml"
WORDS = "foundational_skills/word_problems/qna.yaml"
DOC = "water_cycle_notes.md"


def test_skill_examples_are_left_out_when_material_ranks_first() -> None:
    assert [p.source.file for p in material_first(ranked(KNOWLEDGE, MCQ, KNOWLEDGE, WORDS))] == [
        KNOWLEDGE,
        KNOWLEDGE,
    ]
    assert [p.source.file for p in material_first(ranked(DOC, MCQ, KNOWLEDGE))] == [DOC, KNOWLEDGE]


def test_every_passage_is_kept_when_a_skill_example_ranks_first() -> None:
    assert [p.source.file for p in material_first(ranked(MCQ, KNOWLEDGE, WORDS))] == [MCQ, KNOWLEDGE, WORDS]
    assert material_first([]) == []


def test_a_skill_example_below_material_is_neither_quoted_nor_cited() -> None:
    prompt = grounded_messages(None, [], "Why can concrete cause floods?", ranked(KNOWLEDGE, MCQ), 500)
    assert [s.file for s in prompt.sources] == [KNOWLEDGE]
    assert prompt.messages[-1]["content"] == (
        f"Notes:\n\n[1] Text of {KNOWLEDGE}.\n\nQuestion: Why can concrete cause floods?"
    )
