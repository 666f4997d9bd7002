"""Prompt tokens per grounded question: what the engine must read before a student's first token.

For each held-out question (``holdout 1``: the question's own Q&A pair is not in the index) of the shipped sample
taxonomy and of the Northbrook fixture, the grounded prompt is built as the backend builds it, with the default
settings (system prompt, ``grounding_top_k``, the token budget): once as before the passage cut (every retrieved
passage, each whole), once as now (passages under 0.6 of the best score cut, long ones windowed around the
question). Tokens are estimated as characters / 4 over every message, the estimate the budget uses.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from edubot_cli.config import load_settings
from edubot_cli.grounding import prompt as prompt_module
from edubot_cli.grounding.budget import BUSY_TOKENS
from edubot_cli.grounding.index import TaxonomyIndex
from edubot_cli.grounding.prompt import estimate_tokens, grounded_messages
from edubot_cli.grounding.select import relevant

ROOT = Path(__file__).resolve().parents[2]
TAXONOMIES = {
    "sample": ROOT / "taxonomy",
    "Northbrook": ROOT / "tests" / "benchmarks" / "taxonomies" / "northbrook",
}
WHOLE = 1 << 30  # a window this wide keeps every passage whole


def p95(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) for m in messages)


@pytest.mark.parametrize("name", list(TAXONOMIES))
def test_prompt_tokens_per_grounded_question(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(None)
    budget = settings.grounding_budget_tokens or settings.context_length // 3
    index = TaxonomyIndex(TAXONOMIES[name], tmp_path / "index.sqlite3", holdout=1)
    index.refresh()
    questions = [item.question for item in index.held_out()]
    before, after, busy = [], [], []
    for question in questions:
        retrieved = index.retrieve(question, settings.grounding_top_k)
        with monkeypatch.context() as patch:
            patch.setattr(prompt_module, "window", lambda text, query: text.strip())
            whole = grounded_messages(settings.system_prompt, [], question, retrieved, budget, question)
        before.append(prompt_tokens(whole.messages))
        cut = grounded_messages(settings.system_prompt, [], question, relevant(retrieved), budget, question)
        after.append(prompt_tokens(cut.messages))
        small = grounded_messages(
            settings.system_prompt, [], question, relevant(retrieved), BUSY_TOKENS, question
        )
        busy.append(prompt_tokens(small.messages))
    print(
        f"\n[bench prompt tokens] {name}: {len(questions)} held-out questions, top_k {settings.grounding_top_k}, "
        f"budget {budget} tokens; prompt tokens (estimated) before the cut: median "
        f"{statistics.median(before):.0f}, p95 {p95(before)}; now: median {statistics.median(after):.0f}, p95 "
        f"{p95(after)} ({statistics.median(after) / statistics.median(before):.2f}x the median); in a busy class "
        f"({BUSY_TOKENS}-token budget): median {statistics.median(busy):.0f}, p95 {p95(busy)}"
    )
    assert questions and len(before) == len(after)
    assert all(now <= then for now, then in zip(after, before, strict=True))
    assert all(small <= now for small, now in zip(busy, after, strict=True))
