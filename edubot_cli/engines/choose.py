"""Which engine serves what: the auto choice and the construction of the chosen engine."""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..procgroup import check_port_free, free_port
from . import external, llama_cpp, transformers, vllm
from .base import ENGINE_NAMES, LOCALHOST, Engine, existing_model, is_gguf, is_hf_dir
from .gpu import probe_gpus
from .process import EngineProcess

if TYPE_CHECKING:
    from ..config import Settings


def vllm_usable() -> bool:
    """vllm importable and an NVIDIA GPU present (no CUDA library imported to find out)."""
    return importlib.util.find_spec("vllm") is not None and probe_gpus().available


def choose_engine(settings: Settings, vllm_ok: Callable[[], bool] = vllm_usable) -> str:
    """The engine for ``settings``: ``--engine`` if given, else by what ``--model`` is.

    GGUF file → llama-cpp; HF directory → vllm with CUDA and vllm, transformers otherwise; engine URLs → external;
    nothing → llama-cpp on the embedded model.
    """
    engine = settings.engine
    if engine != "auto":
        if engine not in ENGINE_NAMES:
            raise UsageError(
                f"unknown engine {engine!r} (from --engine or the `engine` setting)",
                hint=f"choose one of: auto, {', '.join(ENGINE_NAMES)}",
            )
        if settings.engine_urls and engine != external.NAME:
            raise UsageError(
                f"--engine-url only applies to --engine external, not {engine}",
                hint="drop --engine-url, or use --engine external",
            )
        return engine
    if settings.engine_urls:
        if settings.model is not None:
            raise UsageError(
                "give either --model (an engine is started) or --engine-url (engines already running), not both",
                hint="drop one of them",
            )
        return external.NAME
    if settings.model is None:
        return llama_cpp.NAME
    path = existing_model(settings.model)
    if is_gguf(path):
        return llama_cpp.NAME
    if is_hf_dir(path):
        return vllm.NAME if vllm_ok() else transformers.NAME
    raise UsageError(
        f"cannot tell what {path} is: neither a GGUF file nor a Hugging Face model directory (config.json)",
        hint="point --model to a .gguf file or to a directory from `edubot model convert`",
    )


_BUILDERS = {
    llama_cpp.NAME: llama_cpp.build_spec,
    vllm.NAME: vllm.build_spec,
    transformers.NAME: transformers.build_spec,
}


def engine_port(settings: Settings) -> int:
    """``settings.engine_port`` after checking it is free, or a free port when it is 0."""
    if settings.engine_port == 0:
        return free_port(LOCALHOST)
    check_port_free(LOCALHOST, settings.engine_port, "--engine-port")
    return settings.engine_port


def build_engine(
    settings: Settings,
    *,
    live_log: Callable[[str], None] | None = None,
    vllm_ok: Callable[[], bool] = vllm_usable,
) -> Engine:
    """The engine ``settings`` ask for, checked and ready to ``start`` (nothing is launched yet)."""
    name = choose_engine(settings, vllm_ok)
    if name == external.NAME:
        return external.ExternalEngine(settings.engine_urls)
    # A fresh key per run, known only to this process: the engine port serves nobody else.
    spec = _BUILDERS[name](settings, engine_port(settings), secrets.token_urlsafe(24))
    return EngineProcess(spec, Path(settings.logs_dir), live_log=live_log)
