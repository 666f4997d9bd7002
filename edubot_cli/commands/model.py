"""`edubot model`: train (through ilab), convert, list and inspect models; pull one from the Hugging Face hub."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..checkpoints.sizes import DEFAULT_MAX_SHARD_SIZE, format_size
from ..console import rich_console
from . import model_train
from ._common import TableOrJson, echo_json, format_option, settings

if TYPE_CHECKING:
    from rich.console import Console

    from ..checkpoints.convert import ConvertResult
    from ..checkpoints.inspect import ModelInfo
    from ..hub.pull import PullResult

app = typer.Typer(help="Train, convert, list, inspect and pull models.", no_args_is_help=True)
app.command("train", context_settings={"allow_extra_args": True})(model_train.train)


class DType(StrEnum):
    keep = "keep"
    bf16 = "bf16"
    fp16 = "fp16"
    fp32 = "fp32"


@app.command()
def convert(
    ctx: typer.Context,
    source: Path = typer.Argument(
        ...,
        help="Checkpoint: a folder (pytorch_model.bin, sharded .bin + index, hf_format/samples_N, a training run), "
        "a .bin/.pt/.pth file, a .gguf file, or `embedded` for the embedded SmolLM2.",
        show_default=False,
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Output directory (default: <models_dir>/<name of the checkpoint>)."
    ),
    dtype: DType = typer.Option(
        DType.keep, "--dtype", help="Weight dtype to write: keep, bf16, fp16 or fp32."
    ),
    max_shard_size: str = typer.Option(
        DEFAULT_MAX_SHARD_SIZE,
        "--max-shard-size",
        help="Largest safetensors file (decimal units: 5GB = 5×10⁹ bytes; GiB for binary).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace the output directory if it exists."),
) -> None:
    """Convert a training checkpoint (or a GGUF file) into a verified safetensors model that vLLM and
    `transformers serve` load.

    Every tensor is read back and compared bitwise; the output appears only when complete.

    Example: edubot model convert checkpoints/hf_format --dtype bf16
    """
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from ..checkpoints.convert import ConvertOptions
    from ..checkpoints.convert import convert as run_convert
    from ..checkpoints.inspect import resolve_model

    options = ConvertOptions(
        source=resolve_model(source),
        target=output,
        models_dir=settings(ctx).models_dir,
        dtype=dtype.value,
        max_shard_size=max_shard_size,
        force=force,
    )
    err = rich_console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("reading the checkpoint", total=None)

        def on_progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        def on_status(what: str) -> None:
            bar.update(task, description=what)

        result = run_convert(options, progress=on_progress, status=on_status)
    _print_convert(result, err)


def _print_convert(result: ConvertResult, err: Console) -> None:
    from rich.markup import escape

    for note in result.notes:
        err.print(f"[cyan]note:[/] {escape(note)}")
    for item in result.dropped:
        err.print(f"[cyan]dropped:[/] {escape(item)}")
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    out = rich_console()
    shards = "1 file" if result.shards == 1 else f"{result.shards} shards + index"
    out.print(
        f"[green]converted[/] {escape(str(result.source.path))} → [bold]{escape(str(result.target))}[/]"
    )
    out.print(
        f"  {result.tensors} tensors, {result.parameters:,} parameters, {', '.join(result.dtypes)}, "
        f"{format_size(result.bytes)} in {shards}, {result.seconds:.1f} s ({result.mb_per_s:.0f} MB/s), "
        "verified bitwise"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    output: TableOrJson = format_option(),
) -> None:
    """List the models under the models folder plus the embedded default, with what can serve each.

    Examples:

      edubot model list

      edubot model list --format json
    """
    from ..checkpoints.inspect import list_models

    infos, notes = list_models(settings(ctx).models_dir)
    if output is TableOrJson.json:
        echo_json({"models": [_jsonable(i) for i in infos], "notes": notes})
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for column in ("name", "format", "architecture", "parameters", "dtype", "size", "engines"):
        table.add_column(column, overflow="fold")
    for info in infos:
        table.add_row(
            escape(info.name),
            info.format,
            escape(info.architecture),
            _params(info.parameters),
            info.dtype,
            format_size(info.size),
            ", ".join(info.engines) or "[red]none[/]",
        )
    out = rich_console()
    out.print(table)
    if infos:  # paths whole, one per line, so that they can be copied (a table column would wrap them)
        out.print()
        width = max(len(info.name) for info in infos)
        for info in infos:
            out.print(f"{info.name:<{width}}  {info.path}", markup=False)
    err = rich_console(stderr=True)
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}")


@app.command()
def inspect(
    path: Path = typer.Argument(
        ...,
        help="A model folder, .bin/.pt/.pth file or .gguf file; `embedded` (or `smollm2`) for the embedded SmolLM2.",
        show_default=False,
    ),
    output: TableOrJson = format_option(),
) -> None:
    """Show a model's format, architecture, parameters, dtype, size, shards, tied weights, which engines can
    serve it and anything that would stop vLLM from loading it.

    Examples:

      edubot model inspect models/my-tutor

      edubot model inspect models/my-tutor --format json

      edubot model inspect embedded
    """
    from ..checkpoints.inspect import inspect_model, resolve_model

    info = inspect_model(resolve_model(path))
    if output is TableOrJson.json:
        echo_json(_jsonable(info))
        return
    from rich.markup import escape

    out = rich_console()
    rows = [
        ("path", str(info.path)),
        ("format", info.format),
        ("architecture", info.architecture),
        ("parameters", _params(info.parameters)),
        ("dtype", info.dtype),
        ("size on disk", format_size(info.size)),
        ("tied weights", info.tied),
        ("servable by", ", ".join(info.engines) or "none as it is"),
    ]
    for key, value in rows:
        out.print(f"[bold]{key:<13}[/] {escape(value)}")
    out.print(f"[bold]{'shards':<13}[/] {len(info.shards)}")
    for shard in info.shards:
        out.print(f"  {escape(shard.name)}  {shard.tensors} tensors  {format_size(shard.bytes)}")
    if info.vllm_problems:
        out.print("[bold]would stop vLLM:[/]")
        for problem in info.vllm_problems:
            out.print(f"  [red]•[/] {escape(problem)}")
    else:
        out.print("[green]vLLM can load it as it is[/]")
    for note in info.notes:
        out.print(f"[cyan]note:[/] {escape(note)}")


def _params(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n:,}"


def _jsonable(info: ModelInfo) -> dict[str, Any]:
    data = asdict(info)
    data["path"] = str(info.path)
    return data


@app.command()
def catalog(output: TableOrJson = format_option()) -> None:
    """List the instruct GGUF models `edubot model pull NAME` knows: size, licence, RAM and speed on a laptop.

    RAM is an estimate for 4 and for 32 slots (`edubot serve`'s default: a class answered at once; `--parallel`
    sets them); speed is an estimate for a 2-core and a 4-core laptop. `edubot doctor` says which suits this
    machine; `edubot eval --compare` measures them on your own questions.

    Examples:

      edubot model catalog

      edubot model catalog --format json
    """
    from ..hub.catalog import CATALOG, DEFAULT_SLOTS, catalog_json

    if output is TableOrJson.json:
        echo_json({"models": catalog_json()})
        return
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, show_lines=True)
    for column in (
        "name",
        "model",
        "download",
        "licence",
        f"RAM 4 / {DEFAULT_SLOTS} slots",
        "speed on a laptop",
    ):
        table.add_column(column, overflow="fold")
    for model in CATALOG:
        table.add_row(
            model.name,
            f"{model.title}\n{model.repo}",
            format_size(model.size),
            model.licence,
            f"{model.ram_gib(4):.1f} / {model.ram_gib():.1f} GiB",
            model.speed,
        )
    out = rich_console()
    out.print(table, markup=False)
    out.print(
        "pull one: edubot model pull NAME (or hf:OWNER/REPO/FILE.gguf for any GGUF file on the hub)",
        markup=False,
    )


@app.command()
def pull(
    ctx: typer.Context,
    name: str = typer.Argument(
        ...,
        help="A name from `edubot model catalog` (e.g. qwen2.5-1.5b), or hf:OWNER/REPO/FILE.gguf.",
        show_default=False,
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace a different file of the same name in models_dir."
    ),
) -> None:
    """Download a GGUF model from the Hugging Face hub into the models folder, verified against the hub's hash.

    A stopped download resumes when the same command runs again. The file appears in the models folder only once
    complete and verified; an existing file is never replaced without --force. $HF_ENDPOINT names another hub
    (a mirror); $HF_TOKEN (or `hf auth login`) is needed only for gated or private repositories.

    Examples:

      edubot model pull qwen2.5-1.5b

      edubot model pull hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf
    """
    from ..hub.pull import pull as run_pull
    from ..hub.pull import resolve_source, stopped_download

    source = resolve_source(name)
    models_dir = settings(ctx).models_dir
    err = rich_console(stderr=True)
    if source.entry is not None:
        err.print(
            f"licence: {source.entry.licence} ({source.entry.licence_url})", markup=False, highlight=False
        )
    try:
        with _download_bar(err, f"pulling {source.target_name}") as on_progress:
            result = run_pull(source, models_dir, force=force, progress=on_progress)
    except KeyboardInterrupt:
        kept = stopped_download(models_dir, source)
        if kept is not None:
            err.print(
                f"stopped: {format_size(kept.stat().st_size)} kept in {kept}; run the same command again to resume",
                markup=False,
                highlight=False,
            )
        raise
    _print_pull(result, err)


@contextlib.contextmanager
def _download_bar(err: Console, what: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A progress bar with the speed and the time left on standard error (terminals only; gone when done)."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn(what), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(what, total=None)

        def on_progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield on_progress


def _print_pull(result: PullResult, err: Console) -> None:
    out = rich_console()
    if result.already:
        out.print(
            f"{result.path} is already here and matches the hub's {result.algorithm}: nothing to download",
            markup=False,
            highlight=False,
        )
    else:
        if result.resumed_from:
            err.print(
                f"resumed a stopped download at {format_size(result.resumed_from)} of {format_size(result.size)}",
                markup=False,
                highlight=False,
            )
        if result.replaced:
            err.print(f"replaced the earlier {result.path} (--force)", markup=False, highlight=False)
        out.print(
            f"pulled {result.source.name} → {result.path} ({format_size(result.size)}, {result.algorithm} "
            "verified against the hub)",
            markup=False,
            highlight=False,
        )
    import shlex

    out.print(
        f"serve it: edubot serve --model {shlex.quote(str(result.path))}", markup=False, highlight=False
    )
