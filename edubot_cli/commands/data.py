"""`edubot data`: synthetic data generation through ilab, and the datasets it made."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import describe
from . import _lab_render
from ._common import TableOrJson, echo_json, format_option
from ._common import settings as load

app = typer.Typer(
    help="Generate and list synthetic training data (runs the real `ilab`).", no_args_is_help=True
)


@app.command(context_settings={"allow_extra_args": True})
def generate(
    ctx: typer.Context,
    taxonomy_path: Path | None = typer.Option(None, "--taxonomy-path", help=describe("taxonomy_path")),
    taxonomy_base: str | None = typer.Option(
        None,
        "--taxonomy-base",
        help="Git ref ilab diffs the taxonomy against, or `empty` for every leaf "
        "(default: empty, unless the taxonomy is a git repository root with origin/main).",
    ),
    output_dir: Path | None = typer.Option(None, "--output-dir", help=describe("datasets_dir")),
    pipeline: str | None = typer.Option(
        None,
        "--pipeline",
        help="SDG pipeline: simple, full, or a folder of pipeline YAML (ilab's default: full).",
    ),
    sdg_scale_factor: int | None = typer.Option(
        None,
        "--sdg-scale-factor",
        help="Instructions to generate per seed example (ilab's default: 30; with --generator local 2, at most 8).",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Generator model (the model that writes the synthetic data): path or name, passed to ilab.",
    ),
    endpoint_url: str | None = typer.Option(
        None, "--endpoint-url", help="OpenAI-compatible URL (ending in /v1) of a running generator model."
    ),
    teacher: str | None = typer.Option(
        None,
        "--generator",
        "--teacher",
        help="The generator model (ilab calls it the teacher): `local` is the embedded model, started for the run "
        "with pinned sampling (seed, grammar, one thread). --teacher is the same flag under its old name.",
    ),
    no_validate: bool = typer.Option(False, "--no-validate", help="Skip the taxonomy validation preflight."),
) -> None:
    """Generate synthetic training data from the taxonomy with `ilab data generate`.

    The taxonomy is validated first: errors stop the run, warnings do not.
    ilab's output streams live; the full log goes to logs/ and a run record (JSON) next to the data.
    Arguments after `--` go to ilab unchanged.

    Example: edubot data generate --pipeline simple --generator local -- --max-num-tokens 512
    """
    from ..lab.runs import GenerateOptions
    from ..lab.runs import generate as run_generate

    settings = load(ctx, taxonomy_path=taxonomy_path, datasets_dir=output_dir)
    out = _lab_render.console()
    run = run_generate(
        settings,
        GenerateOptions(
            taxonomy_path=Path(settings.taxonomy_path),
            output_dir=Path(settings.datasets_dir),
            taxonomy_base=taxonomy_base,
            pipeline=pipeline,
            sdg_scale_factor=sdg_scale_factor,
            model=model,
            endpoint_url=endpoint_url,
            teacher=teacher,
            validate=not no_validate,
            extra=list(ctx.args),
        ),
        _lab_render.ConsoleObserver(out),
    )
    _lab_render.summary(out, run, "generation")
    if run.ok:
        out.print(
            "next: edubot model train  (trains on the newest training file; `edubot data list` shows them)"
        )
    _lab_render.exit_like_ilab(run)


@app.command("list")
def list_datasets(
    ctx: typer.Context,
    datasets_dir: Path | None = typer.Option(None, "--datasets-dir", help=describe("datasets_dir")),
    output: TableOrJson = format_option(),
) -> None:
    """List the generated datasets: date, size, record count, and the run that made each.

    Example: edubot data list --format json
    """

    from rich.table import Table

    from ..lab.outputs import list_datasets as find_datasets

    settings = load(ctx, datasets_dir=datasets_dir)
    found = find_datasets(Path(settings.datasets_dir))
    if output is TableOrJson.json:
        rows = [
            {
                "path": d.relative,
                "kind": d.kind,
                "modified": d.modified.replace(microsecond=0).isoformat(),
                "bytes": d.bytes,
                "records": d.records,
                "run": d.run,
                "run_exit_code": d.run_exit_code,
            }
            for d in found
        ]
        echo_json({"datasets_dir": str(settings.datasets_dir), "datasets": rows})
        return
    out = _lab_render.console()
    if not found:
        out.print(f"no datasets under {settings.datasets_dir} yet; run `edubot data generate`")
        return
    table = Table(title=f"datasets in {settings.datasets_dir}")
    for column in ("file", "kind", "modified (UTC)", "size", "records", "made by"):
        table.add_column(column, justify="right" if column in ("size", "records") else "left")
    for d in found:
        made_by = d.run or "-"
        if d.run and d.run_exit_code not in (None, 0):
            made_by += f" (exit {d.run_exit_code})"
        table.add_row(
            d.relative,
            d.kind,
            d.modified.strftime("%Y-%m-%d %H:%M"),
            f"{d.bytes:,}",
            str(d.records),
            made_by,
        )
    out.print(table)
