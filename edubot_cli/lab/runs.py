"""``edubot data generate`` (and what ``training`` shares with it): preflight, the ilab command line, the run
and its record.

Both run the real ``ilab`` through ``runner.run`` (own process group, live output, full log in ``logs_dir``) and
write a run record next to what it produced. ilab's exit code becomes edubot's; when ilab fails in a way users
often meet, ``LabRun.explanation`` says what it means and what to do.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import __version__
from ..errors import LabError, TaxonomyError, UsageError
from ..fileio import unique_path, utc_stamp
from ..gitrepo import repository
from ..launch import command_line
from . import records, runner
from .ilab import CONSTRAINTS_HINT, Ilab, find_ilab, is_numpy_pyarrow_error, venv_python
from .outputs import Checkpoint
from .samples import EMPTY, SampleReport, count_samples, empty_answers, too_few
from .teacher import (
    DEFAULT_SCALE_FACTOR,
    MAX_SCALE_FACTOR,
    Teacher,
    check_teacher,
    local_teacher,
)

if TYPE_CHECKING:
    from ..checkpoints.convert import ConvertResult
    from ..config import Settings

EMPTY_BASE = "empty"
ILAB_DEFAULT_BASE = "origin/main"
PIPELINES = ("simple", "full", "accelerated")
DEVICES = ("cpu", "cuda", "hpu", "mps")
MAX_FINDINGS_SHOWN = 20

NO_NEW_LEAVES = "No new leaf nodes found"
NOT_INITIALISED = "ilab config init"
NO_BASE_BRANCH = "Couldn't find the taxonomy base"
NO_DOCLING_MODELS = "Docling models not found on disk"


class Observer(Protocol):
    """What a run reports while it works (the command renders it)."""

    def note(self, message: str) -> None:
        """A step or decision worth telling the user (which file, which base, which teacher)."""

    def line(self, text: str, elapsed: float) -> None:
        """One line of ilab's output, with the seconds since ilab started."""


class Quiet:
    def note(self, message: str) -> None:
        pass

    def line(self, text: str, elapsed: float) -> None:
        pass


@dataclass
class LabRun:
    """The result of one ilab run."""

    exit_code: int
    command: list[str]
    log_path: Path
    record_path: Path
    record: dict[str, Any]
    seconds: float
    interrupted: int | None = None
    explanation: str | None = None
    """What a known failure means and how to get past it."""
    warnings: int = 0
    """Taxonomy warnings found by the preflight (the run went ahead)."""
    data_path: Path | None = None
    checkpoint: Checkpoint | None = None
    next_command: str | None = None
    converted: ConvertResult | None = None
    notes: list[str] = field(default_factory=list)
    samples: SampleReport | None = None
    """What a generation run kept, dropped and can use (None when ilab wrote no generated data)."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class GenerateOptions:
    """What ``edubot data generate`` was asked to do (None = ilab's own default)."""

    taxonomy_path: Path
    output_dir: Path
    taxonomy_base: str | None = None
    """None: ``empty`` unless the taxonomy is the root of a git repository with ``origin/main``."""
    pipeline: str | None = None
    sdg_scale_factor: int | None = None
    model: str | None = None
    endpoint_url: str | None = None
    teacher: str | None = None
    validate: bool = True
    extra: list[str] = field(default_factory=list)


def default_taxonomy_base(taxonomy: Path) -> tuple[str, str]:
    """The ``--taxonomy-base`` to use when none is given, and why.

    ilab diffs the taxonomy as a git repository of its own (``git.Repo(taxonomy_path)``: a taxonomy folder
    inside a bigger repository does not count) against ``origin/main``; anywhere else that fails with
    "Couldn't find the taxonomy base branch", so edubot passes ``empty`` (every leaf counts as new). Where git
    is needed and cannot answer, the error says so (``gitrepo``), with ``--taxonomy-base empty`` as the way out.
    """
    if not (taxonomy / ".git").exists():
        return EMPTY_BASE, "the taxonomy is not the root of a git repository, so every leaf is used"
    repo = repository(taxonomy, way_out=f"pass --taxonomy-base {EMPTY_BASE} to use every leaf")
    if repo.ref_exists(f"refs/remotes/{ILAB_DEFAULT_BASE}"):
        return ILAB_DEFAULT_BASE, f"only leaves new or changed against {ILAB_DEFAULT_BASE} are used"
    return EMPTY_BASE, f"the taxonomy repository has no {ILAB_DEFAULT_BASE}, so every leaf is used"


def explain_no_new_leaves(base: str) -> str:
    """Why ilab found nothing to generate from, and the ways out."""
    return (
        f"ilab found no new leaf nodes: it only generates data for qna.yaml files that are new or changed "
        f"against --taxonomy-base ({base}) — committed, unchanged leaves are skipped, and a taxonomy folder "
        f"inside a larger git repository is not diffed at all. Rerun with `--taxonomy-base empty` to use every "
        f"leaf, or change or add a qna.yaml (uncommitted and untracked files count as new)."
    )


def explain_failure(tail: list[str], ilab: Ilab, base: str | None, taxonomy: Path | None) -> str | None:
    """An explanation for the failures users keep meeting, from ilab's last output lines."""
    text = "\n".join(tail)
    if NO_NEW_LEAVES in text and base is not None:
        return explain_no_new_leaves(base)
    if NO_BASE_BRANCH in text and base is not None:
        return (
            f"ilab could not find the base {base!r} in the taxonomy repository. Pass a ref that exists there "
            f"(`--taxonomy-base HEAD` uses what changed since the last commit) or `--taxonomy-base empty`."
        )
    if NOT_INITIALISED in text:
        where = taxonomy if taxonomy is not None else "taxonomy"
        return (
            f"ilab has no configuration yet. Create it once with `{ilab.path} config init --non-interactive "
            f"--taxonomy-path {where}` (with a non-empty taxonomy folder it does not try to clone one)."
        )
    if NO_DOCLING_MODELS in text:
        return (
            "ilab converts a knowledge leaf's documents with docling, found no docling models on disk, and could "
            "not download them (the download needs Hugging Face, and the docling that instructlab 0.26.1 resolves "
            "to today no longer has the function ilab calls). Skill leaves need no docling models: generate from "
            "them, or run where ilab's docling models are already installed."
        )
    if is_numpy_pyarrow_error(text):
        python = venv_python(ilab.path)
        return "ilab's venv has the broken numpy/pyarrow combination; " + CONSTRAINTS_HINT.format(
            pip=f"{python} -m pip" if python else "pip"
        )
    return None


def _preflight(taxonomy: Path, observer: Observer) -> int:
    """Validate the taxonomy; raise with the findings on errors, report warnings; return the warning count."""
    from ..taxonomy.validate import validate

    report = validate([taxonomy])
    errors = [f for f in report.findings if f.severity == "error"]
    if errors:
        shown = "\n".join(
            f"  {f.file}:{f.line}:{f.col}: {f.rule}: {f.message}" for f in errors[:MAX_FINDINGS_SHOWN]
        )
        more = len(errors) - MAX_FINDINGS_SHOWN
        if more > 0:
            shown += f"\n  ... and {more} more"
        raise TaxonomyError(
            f"the taxonomy {taxonomy} has {len(errors)} error(s), so ilab was not run:\n{shown}",
            hint=f"fix them (`edubot taxonomy validate {taxonomy}` explains each), then rerun",
        )
    if report.warnings:
        observer.note(
            f"taxonomy: {report.files_checked} file(s) valid, {report.warnings} warning(s) "
            f"(`edubot taxonomy validate {taxonomy}` lists them); going ahead"
        )
    else:
        observer.note(f"taxonomy: {report.files_checked} file(s) valid")
    return report.warnings


def _scale_factor(options: GenerateOptions, observer: Observer) -> int | None:
    """The ``--sdg-scale-factor`` to pass: the one given, else the local teacher's default (None: ilab's)."""
    given = options.sdg_scale_factor
    if given is not None and given < 1:
        raise UsageError("--sdg-scale-factor must be 1 or more", hint="e.g. --sdg-scale-factor 5")
    if options.teacher is None:
        return given
    if given is None:
        observer.note(
            f"--sdg-scale-factor {DEFAULT_SCALE_FACTOR}: the embedded generator model's default (ilab's own 30 takes "
            "hours on CPU)"
        )
        return DEFAULT_SCALE_FACTOR
    if given > MAX_SCALE_FACTOR:
        raise UsageError(
            f"--sdg-scale-factor {given} is more than the embedded generator model serves at once ({MAX_SCALE_FACTOR})",
            hint=f"use --sdg-scale-factor 1 to {MAX_SCALE_FACTOR} with --generator local, or a GPU generator model "
            "(--endpoint-url) for more",
        )
    return given


@contextmanager
def _teacher(
    settings: Settings, options: GenerateOptions, scale_factor: int | None, observer: Observer
) -> Iterator[Teacher | None]:
    if options.teacher is None:
        yield None
        return
    with local_teacher(settings, observer.note, scale_factor or DEFAULT_SCALE_FACTOR) as teacher:
        yield teacher


def _log_path(logs_dir: Path, kind: str, started: datetime) -> Path:
    return unique_path(logs_dir, f"ilab-{kind}-{utc_stamp(started)}", ".log")


def execute(
    ilab: Ilab,
    argv: list[str],
    *,
    kind: str,
    output_dir: Path,
    settings: Settings,
    observer: Observer,
    details: dict[str, Any],
    cwd: Path | None = None,
    secret: str | None = None,
) -> tuple[runner.Outcome, Path, dict[str, Any]]:
    """Run ``argv``, then write the run record into ``output_dir``. ``secret`` (a key on the command line) is
    shown, logged and recorded as ``***``."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LabError(
            f"cannot create {output_dir}: {exc.strerror}", hint="check the folder setting"
        ) from exc
    before = records.snapshot(output_dir)
    started = datetime.now(UTC)
    log_path = _log_path(Path(settings.logs_dir), kind, started)
    shown = ["***" if secret and arg == secret else arg for arg in argv]
    observer.note(f"running: {command_line(shown)}")
    observer.note(f"full log: {log_path}")
    # ilab runs tools of its venv by name (yamllint), so its bin folder goes first on PATH.
    env = {"PATH": os.pathsep.join([str(ilab.path.parent), os.environ.get("PATH", "")])}
    outcome = runner.run(argv, log_path=log_path, on_line=observer.line, cwd=cwd, env=env, shown=shown)
    record = {
        "format": records.RECORD_FORMAT,
        "kind": kind.replace("-", " "),
        "command": shown,
        "edubot_version": __version__,
        "ilab_version": ilab.version,
        "ilab_path": str(ilab.path),
        "started_at": started.replace(microsecond=0).isoformat(),
        "finished_at": records.now_iso(),
        "duration_seconds": round(outcome.seconds, 3),
        **details,
        "exit_code": outcome.exit_code,
        "interrupted": signal.Signals(outcome.interrupted).name if outcome.interrupted else None,
        "log_file": str(log_path),
        "files_produced": records.produced(output_dir, before),
    }
    path = records.write_record(records.record_path(output_dir, kind, started), record)
    return outcome, path, record


def generate(settings: Settings, options: GenerateOptions, observer: Observer | None = None) -> LabRun:
    """Run ``ilab data generate`` on ``options.taxonomy_path`` (see the module docstring)."""
    observer = observer or Quiet()
    check_teacher(options.teacher, options.endpoint_url, options.model)
    scale_factor = _scale_factor(options, observer)
    taxonomy = options.taxonomy_path
    if not taxonomy.is_dir():
        raise TaxonomyError(
            f"the taxonomy folder {taxonomy} does not exist",
            hint="pass --taxonomy-path DIR or create a leaf with `edubot taxonomy add`",
        )
    ilab = find_ilab(settings)
    observer.note(f"ilab {ilab.version} at {ilab.path}")
    warnings = _preflight(taxonomy, observer) if options.validate else 0
    if options.taxonomy_base is None:
        base, why = default_taxonomy_base(taxonomy)
        observer.note(f"taxonomy base: {base} ({why})")
    else:
        base = options.taxonomy_base
    content_hash = records.taxonomy_hash(taxonomy)
    output_dir = options.output_dir.absolute()
    with _teacher(settings, options, scale_factor, observer) as teacher:
        argv = [
            str(ilab.path),
            "data",
            "generate",
            "--taxonomy-path",
            str(taxonomy.absolute()),
            "--taxonomy-base",
            base,
            "--output-dir",
            str(output_dir),
        ]
        if options.pipeline:
            argv += ["--pipeline", options.pipeline]
        if scale_factor is not None:
            argv += ["--sdg-scale-factor", str(scale_factor)]
        model = teacher.model if teacher else options.model
        endpoint = teacher.endpoint_url if teacher else options.endpoint_url
        if model:
            argv += ["--model", model]
        if endpoint:
            argv += ["--endpoint-url", endpoint]
        if teacher and teacher.api_key:
            argv += ["--api-key", teacher.api_key]
        if teacher and teacher.model_family and "--model-family" not in options.extra:
            argv += ["--model-family", teacher.model_family]
        argv += options.extra
        details = {
            "taxonomy_path": str(taxonomy.absolute()),
            "taxonomy_base": base,
            "taxonomy_hash": content_hash,
            "teacher": {
                "source": teacher.source,
                "endpoint_url": teacher.endpoint_url,
                "model": teacher.model,
                "model_family": teacher.model_family,
                "seed": teacher.seed,
            }
            if teacher
            else None,
        }
        outcome, record_path, record = execute(
            ilab,
            argv,
            kind="data-generate",
            output_dir=output_dir,
            settings=settings,
            observer=observer,
            details=details,
            secret=teacher.api_key if teacher else None,
        )
    explanation = (
        None
        if outcome.exit_code == 0 or outcome.interrupted
        else explain_failure(outcome.tail, ilab, base, taxonomy)
    )
    run = LabRun(
        exit_code=outcome.exit_code,
        command=argv,
        log_path=outcome.log_path,
        record_path=record_path,
        record=record,
        seconds=outcome.seconds,
        interrupted=outcome.interrupted,
        explanation=explanation,
        warnings=warnings,
    )
    if not outcome.interrupted:
        _account_samples(run, output_dir, options.pipeline, scale_factor, teacher is not None)
    return run


def _account_samples(
    run: LabRun, output_dir: Path, pipeline: str | None, scale_factor: int | None, local: bool
) -> None:
    """Count what the run kept, dropped and cannot use (``samples``), record it, and fail a finished run that
    left fewer usable samples than ``MIN_USABLE_SAMPLES``."""
    produced = [str(f.get("path")) for f in run.record.get("files_produced", []) if isinstance(f, dict)]
    report = count_samples(output_dir, produced, pipeline, scale_factor)
    if report is None:
        return
    run.samples = report
    run.record["samples"] = report.as_record()
    records.write_record(run.record_path, run.record)
    if run.ok and not report.enough:
        run.exit_code = 1
        run.explanation = too_few(report, local)
    elif not run.ok and report.dropped.get(EMPTY):
        run.explanation = empty_answers(report, local)
