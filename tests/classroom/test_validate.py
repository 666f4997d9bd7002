"""What people type for the classroom: durations, dates, scope paths, names and nicknames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edubot_cli.classroom import validate
from edubot_cli.errors import ClassroomError, UsageError


def test_durations() -> None:
    cases = {
        "30d": timedelta(days=30),
        "30": timedelta(days=30),
        " 12h ": timedelta(hours=12),
        "2w": timedelta(weeks=2),
        "90m": timedelta(minutes=90),
        "90min": timedelta(minutes=90),
        "3 days": timedelta(days=3),
        "1 Week": timedelta(weeks=1),
        "0d": timedelta(0),
    }
    assert {text: validate.duration(text) for text in cases} == cases
    for bad in ("", "d", "-3d", "1.5d", "3y", "30 d x"):
        with pytest.raises(UsageError) as info:
            validate.duration(bad)
        assert info.value.message == f"invalid duration {bad!r} for --older-than"
        assert info.value.exit_code == 2


def test_dates() -> None:
    assert validate.since("2026-03-01") == datetime(2026, 3, 1).astimezone()
    assert validate.since("2026-03-01T08:30Z") == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert validate.since("2026-03-01T08:30+02:00") == datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    assert validate.since("2026-03-01 08:30") == datetime(2026, 3, 1, 8, 30).astimezone()
    for bad in ("yesterday", "2026-13-01", "01/03/2026", ""):
        with pytest.raises(UsageError) as info:
            validate.since(bad)
        assert info.value.message == f"invalid date {bad!r} for --since"


def test_scope(tmp_path: Path) -> None:
    assert validate.scope(["knowledge/science/", "/knowledge/science", "knowledge\\math", " x "]) == (
        "knowledge/science",
        "knowledge/math",
        "x",
    )
    (tmp_path / "knowledge" / "science").mkdir(parents=True)
    assert validate.scope(["knowledge/science"], tmp_path) == ("knowledge/science",)
    with pytest.raises(ClassroomError) as info:
        validate.scope(["knowledge/math"], tmp_path)
    assert info.value.message == f"scope 'knowledge/math' is not a folder of the taxonomy at {tmp_path}"
    for bad in ("", "/", "../up", "a/../../b", "~/x"):
        with pytest.raises(ClassroomError):
            validate.scope([bad])


def test_names_and_nicknames() -> None:
    assert validate.class_name("  7B \t science ") == "7B science"
    assert validate.name_key("7B  SCIENCE") == validate.name_key("7b science") == "7b science"
    assert validate.nickname(" Ana\u00a0 Lu ") == "Ana Lu"
    assert validate.nickname("Zoë 🦊") == "Zoë 🦊"
    assert (
        validate.nickname("<script>alert(1)</script>") == "<script>alert(1)</script>"
    )  # text, escaped where shown
    with pytest.raises(ClassroomError):
        validate.class_name("x" * 101)
    with pytest.raises(ClassroomError):
        validate.nickname("bad\u200bzero-width")
