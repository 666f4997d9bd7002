"""transformers: ``transformers serve DIR`` for a Hugging Face directory on CPU (e.g. right after conversion).

``transformers serve`` has no alias option: the model's id, which every answer and ``/v1/models`` carry, is the
name it was started with. It is started in a folder of its own, on a link named after ``served_model_name``, so
clients see that name and never the model's path on this machine.
"""

from __future__ import annotations

import atexit
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EngineError
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


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
FALLBACK_NAME = "model"
"""The link's name when ``served_model_name`` cannot be a file name (a ``/`` in it, say)."""


def alias(model: Path, name: str) -> tuple[Path, str]:
    """A new folder holding a link ``name`` to ``model``, removed when this process exits; and the name used."""
    name = name if SAFE_NAME.fullmatch(name) else FALLBACK_NAME
    try:
        folder = Path(tempfile.mkdtemp(prefix="edubot-transformers-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        (folder / name).symlink_to(model.resolve(), target_is_directory=True)
    except OSError as exc:
        raise EngineError(
            f"cannot prepare the folder the transformers engine starts in ({exc.strerror or exc})",
            hint="make the temporary folder writable, or point TMPDIR to one that is",
        ) from exc
    return folder, name


def build_spec(settings: Settings, port: int, api_key: str | None = None) -> EngineSpec:
    """The ``transformers serve`` command line for ``settings`` on ``port`` (CPU unless extra args say else).

    ``transformers serve`` takes no API key, so ``api_key`` is not used: it listens on 127.0.0.1 only."""
    model = model_path(settings)
    require_module("transformers", "convert")
    require_module("fastapi", "serve")
    ensure_hub_cache()
    folder, name = alias(model, settings.served_model_name)
    command = [
        sys.executable,
        "-m",
        "transformers.cli.transformers",
        "serve",
        name,
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
        # Pinned to one model, `transformers serve` accepts only the name it was started with.
        served_model_name=name,
        cwd=str(folder),
        # A local directory is served: never reach for the Hub at run time.
        env={"HF_HUB_OFFLINE": "1"},
        hint="check that the directory loads with transformers (config.json, weights, tokenizer)",
    )
