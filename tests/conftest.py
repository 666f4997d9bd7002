"""Fixtures shared by every test area."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

pytest_plugins = [
    "tests.support.engine_fakes",  # settings, fake engine, vllm and nvidia-smi fixtures
    "tests.support.postgres",  # a real PostgreSQL server for the session, a fresh database per test
]


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as a terminal delivers it: a suite started in the background by a non-interactive shell (``make
    test &``) inherits SIGINT ignored, and so would every process it starts, which the tests of Ctrl-C need."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def stub_engine() -> Iterator[StubEngine]:
    """A started, scripted OpenAI-compatible stub engine (see tests/support/stub_engine.py)."""
    with StubEngine() as stub:
        yield stub


@pytest.fixture
def live_backend() -> Iterator[Callable[..., LiveBackend]]:
    """Factory: ``live_backend(settings_overrides, engine_urls)`` starts a backend; all are stopped afterwards."""
    started: list[LiveBackend] = []

    def make(
        settings_overrides: dict[str, Any] | None = None, engine_urls: list[str] | None = None, **kwargs: Any
    ) -> LiveBackend:
        backend = LiveBackend(settings_overrides, engine_urls, **kwargs).start()
        started.append(backend)
        return backend

    yield make
    for backend in started:
        backend.stop()
