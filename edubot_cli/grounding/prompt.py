"""Prompt assembly for grounded answers: numbered passages within a token budget, and the retrieval query.

Token counts are estimated as ``ceil(characters / 4)`` (``estimate_tokens``): no tokenizer is loaded, and for
English text with Llama/SmolLM-style BPE vocabularies four characters per token is close, a little generous.
The budget bounds the passage block only (markers, titles and texts); the system prompt, the history and the
question are the caller's to bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..taxonomy.model import SKILL, kind_of
from .passages import DOCUMENT, prompt_text
from .select import window
from .sources import Passage, Source

INSTRUCTION = (
    "Answer the question in one or two sentences, using only the numbered notes below. Copy numbers, dates "
    "and names exactly as the notes write them. Cite the note you use by its number, like [1]. If the notes "
    "do not answer the question, say so."
)
PASSAGES_HEADER = "Notes:"
NO_PASSAGES = "(none found)"

CHARS_PER_TOKEN = 4
MIN_TRUNCATED_CHARS = 80
"""A passage cut shorter than this (about 20 tokens) says too little to cite: it is dropped instead."""


def estimate_tokens(text: str) -> int:
    """Tokens in ``text``, estimated as characters / 4, rounded up."""
    return -(-len(text) // CHARS_PER_TOKEN)


def retrieval_query(question: str, history: Sequence[Mapping[str, str]] = (), turns: int = 1) -> str:
    """The text to search with: the question, then the last ``turns`` user messages of ``history`` (newest
    first), so a follow-up such as "where does it happen?" still finds the topic of the conversation."""
    users = [m.get("content", "") for m in history if m.get("role") == "user"]
    recent = users[-turns:] if turns > 0 else []
    return " ".join(part for part in [question, *reversed(recent)] if part.strip())


@dataclass
class GroundedPrompt:
    """The chat messages, and the sources that made it into them (numbered as their ``[n]`` markers)."""

    messages: list[dict[str, str]]
    sources: list[Source] = field(default_factory=list)
    passage_tokens: int = 0
    material: list[tuple[int, str]] = field(default_factory=list)
    """``(n, text)`` of each passage that made it in, whole: what an answer is checked against."""


def _cut(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` chars, ``…`` included."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit))
    if cut < limit // 2:
        cut = limit - 1
    return text[:cut].rstrip() + "…"


def kind(source: Source) -> str:
    """A retrieved source's kind: a yaml path names a taxonomy passage, knowledge or skill by its folder; no yaml
    path, a document."""
    return kind_of(source.file, {}) if source.yaml_path else DOCUMENT


def quoted(passage: Passage) -> str:
    """The text of ``passage`` in the prompt: ``passages.prompt_text`` by its kind."""
    return prompt_text(kind(passage.source), passage.text)


def material_first(passages: Sequence[Passage | Source]) -> list[Passage | Source]:
    """``passages`` without their skill examples when the best-ranked one is material (knowledge or a document).

    A skill example demonstrates a task, and its answer has that task's form: retrieved for a question on the
    same topic, as a multiple-choice example about the water cycle is for "why can concrete cause floods?", the
    embedded model copied its options instead of answering. When a skill example ranks first, the question asks
    for that task, and every passage is kept."""
    if not passages or kind(_source(passages[0])) == SKILL:
        return list(passages)
    return [p for p in passages if kind(_source(p)) != SKILL]


def _source(item: Passage | Source) -> Source:
    return item.source if isinstance(item, Passage) else item


def fit_passages(
    passages: Sequence[Passage | Source], budget_tokens: int, query: str = ""
) -> tuple[list[Source], list[str]]:
    """The passages that fit ``budget_tokens``, renumbered 1..m, with their blocks: ``[n]`` and the passage text
    as ``quoted`` gives it, cut to the window around ``query`` (``select.window``). No title: the model has
    nothing to copy but the material (a small model echoed titles and file paths into its answers).

    In rank order, each passage is kept whole while the block still fits; the first one that does not is cut
    to the room left (when at least ``MIN_TRUNCATED_CHARS`` of its text fit) and the lower-ranked rest are
    dropped. A ``Source`` without its passage contributes its snippet.
    """
    budget = max(0, budget_tokens) * CHARS_PER_TOKEN
    sources: list[Source] = []
    blocks: list[str] = []
    used = 0
    for item in passages:
        source, text = (
            (item.source, window(quoted(item), query)) if isinstance(item, Passage) else (item, item.snippet)
        )
        n = len(blocks) + 1
        header = f"[{n}] "
        gap = 2 if blocks else 0
        block = header + text.strip()
        fits = used + gap + len(block) <= budget
        if not fits:
            room = budget - used - gap - len(header)
            if room < MIN_TRUNCATED_CHARS:
                break
            block = header + _cut(text.strip(), room)
        sources.append(replace(source, n=n))
        blocks.append(block)
        used += gap + len(block)
        if not fits:
            break
    return sources, blocks


def grounded_system(system_prompt: str | None) -> str:
    """The system message of a grounded conversation: the server's system prompt plus ``INSTRUCTION`` (the same for
    every grounded request, so engines can keep it cached)."""
    return (
        f"{system_prompt.strip()}\n\n{INSTRUCTION}"
        if system_prompt and system_prompt.strip()
        else INSTRUCTION
    )


def grounded_messages(
    system_prompt: str | None,
    history: Sequence[Mapping[str, str]],
    question: str,
    sources: Sequence[Passage | Source],
    budget_tokens: int,
    query: str | None = None,
) -> GroundedPrompt:
    """Chat messages that ask for an answer from the numbered passages.

    ``[system: system_prompt + INSTRUCTION, *history, user: "Passages:\\n\\n[1] text ...\\n\\nQuestion:
    question"]``; the passages (``material_first``) are fitted to ``budget_tokens`` by ``fit_passages``, each quoted
    by ``quoted`` and windowed around ``query`` (the retrieval query; default: the question).
    """
    chosen = material_first(sources)
    kept, blocks = fit_passages(chosen, budget_tokens, query or question)
    system = grounded_system(system_prompt)
    body = "\n\n".join(blocks) if blocks else NO_PASSAGES
    messages = [{"role": "system", "content": system}]
    messages += [{"role": m["role"], "content": m["content"]} for m in history]
    messages.append({"role": "user", "content": f"{PASSAGES_HEADER}\n\n{body}\n\nQuestion: {question}"})
    whole = [item.text if isinstance(item, Passage) else item.snippet for item in chosen]
    material = [(source.n, text) for source, text in zip(kept, whole, strict=False)]
    return GroundedPrompt(messages, kept, estimate_tokens("\n\n".join(blocks)), material)
