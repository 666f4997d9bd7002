"""`edubot taxonomy`: add, validate, list and index qna.yaml seed data."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..console import rich_console
from ._common import TableOrJson, echo_json, format_option, settings, taxonomy_option

if TYPE_CHECKING:
    from ..grounding.index import IndexReport
    from ..taxonomy.findings import Report
    from ..taxonomy.seeds import Prompt
    from ..taxonomy.stats import TaxonomyStats

app = typer.Typer(help="Write, validate, list and index taxonomy qna.yaml seed data.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    github = "github"


class ListFormat(StrEnum):
    tree = "tree"
    json = "json"


class Kind(StrEnum):
    knowledge = "knowledge"
    skill = "skill"


def _count(n: int, noun: str, plural: str = "") -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _summary(report: Report, cached: str = "") -> str:
    checked = _count(report.files_checked, "file")
    return (
        f"{checked} checked{cached}: {_count(report.errors, 'error')}, {_count(report.warnings, 'warning')}"
    )


@app.command()
def validate(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(None, help="Files or folders to check (default: the taxonomy root)."),
    strict: bool = typer.Option(
        False, "--strict", help="Treat yamllint warnings as errors (as `ilab taxonomy diff`)."
    ),
    output: Format = format_option(Format.table),
    changed: bool = typer.Option(
        False, "--changed", help="Only qna.yaml files changed against git (untracked too)."
    ),
    base: str | None = typer.Option(
        None, "--base", help="Git ref for --changed (default: merge base with origin/main, else HEAD)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Re-check every file; ignore cached results."),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1, help="Worker processes (default: all cores)."
    ),
) -> None:
    """Check qna.yaml files as InstructLab does, with line:col, rule id and a fix hint for each finding.

    Exit code 0 when there are no errors (warnings allowed), 1 otherwise.

    Example: edubot taxonomy validate taxonomy/knowledge --strict --format github
    """
    from ..taxonomy.findings import github_line
    from ..taxonomy.validate import validate as run_validate

    targets = paths or [settings(ctx).taxonomy_path]
    report = run_validate(
        targets, strict=strict, use_cache=not no_cache, changed=changed, base=base, jobs=jobs
    )
    err = rich_console(stderr=True)
    for note in report.notes:
        err.print(f"[dim]{note}[/]")
    if output is Format.json:
        echo_json(report.to_dict())
    elif output is Format.github:
        for item in report.findings:
            typer.echo(github_line(item))
        typer.echo(_summary(report))
    else:
        _render_table(report)
    if not report.ok:
        raise typer.Exit(1)


def _render_table(report: Report) -> None:
    """Findings grouped by file, one line each (``file:line:col: severity [rule] message (path)``, never
    broken by rich, so that editors and terminals can open the location), each followed by its hint unless
    that hint (or a '; '-separated part of it) was already shown for the file."""
    from rich.markup import escape

    from ..taxonomy.findings import by_file

    console = rich_console()
    for file, items in by_file(report.findings):
        shown: set[str] = set()  # '; '-separated parts of hints already shown for this file
        for item in items:
            colour = "red" if item.severity == "error" else "yellow"
            where = f" ({item.yaml_path})" if item.yaml_path else ""
            console.print(
                f"[bold]{escape(f'{file}:{item.line}:{item.col}:')}[/] [{colour}]{item.severity}[/] "
                + escape(f"[{item.rule}] {item.message}{where}"),
                soft_wrap=True,
            )
            fresh = [part for part in item.hint.split("; ") if part and part not in shown]
            shown.update(fresh)
            if fresh:
                console.print(f"  [green]hint:[/] {escape('; '.join(fresh))}", soft_wrap=True)
        console.print()
    status = "[green]ok[/]" if report.ok else "[red]failed[/]"
    cached = f", {report.cache_hits} from cache" if report.cache_hits else ""
    console.print(f"{status}: {_summary(report, cached)}")


def _prompter() -> Prompt | None:
    """Ask on the terminal when there is one; otherwise missing values are errors."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    from ..taxonomy.prompting import line_prompter

    return line_prompter(input, tip=lambda text: typer.echo(text, err=True))


@app.command()
def add(
    ctx: typer.Context,
    path: str = typer.Argument(
        ..., help="Leaf folder under the taxonomy, e.g. knowledge/science/photosynthesis."
    ),
    kind: Kind | None = typer.Option(
        None, "--kind", "-k", help="knowledge or skill (default: from the path)."
    ),
    source: Path | None = typer.Option(
        None, "--from", help="Seed examples from a CSV, JSONL or (simplified) qna.yaml file.", dir_okay=False
    ),
    documents: list[Path] = typer.Option(
        [],
        "--document",
        "-d",
        dir_okay=False,
        help="Knowledge: your document (Markdown, text, PDF or Word .docx; repeatable). edubot keeps it in the "
        "project's knowledge_docs/ git repository and fills --repo, --commit and --pattern itself.",
    ),
    created_by: str | None = typer.Option(
        None,
        "--created-by",
        help="Your name or GitHub user name (default: from git's config, else your login).",
    ),
    domain: str | None = typer.Option(None, "--domain", help="Knowledge: the domain, e.g. Biology."),
    outline: str | None = typer.Option(None, "--outline", help="Knowledge: document_outline, a summary."),
    repo: str | None = typer.Option(None, "--repo", help="Knowledge: git repository URL of the document."),
    commit: str | None = typer.Option(None, "--commit", help="Knowledge: commit of that repository."),
    pattern: list[str] = typer.Option([], "--pattern", help="Knowledge: document file glob (repeatable)."),
    task_description: str | None = typer.Option(None, "--task-description", help="Skill: what it teaches."),
    attribution_title: str | None = typer.Option(None, "--attribution-title", help="attribution.txt: title."),
    attribution_link: str | None = typer.Option(None, "--attribution-link", help="attribution.txt: link."),
    license_: str | None = typer.Option(
        None, "--license", help="attribution.txt: license (default CC-BY-4.0)."
    ),
    creators: str | None = typer.Option(None, "--creators", help="attribution.txt: creator names."),
    taxonomy: Path | None = taxonomy_option(),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the qna.yaml instead of writing it."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing qna.yaml / attribution.txt."),
) -> None:
    """Write a valid version 3 qna.yaml and attribution.txt; asks on a terminal for what the flags did not give.

    A knowledge leaf is about a document: give your file with --document (it is kept and indexed for you), or a
    git repository that already holds it with --repo, --commit and --pattern.

    Examples:

      edubot taxonomy add knowledge/school/trip --document trip.pdf --from questions.csv --domain School

      edubot taxonomy add knowledge/science/photosynthesis --from seeds.csv --domain Biology
      --repo https://github.com/alice/docs --commit 1a2b3c4 --pattern photosynthesis.md
    """
    from ..taxonomy.scaffold import AddRequest, add_leaf

    root = taxonomy or settings(ctx).taxonomy_path
    request = AddRequest(
        path=path,
        kind=kind.value if kind else None,
        source=source,
        created_by=created_by,
        domain=domain,
        document_outline=outline,
        repo=repo,
        commit=commit,
        patterns=pattern,
        documents=documents,
        task_description=task_description,
        attribution_title=attribution_title,
        attribution_link=attribution_link,
        license=license_,
        creators=creators,
    )
    prompt = _prompter()
    draft = None
    if prompt is not None:
        from ..taxonomy.scaffold import start_draft

        draft, prompt = start_draft(request, prompt)
    try:
        result = add_leaf(request, root, prompt=prompt, dry_run=dry_run, force=force)
    except (Exception, KeyboardInterrupt) as exc:
        if draft is not None and draft.answers:
            typer.echo(
                f"your answers are kept in {draft.path}: run the same command again to pick them up", err=True
            )
        if isinstance(exc, EOFError):
            from ..errors import UsageError

            raise UsageError(
                "input ended before every question was answered", hint="run it again to resume"
            ) from None
        raise
    if draft is not None:
        draft.discard()
    if dry_run:
        typer.echo(result.yaml_text, nl=False)
        return
    from rich.markup import escape

    console = rich_console()
    console.print(f"[green]wrote[/] {escape(str(result.qna_path))}")
    console.print(f"[green]wrote[/] {escape(str(result.attribution_path))}")
    for item in result.warnings:
        where = f"{result.qna_path}:{item.line}:{item.col}"
        console.print(f"[yellow]warning:[/] {escape(f'{where} [{item.rule}] {item.message}')}")
    for kept in result.documents:
        console.print(f"[green]kept[/] {escape(str(kept))} (commit {result.documents_commit[:7]})")
    if (kind.value if kind else result.qna_path.relative_to(root).parts[0]) == "knowledge":
        from ..grounding.index import build_index

        report = build_index(root, docs_dir=settings(ctx).grounding_docs_dir)
        console.print(f"indexed: {sum(report.passages.values())} passages for grounded answers", markup=False)
    question = result.first_question.replace("\n", " ")
    console.print(
        "next: run `edubot serve`, open http://localhost:8000 and ask"
        + (f" “{escape(question)}”" if question else " a question about it"),
        soft_wrap=True,
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    stats: bool = typer.Option(False, "--stats", help="Add word counts per leaf and totals."),
    output: ListFormat = format_option(ListFormat.tree),
    taxonomy: Path | None = taxonomy_option(),
) -> None:
    """Show the taxonomy as a tree: kind, version and seed examples per leaf (--stats: words and totals).

    Example: edubot taxonomy list --stats
    """
    from ..taxonomy.stats import collect

    result = collect(taxonomy or settings(ctx).taxonomy_path)
    if output is ListFormat.json:
        echo_json(result.to_dict())
        return
    _render_tree(result, stats)


def _render_tree(result: TaxonomyStats, stats: bool) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    tree = Tree(f"[bold]{escape(result.root)}[/]")
    branches: dict[tuple[str, ...], Tree] = {(): tree}
    for leaf in result.leaves:
        parts = tuple(Path(leaf.path).parts)
        for depth in range(1, len(parts)):
            key = parts[:depth]
            if key not in branches:
                branches[key] = branches[key[:-1]].add(escape(parts[depth - 1]))
        version = f"v{leaf.version}" if leaf.version is not None else "v?"
        detail = f"{leaf.kind} {version}, {_count(leaf.seed_examples, 'seed example')}"
        if stats:
            detail += f", {leaf.qna_pairs} Q&A, {leaf.words} words ({leaf.context_words} context)"
        if not leaf.readable:
            detail = f"{leaf.kind}, [red]unreadable: run `edubot taxonomy validate`[/]"
        branches[parts[:-1]].add(f"[bold]{escape(parts[-1] if parts else leaf.path)}[/] [dim]{detail}[/]")
    console = rich_console()
    # Laid out without a width limit: on a narrow terminal a long line wraps there, it is never cut or folded.
    with console.capture() as captured:
        wide, console.width = console.width, 10_000
        console.print(tree)
        console.width = wide
    console.file.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")
    totals = result.totals()
    line = f"{_count(totals['leaves'], 'leaf', 'leaves')}, {_count(totals['seed_examples'], 'seed example')}"
    if stats:
        line += f", {_count(totals['qna_pairs'], 'Q&A pair')}, {_count(totals['words'], 'word')}"
    console.print(line)


@app.command()
def index(
    ctx: typer.Context,
    path: Path | None = typer.Argument(None, help="Taxonomy root (default: taxonomy_path)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Index every file afresh, not only what changed."),
    output: TableOrJson = format_option(),
    index_file: Path | None = typer.Option(
        None, "--index", dir_okay=False, help="Index file (default: in the user cache, one per taxonomy)."
    ),
    docs: Path | None = typer.Option(
        None,
        "--docs",
        file_okay=False,
        help="Folder of checkouts of remote knowledge document repos: <DOCS>/<repo name>.",
    ),
) -> None:
    """Build or refresh the retrieval index that grounds chat answers in the taxonomy (SQLite FTS5, BM25).

    Indexes every knowledge context with its Q&A, every skill example and the markdown documents of knowledge
    leaves whose document repo is on this machine. Only changed files are read again. Files that cannot be
    parsed are skipped and listed; the rest is indexed (exit code 0).

    Example: edubot taxonomy index --docs ~/src
    """
    from ..grounding.index import build_index

    root = path if path is not None else settings(ctx).taxonomy_path
    report = build_index(root, path=index_file, docs_dir=docs, rebuild=rebuild)
    if output is TableOrJson.json:
        echo_json(report.to_dict())
        return
    _render_index(report)


def _render_index(report: IndexReport) -> None:
    console = rich_console()
    files = (
        f"files: {report.read} read, {report.unchanged} unchanged, {len(report.skipped)} skipped, "
        f"{report.removed} removed"
    )
    passages = ", ".join(f"{n} {kind}" for kind, n in report.passages.items())
    total = sum(report.passages.values())
    console.print(f"index {report.index}" + (" (rebuilt)" if report.rebuilt else ""), markup=False)
    console.print(files, markup=False)
    console.print(f"passages: {passages} ({total} in all)", markup=False)
    if report.held_out:
        console.print(f"held out: {_count(report.held_out, 'Q&A pair')}", markup=False)
    for item in report.skipped:
        console.print(
            f"skipped {item.file}:{item.line}:{item.col} [{item.rule}] {item.message}", markup=False
        )
    for item in report.warnings:
        console.print(
            f"warning {item.file}:{item.line}:{item.col} [{item.rule}] {item.message}", markup=False
        )
    if report.remote_documents:
        leaves = _count(report.remote_documents, "knowledge leaf", "knowledge leaves")
        one = report.remote_documents == 1
        its, docs = ("its", "document") if one else ("their", "documents")
        console.print(
            f"{leaves}: {its} {docs} {'is' if one else 'are'} on the internet (a git repository), which edubot "
            f"does not download. {its.capitalize()} questions and answers are indexed; to ground answers in the "
            f"{docs} too, download (git clone) "
            "each repository into one folder and pass it with --docs FOLDER (or set grounding_docs_dir). "
            "Your own files: `edubot taxonomy add --document FILE` keeps them on this computer.",
            markup=False,
            soft_wrap=True,
        )
    console.print(f"took {report.seconds:.2f} s", markup=False)
