"""``edubot model train``: ``ilab model train`` on a training file, the newest checkpoint it wrote, and its
conversion when asked. Runs through ``runs.execute`` like ``data generate`` (process group, log, run record).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LabError, UsageError
from . import records
from .ilab import find_ilab
from .outputs import Checkpoint, newest_checkpoint, newest_training_file
from .runs import DEVICES, PIPELINES, LabRun, Observer, Quiet, execute, explain_failure

if TYPE_CHECKING:
    from ..checkpoints.convert import ConvertResult
    from ..config import Settings


@dataclass
class TrainOptions:
    """What ``edubot model train`` was asked to do (None = ilab's own default)."""

    ckpt_output_dir: Path
    datasets_dir: Path
    data_path: Path | None = None
    model_path: str | None = None
    pipeline: str | None = None
    device: str | None = None
    convert: bool = False
    force: bool = False
    extra: list[str] = field(default_factory=list)


def _training_data(options: TrainOptions, pipeline: str, observer: Observer) -> Path:
    if options.data_path is None:
        found = newest_training_file(options.datasets_dir, pipeline)
        observer.note(
            f"training data: {found} (the newest under {options.datasets_dir}; --data-path to choose)"
        )
        return found
    path = options.data_path
    if path.is_dir():
        try:
            newest = newest_training_file(path, pipeline)
        except LabError:
            suggestion = "give the .jsonl file itself"
        else:
            suggestion = f"the newest there is --data-path {newest}"
        raise UsageError(
            f"--data-path {path} is a folder; ilab model train wants one training .jsonl file",
            hint=suggestion + " (or leave --data-path out to use the newest)",
        )
    if not path.is_file():
        raise UsageError(f"--data-path {path} does not exist", hint="see `edubot data list` for the datasets")
    if path.suffix != ".jsonl":
        raise UsageError(
            f"--data-path {path} is not a .jsonl file", hint="see `edubot data list` for the datasets"
        )
    return path


def _looks_local(model: str) -> bool:
    """A filesystem path rather than a Hugging Face id like ``instructlab/granite-7b-lab``."""
    return model.startswith(("/", ".", "~")) or Path(model).suffix != "" or model.count("/") != 1


def train(settings: Settings, options: TrainOptions, observer: Observer | None = None) -> LabRun:
    """Run ``ilab model train``, find the newest checkpoint, and optionally convert it (see the module docstring)."""
    observer = observer or Quiet()
    if options.pipeline is not None and options.pipeline not in PIPELINES:
        raise UsageError(f"--pipeline {options.pipeline!r} is not one of {', '.join(PIPELINES)}")
    if options.device is not None and options.device not in DEVICES:
        raise UsageError(f"--device {options.device!r} is not one of {', '.join(DEVICES)}")
    if (
        options.model_path is not None
        and _looks_local(options.model_path)
        and not Path(options.model_path).exists()
    ):
        raise UsageError(
            f"--model-path {options.model_path} does not exist",
            hint="give a Hugging Face model folder, e.g. one made by `edubot model convert`",
        )
    pipeline = options.pipeline or "full"
    ilab = find_ilab(settings)
    observer.note(f"ilab {ilab.version} at {ilab.path}")
    data = _training_data(options, pipeline, observer)
    ckpt_dir = options.ckpt_output_dir.absolute()
    argv = [str(ilab.path), "model", "train"]
    if pipeline == "simple":
        # The legacy trainer reads the newest train_*/test_* pair from --input-dir (--data-path means a
        # folder already holding train_gen.jsonl there) and writes training_results/ into its working folder.
        argv += ["--input-dir", str(data.parent.absolute())]
        observer.note(f"--pipeline simple reads the newest train_*/test_* pair in {data.parent}")
    else:
        argv += ["--data-path", str(data.absolute())]
    if options.model_path:
        model_path = Path(options.model_path)
        argv += ["--model-path", str(model_path.absolute()) if model_path.exists() else options.model_path]
    if options.pipeline:
        argv += ["--pipeline", options.pipeline]
    if options.device:
        argv += ["--device", options.device]
    argv += ["--ckpt-output-dir", str(ckpt_dir)]
    argv += options.extra
    details = {
        "pipeline": options.pipeline,
        "device": options.device,
        "model_path": options.model_path,
        "data_path": str(data.absolute()),
        "data_records": records.count_records(data),
        "ckpt_output_dir": str(ckpt_dir),
    }
    outcome, record_path, record = execute(
        ilab,
        argv,
        kind="model-train",
        output_dir=ckpt_dir,
        settings=settings,
        observer=observer,
        details=details,
        cwd=ckpt_dir,
    )
    run = LabRun(
        exit_code=outcome.exit_code,
        command=argv,
        log_path=outcome.log_path,
        record_path=record_path,
        record=record,
        seconds=outcome.seconds,
        interrupted=outcome.interrupted,
        data_path=data,
    )
    if not run.ok:
        run.explanation = None if outcome.interrupted else explain_failure(outcome.tail, ilab, None, None)
        return run
    run.checkpoint = newest_checkpoint(ckpt_dir, outcome.tail)
    if run.checkpoint is None:
        run.notes.append(f"ilab finished but no checkpoint was found under {ckpt_dir}")
        return run
    run.next_command = f"edubot model convert {run.checkpoint.path}"
    if options.convert:
        run.converted = _convert(settings, run.checkpoint, options.force, observer)
        run.next_command = f"edubot serve --model {run.converted.target}"
    return run


def _convert(settings: Settings, checkpoint: Checkpoint, force: bool, observer: Observer) -> ConvertResult:
    from ..checkpoints.convert import ConvertOptions, convert

    observer.note(f"converting {checkpoint.path} into {settings.models_dir}/")
    last = [0.0]

    def status(what: str) -> None:
        observer.note(f"convert: {what}")

    def progress(done: int, total: int, what: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0 or done >= total:
            last[0] = now
            observer.note(f"convert: {done / 1e6:.0f}/{total / 1e6:.0f} MB {what}")

    return convert(
        ConvertOptions(source=checkpoint.path, models_dir=Path(settings.models_dir), force=force),
        progress=progress,
        status=status,
    )
