"""`edubot init`."""

from __future__ import annotations

from pathlib import Path

import typer

from ..console import rich_console


def init(
    folder: Path = typer.Argument(Path("."), help="The project folder (created if missing; default: here)."),
    with_samples: bool = typer.Option(
        False, "--with-samples", help="Copy edubot's sample leaves into the taxonomy (to try it out)."
    ),
    force: bool = typer.Option(False, "--force", help="Write a fresh settings file over an existing one."),
) -> None:
    """Start a project for your class: settings, an empty taxonomy, models/, data/ and the next steps.

    Examples:

      edubot init year9-science

      edubot init demo --with-samples
    """
    from rich.markup import escape

    from ..project_init import init_project

    result = init_project(folder, with_samples=with_samples, force=force)
    console = rich_console()
    for path in result.created:
        console.print(f"[green]created[/] {escape(str(path))}{'/' if path.is_dir() else ''}")
    if result.samples:
        console.print(
            f"[green]copied[/] {len(result.samples)} sample leaves into {escape(str(folder / 'taxonomy'))}/"
        )
    there = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder}\n  "
    console.print(
        "next (also in README.md there):\n"
        f"  {there}edubot taxonomy add knowledge/<subject>/<topic> --document your-notes.pdf\n"
        "  edubot serve          # then open http://localhost:8000",
        markup=False,
        highlight=False,
    )
