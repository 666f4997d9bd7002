"""Run records: a JSON file written next to the data after every ``ilab`` run, saying what made it.

A record holds the command line, the edubot and ilab versions, a content hash of the taxonomy, ilab's exit code
and the files the run produced (path relative to the record's folder, bytes, and records for ``.jsonl``).
``edubot data list`` reads them back to say which run made which dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import LabError
from ..fileio import unique_path, utc_stamp, write_atomic

RECORD_PREFIX = "edubot-run-"
RECORD_FORMAT = 1
SKIP_DIRS = {".git", "__pycache__"}

Snapshot = dict[str, tuple[int, int]]
"""Relative path -> (size, mtime_ns) of every file under a folder."""


def taxonomy_hash(root: Path) -> str:
    """``sha256:<hex>`` over the relative path and bytes of every file in the taxonomy (hidden folders skipped).

    Two taxonomies with the same files and contents hash the same wherever they live.
    """
    digest = hashlib.sha256()
    if root.is_file():
        digest.update(root.name.encode() + b"\0" + root.read_bytes())
        return "sha256:" + digest.hexdigest()
    files: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in names:
            path = Path(folder, name)
            files.append((path.relative_to(root).as_posix(), path))
    for relative, path in sorted(files):
        data = path.read_bytes()
        digest.update(relative.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return "sha256:" + digest.hexdigest()


def snapshot(root: Path) -> Snapshot:
    """Size and modification time of every file under ``root`` (empty when it does not exist)."""
    found: Snapshot = {}
    if not root.is_dir():
        return found
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in names:
            path = Path(folder, name)
            try:
                stat = path.stat()
            except OSError:
                continue
            found[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def count_records(path: Path) -> int:
    """Non-empty lines of a ``.jsonl`` file (one record each), counted without parsing."""
    count = 0
    with path.open("rb") as stream:
        for line in stream:
            if line.strip():
                count += 1
    return count


def produced(root: Path, before: Snapshot) -> list[dict[str, Any]]:
    """Files under ``root`` that are new or changed since ``before`` (run records excluded), sorted by path."""
    after = snapshot(root)
    files = []
    for relative, (size, mtime) in sorted(after.items()):
        if before.get(relative) == (size, mtime) or Path(relative).name.startswith(RECORD_PREFIX):
            continue
        entry: dict[str, Any] = {"path": relative, "bytes": size}
        if relative.endswith(".jsonl"):
            entry["records"] = count_records(root / relative)
        files.append(entry)
    return files


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def record_path(folder: Path, kind: str, started: datetime) -> Path:
    """``<folder>/edubot-run-<kind>-<UTC time>.json`` (a numeric suffix when two runs share a second)."""
    return unique_path(folder, f"{RECORD_PREFIX}{kind}-{utc_stamp(started)}", ".json")


def write_record(path: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as indented JSON atomically (temp file + rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(record, indent=2) + "\n")
    except OSError as exc:
        raise LabError(
            f"cannot write the run record {path}: {exc.strerror}", hint="check the folder"
        ) from exc
    return path


@dataclass(frozen=True)
class StoredRecord:
    """A run record read back from disk."""

    path: Path
    data: dict[str, Any]

    @property
    def files(self) -> list[str]:
        return [str(f.get("path")) for f in self.data.get("files_produced", []) if isinstance(f, dict)]


def read_records(folders: Iterable[Path]) -> list[StoredRecord]:
    """Every readable run record directly inside ``folders``, oldest first (unreadable ones are skipped)."""
    records = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"{RECORD_PREFIX}*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                records.append(StoredRecord(path, data))
    return records
