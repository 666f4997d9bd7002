"""``--teacher local``: the embedded model acts as ilab's teacher for synthetic data generation.

ilab's SDG speaks the OpenAI *completions* API to an engine, so the teacher is an engine of its own: the embedded
SmolLM2 started through the one engine lifecycle (``engines.lifecycle``) for the length of the run, with its
per-run key handed to ilab, and stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import Settings

TEACHERS = ("local",)
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
    api_key: str | None = None
    """The key the endpoint requires (``--api-key``; never shown or recorded)."""


@contextmanager
def local_teacher(settings: Settings, note: Callable[[str], None]) -> Iterator[Teacher]:
    """Start the embedded model for the block (through the engine lifecycle) and stop it after."""
    from ..engines.lifecycle import running

    teacher_settings = settings.model_copy(
        update={
            "engine": "llama-cpp",
            "model": None,
            "engine_urls": [],
            "engine_port": 0,
            "parallel": 1,
            "context_length": max(settings.context_length, TEACHER_CONTEXT),
        }
    )
    note("teacher: starting the embedded model (llama-cpp) for this run")
    with running(teacher_settings) as launch:
        engine = launch.engine
        base = engine.urls[0]
        note(f"teacher: embedded model ready at {base}/v1 (log: {engine.log_path})")
        yield Teacher(
            base + "/v1", engine.model, "the embedded model", family_for(engine.model), engine.api_key
        )


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
