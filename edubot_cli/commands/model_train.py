"""`edubot model train`: training through ilab, then the newest checkpoint (optionally converted)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import describe
from . import _lab_render
from ._common import settings as load


def train(
    ctx: typer.Context,
    data_path: Path | None = typer.Option(
        None, "--data-path", help="Training .jsonl file (default: the newest one in the datasets folder)."
    ),
    model_path: str | None = typer.Option(
        None, "--model-path", help="Student model: a Hugging Face folder (e.g. from `edubot model convert`)."
    ),
    pipeline: str | None = typer.Option(
        None, "--pipeline", help="Training pipeline: simple, full or accelerated (ilab's default: full)."
    ),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, hpu or mps (ilab's default: cpu)."),
    ckpt_output_dir: Path | None = typer.Option(None, "--ckpt-output-dir", help=describe("checkpoints_dir")),
    datasets_dir: Path | None = typer.Option(None, "--datasets-dir", help=describe("datasets_dir")),
    convert: bool = typer.Option(
        False, "--convert", help="After training, convert the newest checkpoint into models/ (safetensors)."
    ),
    force: bool = typer.Option(False, "--force", help="With --convert: replace an existing models/<name>/."),
) -> None:
    """Train a model with `ilab model train` on the newest generated data; find the checkpoint to serve.

    ilab's output streams live; the full log goes to logs/ and a run record (JSON) into the checkpoints folder.
    The newest checkpoint (hf_format/samples_N by N, else last_epoch) is reported with the command to convert it.
    Arguments after `--` go to ilab unchanged.

    Example: edubot model train --pipeline full --device cpu --model-path models/smollm2 --convert -- --num-epochs 1
    """
    from rich.markup import escape

    from ..lab.training import TrainOptions
    from ..lab.training import train as run_train

    settings = load(ctx, checkpoints_dir=ckpt_output_dir, datasets_dir=datasets_dir)
    out = _lab_render.console()
    run = run_train(
        settings,
        TrainOptions(
            ckpt_output_dir=Path(settings.checkpoints_dir),
            datasets_dir=Path(settings.datasets_dir),
            data_path=data_path,
            model_path=model_path,
            pipeline=pipeline,
            device=device,
            convert=convert,
            force=force,
            extra=list(ctx.args),
        ),
        _lab_render.ConsoleObserver(out),
    )
    _lab_render.summary(out, run, "training")
    if run.checkpoint is not None:
        out.print(f"newest checkpoint: {escape(str(run.checkpoint.path))}")
    if run.converted is not None:
        result = run.converted
        out.print(
            f"[green]converted[/] → {escape(str(result.target))} "
            f"({result.tensors} tensors, {result.parameters:,} parameters, {result.seconds:.1f} s)"
        )
    if run.next_command:
        out.print(f"next: {escape(run.next_command)}")
    _lab_render.exit_like_ilab(run)
