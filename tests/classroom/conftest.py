"""Every store test runs twice: on a SQLite file and on a real PostgreSQL server (tests/support/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edubot_cli.classroom.store import Store

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


class Clock:
    """The store's clock, moved by hand: expiry and retention without sleeping."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'edubot.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(db_url: str, clock: Clock) -> Iterator[Store]:
    """A migrated store on ``db_url`` with the hand-moved ``clock``."""
    opened = Store.connect(db_url, clock=clock)
    yield opened
    opened.close()
