"""Scores of an evaluation per answer, per leaf and overall; the JSON report (``SCHEMA_VERSION``) and ``--compare``.

The JSON document (``edubot eval --format json``, and the run record) is, with ``Scores`` as below::

    {"schema_version": 1, "kind": "edubot-eval", "started_at", "finished_at", "edubot_version",
     "target": {"url", "local"},
     "taxonomy": {"path", "hash"},
     "settings": {"modes": ["grounded", "ungrounded"], "holdout", "max_tokens", "temperature",
                  "judge": {"url", "model"} | null, "concurrency", "leaves": ["<--leaf>", ...] | null},
     "partial", "asked", "total",
     "overall": {"<mode>": Scores},
     "leaves": [{"leaf", "kind", "scores": {"<mode>": Scores}}],
     "items": [{"leaf", "file", "line", "kind", "yaml_path", "question", "reference", "factoid",
                "results": {"<mode>": {"answer", "error", "verdict", "f1", "content_recall", "numbers", "names",
                                       "cited_leaf", "cited_passage", "sources", "source_titles",
                                       "faithfulness", "completion_tokens", "latency_seconds",
                                       "judge": {"grade", "reason", "error"} | null}}}]}

    Scores = {"questions", "answered", "errors", "right", "partly", "wrong", "factoid_questions",
              "factoid_right", "faithfulness", "f1", "content_recall", "numbers", "names", "cited_leaf",
              "cited_passage", "judge", "judge_errors"}

``partial`` is true when the run was interrupted (Ctrl-C): the report then holds the ``asked`` questions answered
in every mode, of ``total``. ``verdict`` is ``right``, ``partly`` or ``wrong`` (``verdict``'s rules; ``null`` for
an answer that failed); ``right``, ``partly`` and ``wrong`` are their shares of the answered questions,
``factoid_right`` the share of right answers among the answered factoid questions (``factoid_questions`` of
them). ``faithfulness`` is the backend's word on a grounded answer (``checked``, ``repaired``, ``quoted``,
``unchecked``), ``null`` when it sends none; Scores' ``faithfulness`` counts the answers by it (``{}`` when none
has one). Any other score is the mean over the answered questions where it applies (``numbers`` over references
with numbers, ``names`` over references with names, ``cited_*`` over grounded answers, ``judge`` over graded
answers: 0–5), else ``null``; shares and scores are rounded to 4 decimals. ``sources`` lists ``file#yaml_path``
of each source in rank order, ``source_titles`` their titles. New fields may be added within a schema version; a
field's meaning only changes with a new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from ..assessment.judge import Verdict
from ..assessment.questions import Question
from ..assessment.verdict import RIGHT, VERDICTS, is_factoid
from ..errors import EdubotError

SCHEMA_VERSION = 1
KIND = "edubot-eval"
GROUNDED = "grounded"
UNGROUNDED = "ungrounded"
MODES = (GROUNDED, UNGROUNDED)
METRICS = ("right", "f1", "content_recall", "numbers", "names", "cited_leaf", "cited_passage", "judge")
"""The scores ``--compare`` puts side by side, in order."""


class EvalError(EdubotError):
    """An evaluation that cannot run, or a report that cannot be read."""


@dataclass
class Answer:
    """One answer to one question in one mode, with its scores (``None``: does not apply)."""

    text: str = ""
    error: str | None = None
    verdict: str | None = None
    f1: float | None = None
    content_recall: float | None = None
    numbers: float | None = None
    names: float | None = None
    cited_leaf: bool | None = None
    cited_passage: bool | None = None
    sources: list[str] = field(default_factory=list)
    source_titles: list[str] = field(default_factory=list)
    faithfulness: str | None = None
    completion_tokens: int | None = None
    latency_seconds: float | None = None
    judge: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "error": self.error,
            "verdict": self.verdict,
            "f1": _round(self.f1),
            "content_recall": _round(self.content_recall),
            "numbers": _round(self.numbers),
            "names": _round(self.names),
            "cited_leaf": self.cited_leaf,
            "cited_passage": self.cited_passage,
            "sources": self.sources,
            "source_titles": self.source_titles,
            "faithfulness": self.faithfulness,
            "completion_tokens": self.completion_tokens,
            "latency_seconds": _round(self.latency_seconds),
            "judge": self.judge.to_dict() if self.judge is not None else None,
        }


@dataclass
class Item:
    """A question and its answers by mode."""

    question: Question
    answers: dict[str, Answer] = field(default_factory=dict)

    @property
    def factoid(self) -> bool:
        return is_factoid(self.question.question)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.question.to_dict(),
            "factoid": self.factoid,
            "results": {mode: answer.to_dict() for mode, answer in self.answers.items()},
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _mean(values: list[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return round(fmean(present), 4) if present else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def scores(items: list[Item], mode: str) -> dict[str, Any]:
    """The ``Scores`` of ``items``' answers in ``mode`` (see the module doc)."""
    answers = [item.answers[mode] for item in items]
    answered = [a for a in answers if a.error is None]
    verdicts = [a.judge for a in answered if a.judge is not None]
    factoid = [item.answers[mode] for item in items if item.factoid and item.answers[mode].error is None]
    faithfulness: dict[str, int] = {}
    for answer in answered:
        if answer.faithfulness is not None:
            faithfulness[answer.faithfulness] = faithfulness.get(answer.faithfulness, 0) + 1
    return {
        "questions": len(answers),
        "answered": len(answered),
        "errors": len(answers) - len(answered),
        **{v: _share(sum(1 for a in answered if a.verdict == v), len(answered)) for v in VERDICTS},
        "factoid_questions": len(factoid),
        "factoid_right": _share(sum(1 for a in factoid if a.verdict == RIGHT), len(factoid)),
        "faithfulness": dict(sorted(faithfulness.items())),
        "f1": _mean([a.f1 for a in answered]),
        "content_recall": _mean([a.content_recall for a in answered]),
        "numbers": _mean([a.numbers for a in answered]),
        "names": _mean([a.names for a in answered]),
        "cited_leaf": _mean([None if a.cited_leaf is None else float(a.cited_leaf) for a in answered]),
        "cited_passage": _mean(
            [None if a.cited_passage is None else float(a.cited_passage) for a in answered]
        ),
        "judge": _mean([None if v.grade is None else float(v.grade) for v in verdicts]),
        "judge_errors": sum(1 for v in verdicts if v.error is not None),
    }


def build_report(
    items: list[Item],
    *,
    modes: tuple[str, ...],
    meta: dict[str, Any],
    total: int | None = None,
) -> dict[str, Any]:
    """The JSON report of ``items`` (each answered in every mode): ``meta`` gives ``started_at``,
    ``finished_at``, ``edubot_version``, ``target``, ``taxonomy`` and ``settings`` (see the module doc); ``total``
    is the number of questions the run had to ask (default: as many as ``items``; more: a partial report)."""
    leaves: dict[str, list[Item]] = {}
    for item in items:
        leaves.setdefault(item.question.leaf, []).append(item)
    total = len(items) if total is None else total
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        **meta,
        "partial": len(items) < total,
        "asked": len(items),
        "total": total,
        "overall": {mode: scores(items, mode) for mode in modes},
        "leaves": [
            {
                "leaf": leaf,
                "kind": group[0].question.kind,
                "scores": {mode: scores(group, mode) for mode in modes},
            }
            for leaf, group in leaves.items()
        ],
        "items": [item.to_dict() for item in items],
    }


def load_report(path: Path) -> dict[str, Any]:
    """A report written by ``edubot eval --format json`` (or a run record), checked enough to compare with."""
    hint = "pass a file written by `edubot eval --format json` or an eval run record"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"--compare: {path} does not exist", hint=hint) from None
    except OSError as exc:
        raise EvalError(f"--compare: cannot read {path}: {exc.strerror}", hint=hint) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvalError(f"--compare: {path} is not JSON", hint=hint) from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise EvalError(f"--compare: {path} is not an edubot eval report", hint=hint)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise EvalError(
            f"--compare: {path} has schema_version {data.get('schema_version')!r}; this edubot reads "
            f"{SCHEMA_VERSION}",
            hint="compare with a report written by this edubot version",
        )
    overall, leaves = data.get("overall"), data.get("leaves")
    if (
        not isinstance(overall, dict)
        or not all(isinstance(v, dict) for v in overall.values())
        or not isinstance(leaves, list)
        or not all(
            isinstance(leaf, dict)
            and isinstance(leaf.get("leaf"), str)
            and isinstance(leaf.get("scores"), dict)
            and all(isinstance(v, dict) for v in leaf["scores"].values())
            for leaf in leaves
        )
    ):
        raise EvalError(f"--compare: {path} lacks the overall and per-leaf scores", hint=hint)
    return data


def _number(value: Any) -> float | None:
    return float(value) if type(value) in (int, float) else None


def _deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for metric in METRICS:
        old, new = _number(before.get(metric)), _number(after.get(metric))
        if old is None and new is None:
            continue
        delta = round(new - old, 4) if old is not None and new is not None else None
        out[metric] = {"before": old, "after": new, "delta": delta}
    return out


def compare(old: dict[str, Any], new: dict[str, Any], against: str) -> dict[str, Any]:
    """Before/after deltas per leaf and overall, for the modes both reports have: ``{"against", "overall":
    [{"mode", "deltas"}], "leaves": [{"leaf", "mode", "deltas"}]}``, with ``deltas`` = ``{metric: {"before",
    "after", "delta"}}`` (``delta`` is ``null`` when one side has no value; a leaf only one report has is
    listed with the other side ``null``)."""
    modes = [m for m in MODES if m in old["overall"] and m in new["overall"]]
    old_leaves = {leaf["leaf"]: leaf["scores"] for leaf in old["leaves"]}
    new_leaves = {leaf["leaf"]: leaf["scores"] for leaf in new["leaves"]}
    names = list(new_leaves) + [name for name in old_leaves if name not in new_leaves]
    return {
        "against": against,
        "overall": [
            {"mode": mode, "deltas": _deltas(old["overall"][mode], new["overall"][mode])} for mode in modes
        ],
        "leaves": [
            {
                "leaf": name,
                "mode": mode,
                "deltas": _deltas(
                    old_leaves.get(name, {}).get(mode) or {}, new_leaves.get(name, {}).get(mode) or {}
                ),
            }
            for name in names
            for mode in modes
        ],
    }
