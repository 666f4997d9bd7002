"""Right answers about the teacher's own material: `edubot eval --local --holdout 1 --grounded` with the embedded
model at temperature 0, on the sample taxonomy and on the Northbrook taxonomy (a fictional school: facts no
model can know), for each way of making grounded answers (`grounding_answer`).

The last Q&A pair of every knowledge context is kept out of the index and asked. "Right" is eval's verdict
(`assessment/verdict.py`). Targets, for the default (`quote`): on Northbrook, right answers >= 80% and factoid
questions right >= 80%; number and name recall >= 0.8; over every answer of the run, 0 with the prompt's
scaffolding and 0 runaway repetitions; the 100-question pace (the time of one grounded question, times 100)
within 4 minutes. The `check` and `model` figures are report-only: they show what the default is chosen over.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app
from tests.benchmarks.targets import Targets

ROOT = Path(__file__).resolve().parents[2]
TAXONOMIES = {"sample": ROOT / "taxonomy", "northbrook": ROOT / "tests/benchmarks/taxonomies/northbrook"}
MODES = ("quote", "check", "model")
SCAFFOLDING = re.compile(r"(?im)\bpassages?\b|^\W*(?:notes|question)\s*:|knowledge/\w")
RIGHT_TARGET = 0.8
RECALL_TARGET = 0.8
HUNDRED_TARGET_S = 240.0


def _runaway(answer: str) -> bool:
    sentences = [s.strip().lower() for s in re.split(r"(?<=[.!?])\s+", answer) if len(s.strip()) > 12]
    return len(sentences) != len(set(sentences))


def _eval(root: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, float]:
    monkeypatch.setenv("EDUBOT_GROUNDING_ANSWER", mode)
    start = time.perf_counter()
    result = CliRunner().invoke(
        app,
        ["eval", "--local", "--holdout", "1", "--grounded", "--taxonomy", str(root), "--format", "json"],
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), time.perf_counter() - start


def test_right_answers_on_the_teachers_material(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EDUBOT_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("EDUBOT_LOGS_DIR", str(tmp_path / "logs"))
    targets = Targets("answers")
    for mode in MODES:
        for name, root in TAXONOMIES.items():
            report, seconds = _eval(root, mode, monkeypatch)
            scores = report["overall"]["grounded"]
            answers = [item["results"]["grounded"]["answer"] or "" for item in report["items"]]
            leaks = sum(1 for a in answers if SCAFFOLDING.search(a))
            loops = sum(1 for a in answers if _runaway(a))
            pace = seconds / max(1, len(answers)) * 100
            print(
                f"\n{mode:5} {name:10} {len(answers)} questions in {seconds:.0f} s: right {scores['right']:.0%}, "
                f"partly {scores['partly']:.0%}, wrong {scores['wrong']:.0%}; factoid "
                f"({scores['factoid_questions']}) right {scores['factoid_right'] or 0:.0%}; numbers "
                f"{scores['numbers']}, names {scores['names']}; faithfulness {scores['faithfulness']}; "
                f"scaffolding {leaks}, runaway {loops}; 100 questions at this pace: {pace:.0f} s"
            )
            if mode != "quote":
                continue
            print(
                f"  no scaffolding: {targets.check(f'{name}: 0 scaffolding', leaks == 0)}; "
                f"no runaway: {targets.check(f'{name}: 0 runaway', loops == 0)}; "
                f"100-question pace: {targets.check(f'{name}: 100 questions <= 4 min', pace <= HUNDRED_TARGET_S)}"
            )
            if name == "northbrook":
                right = scores["right"] >= RIGHT_TARGET
                factoid = (scores["factoid_right"] or 0) >= RIGHT_TARGET
                recall = min(scores["numbers"] or 0, scores["names"] or 0) >= RECALL_TARGET
                print(
                    f"  right >= 80%: {targets.check('northbrook: right >= 80%', right)}; factoid right >= 80%: "
                    f"{targets.check('northbrook: factoid right >= 80%', factoid)}; number and name recall >= "
                    f"0.8: {targets.check('northbrook: number and name recall >= 0.8', recall)}"
                )
    targets.assert_met()
