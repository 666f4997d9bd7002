"""transformers: ``transformers serve DIR`` for a Hugging Face directory on CPU (e.g. right after conversion)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .base import LOCALHOST, EngineSpec, hf_model_dir, require_module

if TYPE_CHECKING:
    from ..config import Settings

NAME = "transformers"
READY_PATH = "/health"  # the model is preloaded before the server answers


def model_path(settings: Settings) -> Path:
    """The Hugging Face directory to serve (``base.hf_model_dir``)."""
    return hf_model_dir(settings, NAME)


def ensure_hub_cache() -> None:
    """Create the Hugging Face hub cache folder if missing.

    ``transformers serve`` lists models by scanning that folder, and its ``GET /v1/models`` (which the backend
    polls for health) fails with a 500 when the folder does not exist.
    """
    from huggingface_hub import constants

    Path(constants.HF_HUB_CACHE).mkdir(parents=True, exist_ok=True)


def build_spec(settings: Settings, port: int, api_key: str | None = None) -> EngineSpec:
    """The ``transformers serve`` command line for ``settings`` on ``port`` (CPU unless extra args say else).

    ``transformers serve`` takes no API key, so ``api_key`` is not used: it listens on 127.0.0.1 only."""
    model = model_path(settings)
    require_module("transformers", "convert")
    require_module("fastapi", "serve")
    ensure_hub_cache()
    command = [
        sys.executable,
        "-m",
        "transformers.cli.transformers",
        "serve",
        str(model),
        "--host",
        LOCALHOST,
        "--port",
        str(port),
        "--device",
        "cpu",
        *settings.engine_args,
    ]
    return EngineSpec(
        name=NAME,
        command=command,
        port=port,
        ready_path=READY_PATH,
        model=str(model),
        # `transformers serve` has no alias: pinned to one model, it accepts only that model's name (the path).
        served_model_name=str(model),
        # A local directory is served: never reach for the Hub at run time.
        env={"HF_HUB_OFFLINE": "1"},
        hint="check that the directory loads with transformers (config.json, weights, tokenizer)",
    )
