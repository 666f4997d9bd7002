"""What synthetic data generation kept, dropped and could not use, read from the files ilab leaves behind.

``ilab data generate --pipeline simple`` asks the teacher for ``--sdg-scale-factor`` answers per seed example (the
rows of ``preprocessed_*/<leaf>.jsonl``), keeps the distinct ones in ``generated_*/<leaf>.jsonl`` (column
``output``: one question and its answer as free text), then splits each at its first ``?`` into the question and
the answer of a training sample. An answer with no ``?`` still becomes a sample, with an empty question; an empty
answer stops the whole run ("output not found in synth_example"). The ``full`` pipeline writes ``question`` and
``response`` columns instead. edubot counts each case so that a run says how many samples are worth training on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN_USABLE_SAMPLES = 5
"""A generation run that leaves fewer usable samples than this fails: there is too little to train on."""
ILAB_SCALE_FACTOR = 30
"""ilab's own ``--sdg-scale-factor``."""

DUPLICATE = "duplicate"
EMPTY = "empty"
NO_QUESTION = "no question mark"
NO_ANSWER = "nothing after the question"
REASONS = {
    DUPLICATE: "the same text as another answer (ilab keeps one)",
    EMPTY: "the generator model answered nothing (ilab's simple pipeline stops at the first)",
    NO_QUESTION: "no '?', so ilab cannot split it into a question and an answer (it keeps it with an empty "
    "question)",
    NO_ANSWER: "a question with no answer after it (ilab leaves it out)",
}
"""Why a sample is dropped or unusable, as the run record and the summary explain it."""


@dataclass
class SampleReport:
    """The sample accounting of one generation run."""

    generated: int = 0
    """Rows ilab kept in ``generated_*`` (after its own de-duplication)."""
    usable: int = 0
    """Rows with a non-empty question and answer."""
    requested: int | None = None
    """Answers asked of the teacher (seed rows x scale factor; None unless the pipeline is ``simple``)."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Reason (see ``REASONS``) -> count; only reasons that occurred."""
    minimum: int = MIN_USABLE_SAMPLES

    @property
    def enough(self) -> bool:
        return self.usable >= self.minimum

    def as_record(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "generated": self.generated,
            "usable": self.usable,
            "dropped": dict(self.dropped),
            "minimum": self.minimum,
        }

    def summary(self) -> str:
        """One line: ``10 asked of the teacher, 8 kept by ilab, 6 usable; dropped: 2 duplicate, 2 no question
        mark``."""
        asked = f"{self.requested} asked of the generator model, " if self.requested is not None else ""
        line = f"{asked}{self.generated} kept by ilab, {self.usable} usable"
        if self.dropped:
            line += "; dropped: " + ", ".join(f"{n} {reason}" for reason, n in self.dropped.items())
        return line


def classify(row: dict[str, Any]) -> str | None:
    """Why a generated row makes no training sample (a ``REASONS`` key), or None when it is usable."""
    if "question" in row or "response" in row:
        if not str(row.get("question") or "").strip():
            return NO_QUESTION
        return None if str(row.get("response") or "").strip() else NO_ANSWER
    output = str(row.get("output") or "")
    if not output.strip():
        return EMPTY
    _, mark, answer = output.partition("?")
    if not mark:
        return NO_QUESTION
    return None if answer.strip() else NO_ANSWER


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    return rows


def count_samples(
    root: Path, produced: Iterable[str], pipeline: str | None, scale_factor: int | None
) -> SampleReport | None:
    """The accounting of a run from the files it ``produced`` (paths relative to ``root``, as the run record
    lists them); None when ilab wrote no ``generated_*`` data (it stopped before, or it is not SDG output)."""
    seeds = [root / p for p in produced if _in_folder(p, "preprocessed_")]
    generated = [root / p for p in produced if _in_folder(p, "generated_")]
    if not generated:
        return None
    report = SampleReport()
    counts: dict[str, int] = {}
    for path in generated:
        for row in _rows(path):
            report.generated += 1
            reason = classify(row)
            if reason is None:
                report.usable += 1
            else:
                counts[reason] = counts.get(reason, 0) + 1
    if pipeline == "simple" and seeds:
        report.requested = sum(len(_rows(p)) for p in seeds) * (scale_factor or ILAB_SCALE_FACTOR)
        duplicates = report.requested - report.generated
        if duplicates > 0:
            report.dropped[DUPLICATE] = duplicates
    report.dropped.update((reason, counts[reason]) for reason in REASONS if reason in counts)
    return report


def _in_folder(relative: str, prefix: str) -> bool:
    parts = Path(relative).parts
    return relative.endswith(".jsonl") and len(parts) >= 2 and parts[-2].startswith(prefix)


def what_to_try(teacher_is_local: bool) -> str:
    """Ways to get more usable samples, as one sentence."""
    tries = [
        "add seed examples to the leaf (questions that end in '?' and short answers)",
        "raise --sdg-scale-factor (up to 8 with --generator local)"
        if teacher_is_local
        else "raise --sdg-scale-factor",
    ]
    if teacher_is_local:
        tries.append(
            "try another prompt family after `--` (--model-family llama, merlinite, mixtral or blank)"
        )
    tries.append(
        "or use a larger generator model (--endpoint-url of a vLLM server, see the README's GPU recipe)"
    )
    return "To get more: " + "; ".join(tries) + "."


def too_few(report: SampleReport, teacher_is_local: bool) -> str:
    """Why the run failed for lack of usable samples, and what to try."""
    return (
        f"only {report.usable} usable sample(s), fewer than the {report.minimum} a run needs ({report.summary()}). "
        + what_to_try(teacher_is_local)
    )


def empty_answers(report: SampleReport, teacher_is_local: bool) -> str:
    """Why ilab stopped on an empty answer, and what to try."""
    return (
        f"the generator model answered {report.dropped.get(EMPTY, 0)} prompt(s) with nothing, and ilab's simple pipeline "
        f'stops at an empty answer ("output not found in synth_example"). ' + what_to_try(teacher_is_local)
    )
