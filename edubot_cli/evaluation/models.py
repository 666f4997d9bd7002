"""``edubot eval --compare MODEL [MODEL ...]``: which model is best for this class? The same held-out evaluation
(``run.run_eval`` with ``--local``), once per GGUF model, each on an engine of its own; then one table.

A row per model: the share of right answers, numbers and names kept (the report's own ``overall`` scores), and
the median latency of an answer, per mode. The best model has the most right answers in the first mode
(grounded, unless ``--ungrounded``), then in the others, then the lower median latency. Each model's run keeps
its run record, as any ``edubot eval``.

The JSON document (``--format json``)::

    {"schema_version": 1, "kind": "edubot-eval-models", "partial", "taxonomy": {"path", "hash"},
     "settings": {...the first run's settings...},
     "models": [{"model", "path", "record", "partial", "asked", "total",
                 "scores": {"<mode>": {"questions", "answered", "right", "numbers", "names",
                                       "median_latency_seconds"}}}],
     "best": "<model>" | null}

``model`` is the name as given (``embedded``, a catalog name, a path); ``path`` the GGUF file served (null: the
embedded model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

from ..config import EMBEDDED_NAMES
from .report import EvalError
from .run import EvalOptions, Progress, run_eval

if TYPE_CHECKING:
    from ..config import Settings

SCHEMA_VERSION = 1
KIND = "edubot-eval-models"
SCORES = ("right", "numbers", "names")
"""The report's ``overall`` scores the comparison shows, in order."""


@dataclass(frozen=True)
class ModelChoice:
    """A model to compare: its name as given, and the GGUF file it is (None: the embedded model)."""

    label: str
    path: Path | None


def is_model(value: str) -> bool:
    """Whether a ``--compare`` value names a model (a .gguf file, the embedded model or a catalog name) rather
    than an earlier report."""
    from ..hub.catalog import find

    return value.lower().endswith(".gguf") or value.lower() in EMBEDDED_NAMES or find(value) is not None


def resolve_models(values: list[str], models_dir: Path) -> list[ModelChoice]:
    """The models ``values`` name: ``embedded`` (or ``smollm2``), a GGUF file, or a catalog name pulled into
    ``models_dir``; ``EvalError`` for one that is not there."""
    from ..hub.catalog import find

    choices = []
    for value in values:
        entry = find(value)
        if value.lower() in EMBEDDED_NAMES and not Path(value).exists():
            choices.append(ModelChoice(value, None))
        elif entry is not None and not Path(value).exists():
            path = models_dir / entry.filename
            if not path.is_file():
                raise EvalError(
                    f"--compare: {value} is not pulled yet ({path} does not exist)",
                    hint=f"pull it first: `edubot model pull {entry.name}`",
                )
            choices.append(ModelChoice(value, path))
        else:
            path = Path(value)
            if not path.is_file():
                raise EvalError(
                    f"--compare: {value} is not a GGUF file",
                    hint="give GGUF files (e.g. models/NAME.gguf), `embedded`, or names from `edubot model "
                    "catalog` that you pulled",
                )
            choices.append(ModelChoice(value, path))
    return choices


@dataclass
class ModelRun:
    """One model's evaluation: its report and run record."""

    model: ModelChoice
    report: dict[str, Any]
    record_path: Path


def median_latency(report: dict[str, Any], mode: str) -> float | None:
    """The median seconds an answer took in ``mode`` (answers that failed left out), rounded to 0.01 s."""
    seconds = [
        result["latency_seconds"]
        for item in report["items"]
        if (result := item["results"].get(mode)) is not None
        and result["error"] is None
        and result["latency_seconds"] is not None
    ]
    return round(median(seconds), 2) if seconds else None


def model_scores(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per mode: the questions, those answered, the shares in ``SCORES`` and the median latency."""
    out = {}
    for mode in report["settings"]["modes"]:
        overall = report["overall"][mode]
        out[mode] = {
            "questions": overall["questions"],
            "answered": overall["answered"],
            **{name: overall[name] for name in SCORES},
            "median_latency_seconds": median_latency(report, mode),
        }
    return out


def _rank(entry: dict[str, Any], modes: list[str]) -> tuple[float, ...]:
    rights = [entry["scores"][mode]["right"] or 0.0 for mode in modes]
    latency = entry["scores"][modes[0]]["median_latency_seconds"]
    return (*rights, -(latency if latency is not None else float("inf")))


def comparison(runs: list[ModelRun], *, interrupted: bool = False) -> dict[str, Any]:
    """The JSON document of ``runs`` (see the module doc); ``interrupted``: a run was stopped, later models
    were not evaluated."""
    first = runs[0].report if runs else {}
    modes: list[str] = first.get("settings", {}).get("modes", [])
    models = [
        {
            "model": run.model.label,
            "path": str(run.model.path) if run.model.path is not None else None,
            "record": str(run.record_path),
            "partial": run.report["partial"],
            "asked": run.report["asked"],
            "total": run.report["total"],
            "scores": model_scores(run.report),
        }
        for run in runs
    ]
    complete = [entry for entry in models if not entry["partial"]]
    best = max(complete, key=lambda entry: _rank(entry, modes))["model"] if len(complete) > 1 else None
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "partial": interrupted or any(entry["partial"] for entry in models),
        "taxonomy": first.get("taxonomy"),
        "settings": first.get("settings"),
        "models": models,
        "best": best,
    }


@dataclass
class ModelComparison:
    runs: list[ModelRun]
    document: dict[str, Any]
    interrupted: KeyboardInterrupt | None = None


def compare_models(
    settings: Settings,
    options: EvalOptions,
    models: list[ModelChoice],
    *,
    progress: Progress | None = None,
    notice: Callable[[str], None] | None = None,
) -> ModelComparison:
    """Evaluate ``options`` (made ``local``) once per model, in turn; stops after a run that was interrupted
    (Ctrl-C), keeping the models evaluated so far."""
    runs: list[ModelRun] = []
    for index, model in enumerate(models, 1):
        if notice is not None:
            notice(f"model {index} of {len(models)}: {model.label}")
        run = run_eval(
            settings,
            replace(options, local=True, url=None, model=model.path),
            progress=progress,
            notice=notice,
        )
        runs.append(ModelRun(model, run.report, run.record_path))
        if run.interrupted is not None:
            return ModelComparison(runs, comparison(runs, interrupted=True), run.interrupted)
    return ModelComparison(runs, comparison(runs))
