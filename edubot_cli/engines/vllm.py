"""vllm: ``python -m vllm.entrypoints.openai.api_server`` serving a Hugging Face directory on NVIDIA GPUs.

Multi-GPU and multi-node come from vLLM itself: tensor parallelism over the GPUs of a node and pipeline
parallelism over nodes, the latter through vLLM's Ray backend (``--distributed-executor-backend ray``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EngineError, UsageError
from .base import LOCALHOST, EngineSpec, hf_model_dir, require_module
from .gpu import probe_gpus

if TYPE_CHECKING:
    from ..config import Settings

NAME = "vllm"
READY_PATH = "/health"
API_KEY_ENV = "VLLM_API_KEY"


def model_path(settings: Settings) -> Path:
    """The Hugging Face directory to serve (``base.hf_model_dir``)."""
    return hf_model_dir(settings, NAME)


def build_spec(settings: Settings, port: int, api_key: str | None = None) -> EngineSpec:
    """The vLLM command line for ``settings`` on ``port``; checks vllm and CUDA are present."""
    model = model_path(settings)
    require_module("vllm", "gpu")
    probe = probe_gpus()
    if not probe.available:
        raise EngineError(
            f"--engine vllm needs an NVIDIA GPU with CUDA, and none was found ({probe.problem})",
            hint="without a GPU use --engine transformers for a Hugging Face directory or llama-cpp for a GGUF file",
        )
    tp = settings.tensor_parallel_size
    if settings.pipeline_parallel_size == 1 and tp > len(probe.gpus):
        raise UsageError(
            f"--tensor-parallel-size {tp} needs {tp} GPUs and this machine has {len(probe.gpus)}",
            hint="set it to the number of GPUs per node; span nodes with --pipeline-parallel-size and Ray",
        )
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        LOCALHOST,
        "--port",
        str(port),
        "--served-model-name",
        settings.served_model_name,
        "--gpu-memory-utilization",
        str(settings.gpu_memory_utilization),
        "--max-model-len",
        str(settings.context_length),
        "--dtype",
        settings.dtype,
        "--tensor-parallel-size",
        str(tp),
        "--pipeline-parallel-size",
        str(settings.pipeline_parallel_size),
    ]
    if settings.parallel:
        command += ["--max-num-seqs", str(settings.parallel)]
    if settings.pipeline_parallel_size > 1:
        command += ["--distributed-executor-backend", "ray"]
    command += settings.engine_args
    return EngineSpec(
        name=NAME,
        command=command,
        port=port,
        ready_path=READY_PATH,
        model=str(model),
        env={API_KEY_ENV: api_key} if api_key else {},
        api_key=api_key,
        capacity=settings.parallel or None,
        hint="lower --gpu-memory-utilization or --context-length if the GPU ran out of memory",
    )
