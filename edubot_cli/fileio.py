"""Writing a file so that readers see either the old content or the new, never half of it."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

CACHE_ENV = "EDUBOT_CACHE_DIR"


def cache_dir() -> Path:
    """edubot's cache folder: ``$EDUBOT_CACHE_DIR``, else platformdirs' user cache directory
    (``$XDG_CACHE_HOME/edubot`` on Linux). Validation verdicts and the engine build live here."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("edubot", appauthor=False))


def utc_stamp(moment: datetime) -> str:
    """``20261129T120000Z``: a moment in UTC, as file names carry it."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``<folder>/<stem><suffix>``, or ``<stem>-2<suffix>``, ``-3`` ... when that name is taken (two runs in one
    second)."""
    path = folder / f"{stem}{suffix}"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


def _default_mode(path: Path) -> int:
    # mkstemp creates 0600 files; keep an existing file's mode, else use what open() would give (0666 - umask).
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Write ``data`` (str as UTF-8) to ``path`` through a flushed temp file in the same folder and a rename.

    The folder must exist. ``OSError`` propagates for the caller to word; the temp file is removed on any failure,
    Ctrl-C included.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = path.parent if str(path.parent) else Path(".")
    final_mode = _default_mode(path) if mode is None else mode
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, final_mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
