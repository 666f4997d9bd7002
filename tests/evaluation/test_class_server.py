"""`edubot eval` against a class's server, which sets the temperature and max tokens itself (``client_sampling``
off): it still answers, at the server's values, and the report and a warning say so; and the backend that
`eval --local` (and `chat --local`) starts takes eval's own values."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.config import load_settings
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

from .test_cli import GOOD, answer, eval_cli

MakeBackend = Callable[..., LiveBackend]
WARNING = (
    "warning: this server answers at its own temperature (0.7) and max tokens (64), not eval's (0, 128): it does "
    "not let clients choose (client_sampling is off), so scores may vary from run to run; for repeatable scores "
    "use `edubot eval --local`, or set `client_sampling: true` on that server"
)


def test_a_class_server_answers_eval_at_its_own_values_and_the_report_says_so(
    tiny: Path, stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend(
        {
            "taxonomy_path": tiny,
            "grounding": None,
            "grounding_answer": "model",
            "client_sampling": False,
            "max_tokens": 64,
        },
        [stub_engine.url],
    )
    answer(stub_engine, *GOOD)
    code, out, err = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "-f", "json")
    assert code == 0
    assert " ".join(err.split()).startswith(WARNING)
    report = json.loads(out)
    assert (report["settings"]["temperature"], report["settings"]["max_tokens"]) == (0.7, 64)
    assert {(r["temperature"], r["max_tokens"]) for r in stub_engine.requests} == {(0.7, 64)}
    assert report["asked"] == 3


def test_eval_s_own_backend_lets_it_choose(monkeypatch: pytest.MonkeyPatch) -> None:
    """`eval --local` runs on ``serving.local_backend``, which turns client_sampling on for its own backend."""
    from edubot_cli import serving

    seen: dict[str, Any] = {}

    @contextlib.contextmanager
    def fake_running(settings: Any, *args: Any, **kwargs: Any) -> Iterator[object]:
        yield object()

    @contextlib.contextmanager
    def fake_backend(settings: Any, upstream: Any) -> Iterator[str]:
        seen["client_sampling"] = settings.client_sampling
        yield "http://127.0.0.1:1"

    monkeypatch.setattr(serving, "running", fake_running)
    monkeypatch.setattr(serving, "upstream_for", lambda launch: None)
    monkeypatch.setattr(serving, "backend_in_thread", fake_backend)
    with serving.local_backend(load_settings(None, client_sampling=False)) as url:
        assert url == "http://127.0.0.1:1"
    assert seen == {"client_sampling": True}
