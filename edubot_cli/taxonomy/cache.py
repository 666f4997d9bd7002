"""Content-hash cache of per-file validation results in the user cache directory (one SQLite file).

The key covers the file's bytes, its schema folder, ``--strict`` and the versions of edubot, instructlab-schema,
yamllint and jsonschema, so an upgrade or a different flag never reuses a stale verdict.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from ..fileio import cache_dir
from .checks import ContentResult

CACHE_FORMAT = 1
CACHE_FILE = "taxonomy-validate.sqlite3"


@functools.lru_cache(maxsize=1)
def _salt() -> bytes:
    versions = []
    for dist in ("edubot", "instructlab-schema", "yamllint", "jsonschema", "PyYAML"):
        try:
            versions.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist}=?")
    return f"{CACHE_FORMAT};{';'.join(versions)}".encode()


def key(raw: bytes, folder: str | None, strict: bool) -> str:
    """Cache key of one file's content check."""
    digest = hashlib.sha256(_salt())
    digest.update(f";{folder};{int(strict)};".encode())
    digest.update(raw)
    return digest.hexdigest()


class ResultCache:
    """Get and put ``ContentResult``s by key; any storage problem disables the cache and is noted, not raised."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or cache_dir()) / CACHE_FILE
        self.problem: str | None = None
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10)
            self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as exc:
            self._disable(exc)

    def _disable(self, exc: Exception) -> None:
        self.problem = f"cache disabled ({self.path}: {exc})"
        if self._db is not None:
            self._db.close()
        self._db = None

    def get_many(self, keys: Iterable[str]) -> dict[str, ContentResult]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, ContentResult] = {}
        if self._db is None or not wanted:
            return found
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, value FROM results WHERE key IN ({marks})", chunk)
                for k, value in rows:
                    found[k] = ContentResult.from_dict(json.loads(value))
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            self._disable(exc)
            return {}
        return found

    def put_many(self, items: dict[str, ContentResult]) -> None:
        if self._db is None or not items:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)",
                    [(k, json.dumps(r.to_dict())) for k, r in items.items()],
                )
        except sqlite3.Error as exc:
            self._disable(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
