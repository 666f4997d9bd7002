"""write_atomic: readers see the old file or the new one, never a half-written one or a stray temp file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edubot_cli import fileio
from edubot_cli.fileio import write_atomic


def test_new_file_gets_the_umask_mode_and_utf8_text(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "a.txt", "café\n")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_bytes() == "café\n".encode()
    assert (tmp_path / "a.txt").stat().st_mode & 0o7777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_existing_file_keeps_its_mode_and_explicit_mode_wins(tmp_path: Path) -> None:
    target = tmp_path / "b.bin"
    target.write_bytes(b"old")
    target.chmod(0o600)
    write_atomic(target, b"new")
    assert (target.read_bytes(), target.stat().st_mode & 0o7777) == (b"new", 0o600)
    write_atomic(target, b"newer", mode=0o644)
    assert (target.read_bytes(), target.stat().st_mode & 0o7777) == (b"newer", 0o644)


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failure_keeps_the_old_content_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    target = tmp_path / "c.txt"
    target.write_text("old\n")

    def fail(fd: int) -> None:
        raise failure

    monkeypatch.setattr(fileio.os, "fsync", fail)
    with pytest.raises(type(failure)):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


def test_a_missing_folder_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "d.txt", "x")


def test_unique_path_numbers_names_already_taken(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from edubot_cli.fileio import unique_path, utc_stamp

    assert (
        utc_stamp(datetime(2026, 11, 29, 13, 0, 5, tzinfo=timezone(timedelta(hours=1)))) == "20261129T120005Z"
    )
    assert utc_stamp(datetime(2026, 11, 29, 12, 0, 5, tzinfo=UTC)) == "20261129T120005Z"
    first = unique_path(tmp_path, "run-x", ".json")
    assert first == tmp_path / "run-x.json"
    first.write_text("{}")
    second = unique_path(tmp_path, "run-x", ".json")
    assert second == tmp_path / "run-x-2.json"
    second.write_text("{}")
    assert unique_path(tmp_path, "run-x", ".json") == tmp_path / "run-x-3.json"
    assert unique_path(tmp_path, "run-y", ".log") == tmp_path / "run-y.log"
