"""``--teacher local``: the model edubot serves acts as ilab's teacher for synthetic data generation.

ilab's SDG speaks the OpenAI *completions* API, which the engines have but the edubot backend does not proxy, so
the teacher is the engine itself: the one a running ``edubot serve`` reports at ``<url>/health``, or else the
embedded SmolLM2 started with llama-cpp for the length of the run and stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Settings

TEACHERS = ("local",)
PROBE_TIMEOUT = 3.0
TEACHER_CONTEXT = 4096
"""SDG asks for up to 2,048 new tokens on top of its prompt; a 2,048-token context would reject that."""
SMOLLM2_FAMILY = "llama"
"""SDG has no ChatML prompt family. With its default (merlinite, ending in ``<|assistant|>``) SmolLM2 answers some
prompts with an immediate end of text, and one empty answer aborts the whole simple pipeline ("output not found
in synth_example"); with the Llama 3 family it answers them."""


def family_for(model: str) -> str | None:
    """The SDG prompt family edubot asks for when ``model`` is the teacher (None: leave ilab's choice)."""
    return SMOLLM2_FAMILY if "smollm2" in Path(model).name.lower() else None


@dataclass(frozen=True)
class Teacher:
    """An OpenAI-compatible endpoint for ``ilab data generate --endpoint-url``."""

    endpoint_url: str
    """Ends in ``/v1``."""
    model: str
    """What to pass to ``--model`` (ilab guesses the prompt family from its file name)."""
    source: str
    """Where it came from, for the user."""
    model_family: str | None = None
    """SDG prompt family to ask for (``--model-family``), when the default one does not suit the model."""


def _base(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def running_engine(settings: Settings, timeout: float = PROBE_TIMEOUT) -> Teacher | None:
    """The engine behind a running ``edubot serve`` at ``settings.url``, if one answers; else None."""
    import httpx

    try:
        health = httpx.get(_base(settings.url) + "/health", timeout=timeout)
        body: Any = health.json()
    except (httpx.HTTPError, ValueError):
        return None
    engines = body.get("engines") if isinstance(body, dict) else None
    if not isinstance(engines, list):
        return None
    for engine in engines:
        if not isinstance(engine, dict) or engine.get("status") != "ok" or not engine.get("url"):
            continue
        base = _base(str(engine["url"]))
        try:
            models = httpx.get(base + "/v1/models", timeout=timeout)
        except httpx.HTTPError:
            continue  # an engine on another machine's loopback: not reachable from here
        if models.status_code == 200:
            model = str(engine.get("model") or settings.served_model_name)
            source = f"the engine of `edubot serve` at {settings.url}"
            return Teacher(base + "/v1", model, source, family_for(model))
    return None


@contextmanager
def local_teacher(settings: Settings, note: Callable[[str], None]) -> Iterator[Teacher]:
    """Yield the running ``edubot serve`` engine, or start the embedded model for the block and stop it after."""
    found = running_engine(settings)
    if found is not None:
        note(f"teacher: {found.source} ({found.endpoint_url})")
        yield found
        return
    from ..engines.choose import build_engine

    teacher_settings = settings.model_copy(
        update={
            "engine": "llama-cpp",
            "model": None,
            "engine_port": 0,
            "context_length": max(settings.context_length, TEACHER_CONTEXT),
        }
    )
    engine = build_engine(teacher_settings)
    note("teacher: starting the embedded model (llama-cpp) for this run")
    engine.start()
    try:
        waited = engine.wait_ready(settings.ready_timeout)
        base = engine.urls[0]
        note(f"teacher: embedded model ready at {base}/v1 after {waited:.1f} s (log: {engine.log_path})")
        yield Teacher(base + "/v1", engine.model, "the embedded model", family_for(engine.model))
    finally:
        engine.stop()


def check_teacher(teacher: str | None, endpoint_url: str | None, model: str | None) -> None:
    """Reject flag combinations that cannot work together."""
    if teacher is None:
        return
    if teacher not in TEACHERS:
        raise UsageError(
            f"--teacher {teacher!r} is not known", hint="use --teacher local, or --endpoint-url URL"
        )
    if endpoint_url:
        raise UsageError(
            "--teacher local and --endpoint-url both name the teacher", hint="give one of them, not both"
        )
    if model:
        raise UsageError(
            "--teacher local picks the model itself; --model names another teacher",
            hint="drop --model, or drop --teacher local and give --model (and --endpoint-url)",
        )
