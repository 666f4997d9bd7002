"""`edubot engine build`: the embedded CPU engine (llama.cpp's llama-server), built portably once."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..console import rich_console
from ._common import settings as load

app = typer.Typer(help="The embedded CPU engine (llama.cpp's llama-server).", no_args_is_help=True)


@app.command("build")
def build(
    ctx: typer.Context,
    cpu: str | None = typer.Option(
        None,
        "--cpu",
        help="CPU profile: x86-64-v3 (AVX2, the default on x86-64), x86-64-v2 (no AVX, for older CPUs) or "
        "armv8.2-a (the default on ARM). An explicit profile may be built for other machines.",
    ),
    force: bool = typer.Option(False, "--force", help="Build again even if this version is already built."),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1, help="Parallel compile jobs (default: all CPUs)."
    ),
) -> None:
    """Build llama-server from the pinned llama.cpp source for a portable CPU profile, or reuse the build; and
    store the embedded model as the engine serves it (Q8_0, about 4 seconds, once).

    The build (about 7 minutes on 2 cores) is kept in edubot's cache folder per version and profile and copied
    into the environment's bin/; later runs reuse it in a second. `make install` runs this.

    Examples:

      edubot engine build

      edubot engine build --cpu x86-64-v2 --force
    """
    from rich.markup import escape

    from ..engines.embedded import served_file
    from ..engines.llama_build import SOURCE_PACKAGE, SOURCE_VERSION, build, profile_named
    from ..engines.llama_cpp import embedded_model

    settings = load(ctx)
    profile = profile_named(cpu)
    console = rich_console(stderr=True)
    log = Path(settings.logs_dir) / f"engine-build-{time.strftime('%Y%m%d-%H%M%S')}.log"
    with console.status(f"llama-server for {profile.name}") as status:

        def progress(line: str) -> None:
            status.update(f"building llama-server for {profile.name}: {escape(line[-100:])}")

        built = build(profile, force=force, jobs=jobs, log=log, progress=progress, explicit=cpu is not None)
    minutes, seconds = divmod(round(built.seconds), 60)
    how = "reused the build" if built.reused else f"built in {minutes} min {seconds:02d} s"
    console.print(
        f"[green]llama-server[/] ({SOURCE_PACKAGE} {SOURCE_VERSION}, {profile.name}: {profile.note}) {how}"
    )
    with console.status("the embedded model for batched serving (Q8_0)"):
        served = served_file(embedded_model())
    how = "ready" if served.seconds is None else f"converted from Q4_1 in {served.seconds:.1f} s"
    console.print(f"[green]embedded model[/] {served.path.name} {how}")
    typer.echo(str(built.binary))
