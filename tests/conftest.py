"""Fixtures shared by every test area."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stub_engine import StubEngine


@pytest.fixture
def stub_engine() -> Iterator[StubEngine]:
    """A started, scripted OpenAI-compatible stub engine (see tests/support/stub_engine.py)."""
    with StubEngine() as stub:
        yield stub
