"""`edubot class`: classes with join codes, the teacher key, and the record (export, purge)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..console import rich_console
from ..errors import UsageError
from ._common import TableOrJson, echo_json, format_option, settings

if TYPE_CHECKING:
    from ..classroom.store import ClassInfo, Store, StudentSummary
    from ..config import Settings

app = typer.Typer(
    help="Classes: join codes for students, the teacher key, and the record of what was asked (export, purge).",
    no_args_is_help=True,
)


class Mode(StrEnum):
    answer = "answer"
    hints = "hints"
    quiz = "quiz"


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


NAME = typer.Argument(..., help="The class's name (case does not matter).", show_default=False)


@contextlib.contextmanager
def _store(ctx: typer.Context) -> Iterator[Store]:
    from ..classroom.store import Store

    store = Store.open(settings(ctx))
    try:
        yield store
    finally:
        store.close()


def _when(moment: datetime | None) -> str:
    """A stored time as this machine's local time, to the minute."""
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _class_json(info: ClassInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "code": info.code,
        "mode": info.mode,
        "scope": list(info.scope),
        "daily_limit": info.daily_limit,
        "open": info.open,
        "created": info.created.isoformat(),
    }


def _student_json(summary: StudentSummary) -> dict[str, Any]:
    return {
        "id": summary.student.id,
        "nickname": summary.student.nickname,
        "joined": summary.student.created.isoformat(),
        "last_active": summary.last_active.isoformat() if summary.last_active else None,
        "messages": summary.messages,
        "flags": summary.flags,
    }


def _join_urls(config: Settings) -> tuple[list[str], str | None]:
    """The URLs students open, and a note when the backend would not be reachable from their devices."""
    from ..serving import network_urls

    urls = network_urls(config.host, config.port)
    if urls:
        return urls, None
    if config.host in ("0.0.0.0", "::", ""):
        return [f"http://<this machine's address>:{config.port}"], None
    would_be = network_urls("0.0.0.0", config.port) or [f"http://<this machine's address>:{config.port}"]
    note = (
        f"the backend listens on {config.host} only (this machine): students need "
        f"`edubot serve --host 0.0.0.0`, then they open {' or '.join(would_be)}"
    )
    return [], note


def _print_class(info: ClassInfo) -> None:
    from rich.markup import escape

    out = rich_console()
    scope = ", ".join(info.scope) or "the whole taxonomy"
    limit = f"{info.daily_limit} questions a day" if info.daily_limit else "no daily limit"
    state = "[green]open[/]" if info.open else "[red]closed[/]"
    out.print(f"[bold]{escape(info.name)}[/] ({state}) · mode {info.mode} · scope {escape(scope)} · {limit}")
    out.print(f"Join code: [bold]{info.code}[/]")


@app.command()
def create(
    ctx: typer.Context,
    name: str = NAME,
    mode: Mode = typer.Option(
        Mode.answer, "--mode", help="How the chatbot helps: answer, hints (no full answers) or quiz."
    ),
    scope: list[str] = typer.Option(
        [],
        "--scope",
        help="Taxonomy folder the class's questions stay within (repeatable; default: the whole taxonomy).",
        show_default=False,
    ),
    daily_limit: int | None = typer.Option(
        None, "--daily-limit", min=1, help="Questions per student per day (default: no limit)."
    ),
    output: TableOrJson = format_option(),
) -> None:
    """Create a class and print its join code and the address students open.

    Students open the address, type the code and a nickname, and chat; the teacher watches at /teacher
    (`edubot class teacher-key`).

    Examples:

      edubot class create "7B science"

      edubot class create "7B science" --mode hints --scope knowledge/science --daily-limit 30
    """
    from ..classroom import validate

    config = settings(ctx)
    checked = validate.scope(scope, config.taxonomy_path)
    with _store(ctx) as store:
        info = store.create_class(name, mode=mode.value, scope=checked, daily_limit=daily_limit)
    urls, note = _join_urls(config)
    if output is TableOrJson.json:
        echo_json({"class": _class_json(info), "urls": urls, "note": note})
        return
    _print_class(info)
    out = rich_console()
    for url in urls:
        out.print(f"Students open: [bold]{url}[/]", markup=True)
    if note:
        rich_console(stderr=True).print(f"[yellow]note:[/] {note}", markup=True)


@app.command("list")
def list_(ctx: typer.Context, output: TableOrJson = format_option()) -> None:
    """List the classes with their join codes.

    Examples:

      edubot class list

      edubot class list --format json
    """
    with _store(ctx) as store:
        infos = store.classes()
        counts = {info.id: len(store.students(info.id)) for info in infos}
    if output is TableOrJson.json:
        echo_json({"classes": [{**_class_json(i), "students": counts[i.id]} for i in infos]})
        return
    if not infos:
        rich_console().print('No classes yet: `edubot class create "7B science"` makes one.')
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for column in ("name", "code", "state", "mode", "students", "daily limit", "scope", "created"):
        table.add_column(column, overflow="fold")
    for info in infos:
        table.add_row(
            escape(info.name),
            info.code,
            "open" if info.open else "closed",
            info.mode,
            str(counts[info.id]),
            str(info.daily_limit or "-"),
            escape(", ".join(info.scope) or "-"),
            _when(info.created),
        )
    rich_console().print(table)


@app.command()
def show(ctx: typer.Context, name: str = NAME, output: TableOrJson = format_option()) -> None:
    """Show a class: its code, settings, today's numbers and its students.

    Examples:

      edubot class show "7B science"

      edubot class show "7B science" --format json
    """
    with _store(ctx) as store:
        info = store.get_class(name)
        students = store.students(info.id)
        today = store.class_stats(info.id, datetime.now().astimezone().date())
    if output is TableOrJson.json:
        echo_json(
            {"class": _class_json(info), "today": today, "students": [_student_json(s) for s in students]}
        )
        return
    from rich.markup import escape
    from rich.table import Table

    _print_class(info)
    out = rich_console()
    out.print(
        f"Today: {today['questions_today']} questions from {today['active_students']} students, "
        f"{today['ungrounded_answers']} answers without grounding, {today['refusals']} refusals"
    )
    if not students:
        out.print("No students yet.")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("nickname", "joined", "last active", "messages", "flagged"):
        table.add_column(column, overflow="fold")
    for summary in students:
        table.add_row(
            escape(summary.student.nickname),
            _when(summary.student.created),
            _when(summary.last_active),
            str(summary.messages),
            str(summary.flags),
        )
    out.print(table)


def _changed(info: ClassInfo, output: TableOrJson, line: str) -> None:
    if output is TableOrJson.json:
        echo_json({"class": _class_json(info)})
    else:
        rich_console().print(line, markup=False)


@app.command()
def close(ctx: typer.Context, name: str = NAME, output: TableOrJson = format_option()) -> None:
    """Close a class: nobody can join, and every student's session ends at once.

    Example: edubot class close "7B science"
    """
    with _store(ctx) as store:
        info = store.set_open(name, False)
    _changed(
        info, output, f"Closed {info.name}: students can no longer join or chat, and every session ended."
    )


@app.command()
def reopen(ctx: typer.Context, name: str = NAME, output: TableOrJson = format_option()) -> None:
    """Open a closed class again (students join again, with the same code).

    Example: edubot class reopen "7B science"
    """
    with _store(ctx) as store:
        info = store.set_open(name, True)
    _changed(info, output, f"Reopened {info.name}: students join with code {info.code}.")


@app.command("rotate-code")
def rotate_code(ctx: typer.Context, name: str = NAME, output: TableOrJson = format_option()) -> None:
    """Give a class a new join code: the old one stops working at once; students who joined stay.

    Example: edubot class rotate-code "7B science"
    """
    with _store(ctx) as store:
        info = store.rotate_code(name)
    _changed(info, output, f"New join code for {info.name}: {info.code} (the old code no longer works).")


@app.command("teacher-key")
def teacher_key(
    ctx: typer.Context,
    rotate: bool = typer.Option(
        False, "--rotate", help="Make a new key: the old one and every teacher session stop working."
    ),
    output: TableOrJson = format_option(),
) -> None:
    """Make the key that opens the teacher's page (/teacher). It is shown once and stored hashed.

    With a key already made, says when, and `--rotate` makes a new one.

    Examples:

      edubot class teacher-key

      edubot class teacher-key --rotate
    """
    from ..serving import public_url

    config = settings(ctx)
    page = f"{public_url(config.host, config.port)}/teacher"
    with _store(ctx) as store:
        made = store.teacher_key_info()
        key = store.new_teacher_key() if rotate or made is None else None
        created = store.teacher_key_info()
    if output is TableOrJson.json:
        echo_json({"key": key, "created": created.isoformat() if created else None, "page": page})
        return
    out = rich_console()
    if key is None:
        out.print(
            f"A teacher key exists (made {_when(made)}); it is stored hashed and cannot be shown again."
        )
        out.print("`edubot class teacher-key --rotate` makes a new one (the old one stops working).")
        return
    out.print("Teacher key (shown only now: keep it somewhere safe):")
    out.print(key, markup=False)
    out.print(f"Open {page} and type it.", markup=False)


@app.command()
def export(
    ctx: typer.Context,
    name: str = NAME,
    fmt: ExportFormat = format_option(ExportFormat.jsonl),
    since: str | None = typer.Option(
        None, "--since", help="Only messages from this date (YYYY-MM-DD, this machine's day) or time on."
    ),
    out: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write to this file (atomically) instead of the standard output.",
        dir_okay=False,
    ),
    force: bool = typer.Option(False, "--force", help="Replace the -o file if it exists."),
) -> None:
    """Export a class's record: one row per message (class, student, conversation, role, text, sources, mode,
    grounded, tokens, timings, finish reason, flags, time).

    Examples:

      edubot class export "7B science" -o 7b.jsonl

      edubot class export "7B science" --format csv --since 2026-03-01 > 7b.csv
    """
    from ..classroom import validate
    from ..classroom.export import write_file, write_rows

    start = validate.since(since) if since is not None else None
    with _store(ctx) as store:
        rows = store.export(name, since=start)
        if out is None:
            write_rows(rows, fmt.value, sys.stdout)
            return
        count = write_file(rows, fmt.value, out, force=force)
    rich_console(stderr=True).print(f"wrote {count} messages to {out}", markup=False)


def _interactive() -> bool:
    return sys.stdin.isatty()


@app.command()
def purge(
    ctx: typer.Context,
    name: str = NAME,
    student: str | None = typer.Option(
        None,
        "--student",
        help="Only this student's messages (their nickname); with no --older-than, the student too.",
    ),
    older_than: str | None = typer.Option(
        None, "--older-than", help="Only messages older than this: 30d, 12h, 2w."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a class's messages for good: all, one student's, or those older than a duration.

    Asks first on a terminal; elsewhere needs --yes.

    Examples:

      edubot class purge "7B science" --older-than 30d

      edubot class purge "7B science" --student Ana --yes
    """
    from ..classroom import validate

    age = validate.duration(older_than) if older_than is not None else None
    what = "every message" if student is None else f"every message of {student!r}"
    if age is not None:
        what += f" older than {older_than}"
    with _store(ctx) as store:
        info = store.get_class(name)
        if not yes:
            if not _interactive():
                raise UsageError(
                    f"purge would delete {what} in {info.name}: confirm with --yes",
                    hint="nothing was deleted; run it on a terminal to be asked, or add --yes",
                )
            if not typer.confirm(f"Delete {what} in {info.name}? This cannot be undone.", default=False):
                rich_console(stderr=True).print("nothing deleted", markup=False)
                raise typer.Exit(1)
        removed = store.purge(info.name, student=student, older_than=age)
    plural = "message" if removed == 1 else "messages"
    rich_console().print(f"Removed {removed} {plural} from {info.name}.", markup=False)
