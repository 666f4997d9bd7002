"""Writing a class's record (``Store.export`` rows) as JSON Lines or CSV: to a stream, or to a file that appears
only when complete (a temp file in the same folder, renamed into place) and never replaces one without ``force``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from ..errors import ClassroomError

FORMATS = ("jsonl", "csv")
COLUMNS = (
    "id",
    "class",
    "student",
    "conversation",
    "role",
    "text",
    "sources",
    "mode",
    "grounded",
    "prompt_tokens",
    "completion_tokens",
    "first_token_s",
    "latency_s",
    "finish_reason",
    "flags",
    "time",
)


def _csv_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "sources":
        return json.dumps(value, ensure_ascii=False) if value else ""
    if name == "flags":
        return ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO) -> int:
    """Write ``rows`` to ``out`` as ``jsonl`` (one JSON object a line) or ``csv`` (a header, then one row a
    message; sources as JSON, flags joined by ``;``, no value as an empty cell); how many rows."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(name, row.get(name)) for name in COLUMNS])
        count += 1
    return count


def write_file(rows: Iterable[dict[str, Any]], fmt: str, path: Path, *, force: bool = False) -> int:
    """``write_rows`` into ``path``, atomically; an existing file is replaced only with ``force``."""
    if path.exists() and not force:
        raise ClassroomError(
            f"{path}: already exists", hint="pass --force to replace it, or choose another -o FILE"
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ClassroomError(f"{folder}: no such folder", hint="create it first, or choose another -o FILE")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            count = write_rows(rows, fmt, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # children's words: readable by this user only, like the database
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ClassroomError(
                f"cannot write {path}: {exc.strerror}", hint="choose another -o FILE"
            ) from exc
        raise
    return count
