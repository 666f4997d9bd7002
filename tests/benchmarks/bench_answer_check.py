"""What retrieval and the answer gate cost a grounded answer, side by side with the gate off.

For every held-out question (``--holdout 1``) of the sample taxonomy and of the Northbrook taxonomy, in one
process: retrieval, the relative cut and prompt assembly alone (the gate off: ``grounding_answer: model``), then
the same plus the gate over a typical model answer (a sentence made of the question's words, then a wrong number,
so every step runs: the check, the alignment, the quote). Figures are per question, p50 and p95, in
milliseconds. Target: retrieval and checking together ≤ 30 ms at p50.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from edubot_cli.grounding.gate import Gate
from edubot_cli.grounding.index import TaxonomyIndex
from edubot_cli.grounding.prompt import grounded_messages
from edubot_cli.grounding.select import relevant
from tests.benchmarks.targets import Targets

ROOT = Path(__file__).resolve().parents[2]
TAXONOMIES = {"sample": ROOT / "taxonomy", "northbrook": ROOT / "tests/benchmarks/taxonomies/northbrook"}
REPEATS = 5
TARGET_MS = 30.0


def _answer(question: str) -> str:
    words = question.rstrip("?").split()
    return f"{' '.join(words[-4:]).capitalize()} is as the notes say. It happened 12 times in 1066."


def _grounded(index: TaxonomyIndex, question: str) -> list[tuple[int, str]]:
    prompt = grounded_messages("You are a tutor.", [], question, relevant(index.retrieve(question, 4)), 680)
    return prompt.material


def test_retrieval_and_check_cost(tmp_path: Path) -> None:
    targets = Targets("answer check")
    for name, root in TAXONOMIES.items():
        index = TaxonomyIndex(root, tmp_path / f"{name}.sqlite3", holdout=1)
        index.refresh()
        questions = [h.question for h in index.held_out()]
        off: list[float] = []
        on: list[float] = []
        for _ in range(REPEATS):
            for question in questions:
                start = time.perf_counter()
                _grounded(index, question)
                off.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                material = _grounded(index, question)
                gate = Gate(question, material, mode="check")
                if gate.direct() is None:
                    gate.run(_answer(question), "stop")
                on.append((time.perf_counter() - start) * 1000)
        p50_off, p50_on = statistics.median(off), statistics.median(on)
        p95_on = statistics.quantiles(on, n=20)[-1]
        verdict = targets.check(f"{name}: retrieval + check p50 ≤ {TARGET_MS:g} ms", p50_on <= TARGET_MS)
        print(
            f"\n{name}: {len(questions)} questions x {REPEATS}: retrieval alone p50 {p50_off:.2f} ms; "
            f"retrieval + check p50 {p50_on:.2f} ms, p95 {p95_on:.2f} ms (the check adds {p50_on - p50_off:.2f} "
            f"ms): {verdict}"
        )
        index.close()
    targets.assert_met()
