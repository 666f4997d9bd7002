"""The backend's `grounding_holdout` setting, and `edubot eval --local --holdout K` starting its backend with it: the
held-out Q&A pairs are not in the index (the source's snippet shows what it holds), and the grounded prompt quotes
knowledge contexts without their Q&A (the stub engine stands in for the embedded one)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from edubot_cli.config import load_settings
from edubot_cli.errors import ConfigError
from edubot_cli.main import app
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

MakeBackend = Callable[..., LiveBackend]
HELD_OUT = "Why do roots have root hairs?"


def prompt_of(stub: StubEngine) -> str:
    return str(stub.requests[-1]["messages"][-1]["content"])


@pytest.mark.parametrize("holdout", [0, 1])
def test_the_backend_index_leaves_the_held_out_pairs_out(
    tiny: Path, stub_engine: StubEngine, live_backend: MakeBackend, holdout: int
) -> None:
    backend = live_backend(
        {"taxonomy_path": tiny, "grounding": None, "grounding_answer": "model", "grounding_holdout": holdout},
        [stub_engine.url],
    )
    reply = httpx.post(backend.url + "/chat", json={"message": HELD_OUT, "grounded": True}, timeout=10)
    assert reply.status_code == 200
    source = reply.json()["sources"][0]
    assert source["file"] == "knowledge/botany/roots/qna.yaml"
    assert ("Q: Why do roots have root hairs?" in source["snippet"]) is (holdout == 0)  # what the index holds
    prompt = prompt_of(stub_engine)
    assert (
        "[1] Roots take up water and minerals from the soil. Tiny root hairs give "
        f"the roots a large surface.\n\nQuestion: {HELD_OUT}"
    ) in prompt


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().grounding_holdout == 0
    monkeypatch.setenv("EDUBOT_GROUNDING_HOLDOUT", "2")
    assert load_settings().grounding_holdout == 2
    monkeypatch.setenv("EDUBOT_GROUNDING_HOLDOUT", "-1")
    with pytest.raises(ConfigError, match=r"^invalid setting 'grounding_holdout' "):
        load_settings()


def test_local_starts_a_backend_with_the_holdout(
    tiny: Path, stub_engine: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edubot_cli import serving
    from edubot_cli.server.engine.upstream import Upstream

    started: list[Any] = []

    @contextlib.contextmanager
    def stub_engine_running(settings: Any, *args: Any, **kwargs: Any) -> Iterator[object]:
        started.append((settings.engine, settings.parallel))
        yield object()

    # serving.local_backend, as eval --local and chat --local use it: the real backend in a thread, on the stub.
    monkeypatch.setattr(serving, "running", stub_engine_running)
    monkeypatch.setattr(
        serving, "upstream_for", lambda launch: Upstream([stub_engine.url], "llama-cpp", capacity=1)
    )
    monkeypatch.setenv("EDUBOT_GROUNDING_ANSWER", "model")  # the stub writes the answer from its prompt
    flags = ["--holdout", "1", "--taxonomy", str(tiny), "--grounded", "--concurrency", "3", "-f", "json"]
    result = CliRunner().invoke(app, ["eval", "--local", *flags])
    assert result.exit_code == 0, result.stderr
    assert started == [("llama-cpp", 3)]  # as many engine slots as questions asked at once
    report = json.loads(result.stdout)
    assert report["target"] == {"url": None, "local": True}
    assert [item["question"] for item in report["items"]] == [HELD_OUT]
    prompt = prompt_of(stub_engine)  # the last request: the backend's slot warm-up came first
    assert prompt.endswith(
        "[1] Roots take up water and minerals from the soil. Tiny root hairs give "
        f"the roots a large surface.\n\nQuestion: {HELD_OUT}"
    )
    assert report["overall"]["grounded"]["cited_passage"] == 1.0
