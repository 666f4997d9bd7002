"""`edubot doctor`: what is installed, what is missing, and how to fix it.

Every check is cheap and imports nothing heavy: packages are looked up with importlib (spec and metadata, no
import), the GPU with ``nvidia-smi``. A check is *required* when the default ``edubot serve`` (embedded model on
CPU) needs it; the others (GPU, vLLM, transformers, ilab) are for optional workflows.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import EdubotError

if TYPE_CHECKING:
    from .config import Settings
    from .engines.gpu import GpuProbe

MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table."""

    name: str
    ok: bool
    detail: str
    hint: str = ""
    required: bool = False


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package(name: str, module: str, distribution: str, extra: str, *, required: bool, purpose: str) -> Check:
    installed = importlib.util.find_spec(module) is not None
    version = _version(distribution)
    if installed:
        return Check(name, True, f"{distribution} {version or '(version unknown)'}", required=required)
    return Check(
        name,
        False,
        f"not installed ({purpose})",
        hint=f"pip install 'edubot[{extra}]'" + ("" if extra == "gpu" else " (or `make install`)"),
        required=required,
    )


def check_python() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Check(
        "Python",
        ok,
        f"{version} ({sys.executable})",
        hint="" if ok else f"use Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer",
        required=True,
    )


def check_gpu(probe: GpuProbe | None = None) -> Check:
    from .engines.gpu import probe_gpus

    probe = probe if probe is not None else probe_gpus()
    if probe.available:
        return Check("GPU / CUDA", True, "; ".join(probe.gpus))
    return Check(
        "GPU / CUDA",
        False,
        probe.problem or "no GPU",
        hint="only vLLM needs an NVIDIA GPU; the embedded model and transformers run on CPU",
    )


def check_embedded_model() -> Check:
    from .engines.llama_cpp import embedded_model

    try:
        path = embedded_model()
    except EdubotError as exc:
        return Check("embedded model", False, exc.message, hint=exc.hint or "", required=True)
    size = path.stat().st_size / 2**20
    return Check("embedded model", True, f"{path} ({size:.0f} MiB)", required=True)


def check_engine(settings: Settings, *, smoke: bool = True) -> list[Check]:
    """The llama-server binary (which build, for which CPU), its threads and slots, and, with ``smoke``, one
    generated token through it on this CPU (a build this CPU cannot run dies here with SIGILL, not in class)."""
    from .engines.llama_build import PROFILES, cpu_flags, find_binary, missing_cpu_flags
    from .engines.llama_cpp import slots, threads

    try:
        binary, info = find_binary(settings.llama_server)
    except EdubotError as exc:
        return [Check("llama-server", False, exc.message, hint=exc.hint or "", required=True)]
    what = f"{binary}" + (f" ({info.version}, {info.profile})" if info else " (built elsewhere)")
    checks = [Check("llama-server", True, what, required=True)]
    if info is not None and info.profile in PROFILES:
        missing = missing_cpu_flags(PROFILES[info.profile], cpu_flags())
        if missing:
            checks[0] = Check(
                "llama-server",
                False,
                f"{what}: this CPU lacks {', '.join(missing)}",
                hint="rebuild: `edubot engine build --force --cpu x86-64-v2`",
                required=True,
            )
            return checks
    cores = "physical cores" if not settings.threads else "the threads setting"
    checks.append(
        Check(
            "threads / slots",
            True,
            f"{threads(settings)} threads ({cores}), {slots(settings)} slots x {settings.context_length} "
            f"tokens, up to {settings.max_queue} waiting",
        )
    )
    if smoke:
        from .engines.lifecycle import one_token

        embedded = settings.model_copy(update={"engine": "llama-cpp", "model": None, "engine_urls": []})
        try:
            seconds, token = one_token(embedded)
        except EdubotError as exc:
            what = exc.message.splitlines()[0].split("; last lines of ")[0]
            return [*checks, Check("engine runs", False, what, hint=exc.hint or "", required=True)]
        checks.append(
            Check(
                "engine runs", True, f"one token ({token!r}) in {seconds:.1f} s, start to stop", required=True
            )
        )
    return checks


def check_ilab(settings: Settings) -> Check:
    """ilab found the way `data generate` and `model train` find it (ilab_path, PATH, .ilab-venv), with its version."""
    from .lab.ilab import find_ilab

    try:
        ilab = find_ilab(settings)
    except EdubotError as exc:
        return Check(
            "ilab", False, exc.message, hint=f"{exc.hint}; needed only for `data generate` and `model train`"
        )
    return Check("ilab", True, f"ilab {ilab.version} at {ilab.path}")


def check_ilab_venv(settings: Settings) -> list[Check]:
    """Whether numpy, pyarrow and datasets work together in ilab's own venv (checked in a subprocess there)."""
    from .lab.ilab import check_venv, locate_ilab

    try:
        ilab = locate_ilab(settings)
    except EdubotError:
        return []
    health = check_venv(ilab)
    if health is None:
        return []
    return [Check("ilab venv", health.ok, health.detail, hint=health.hint)]


def check_models(settings: Settings) -> list[Check]:
    from .engines.base import is_gguf, is_hf_dir

    checks = []
    if settings.model is not None:
        path = Path(settings.model)
        if is_gguf(path):
            checks.append(Check("model (setting)", True, f"{path}: GGUF file (llama-cpp)", required=True))
        elif is_hf_dir(path):
            checks.append(Check("model (setting)", True, f"{path}: Hugging Face directory", required=True))
        else:
            what = (
                "does not exist"
                if not path.exists()
                else "is neither a GGUF file nor a Hugging Face directory"
            )
            checks.append(
                Check(
                    "model (setting)",
                    False,
                    f"{path} {what}",
                    hint="fix `model` in the config (or EDUBOT_MODEL); leave it empty for the embedded model",
                    required=True,
                )
            )
    models_dir = Path(settings.models_dir)
    if models_dir.is_dir():
        servable = sorted(p.name for p in models_dir.iterdir() if is_hf_dir(p) or is_gguf(p))
        detail = f"{models_dir}: {len(servable)} servable" + (
            f" ({', '.join(servable[:5])})" if servable else ""
        )
        checks.append(Check("models_dir", True, detail))
    else:
        checks.append(
            Check(
                "models_dir", False, f"{models_dir} does not exist", hint="`edubot model convert` creates it"
            )
        )
    return checks


def total_ram_bytes(
    meminfo: Path = Path("/proc/meminfo"), cgroup_limit: Path = Path("/sys/fs/cgroup/memory.max")
) -> int | None:
    """The memory this process may use: the machine's (``MemTotal``, else sysconf), or its container's cgroup
    limit when that is lower; None when neither can be read."""
    total: int | None = None
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        total = None
    if total is None:
        try:
            total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            return None
    try:
        limit = cgroup_limit.read_text(encoding="ascii").strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def check_model_advice(settings: Settings, gpu: GpuProbe) -> list[Check]:
    """The catalog model that suits this machine's cores, RAM and GPU (``hub.recommend``), for its slots."""
    from .engines.llama_cpp import physical_cores, slots
    from .hub.recommend import recommend

    ram = total_ram_bytes()
    if ram is None:
        return []
    gpu_name = gpu.gpus[0].split(": ", 1)[-1].split(" (UUID")[0] if gpu.available else None
    advice = recommend(
        physical_cores(), ram / 2**30, gpu_name, slots=slots(settings), context=settings.context_length
    )
    hint = ""
    if advice.model is not None:
        pulled = Path(settings.models_dir) / advice.model.filename
        if pulled.is_file():
            hint = f"already pulled: `edubot serve --model {pulled}` serves it"
    return [Check("model", True, advice.text, hint=hint)]


def check_port(host: str, port: int, name: str, flag: str) -> Check:
    from .procgroup import check_port_free

    try:
        check_port_free(host, port, flag)
    except EdubotError as exc:
        return Check(name, False, exc.message, hint=exc.hint or "", required=True)
    return Check(name, True, f"{host}:{port} is free", required=True)


def run_checks(settings: Settings, *, smoke: bool = True) -> list[Check]:
    """Every check, in the order the table shows them (``smoke``: also generate a token with the engine)."""
    from .engines.gpu import probe_gpus

    gpu = probe_gpus()
    checks = [
        check_python(),
        _package("fastapi", "fastapi", "fastapi", "serve", required=True, purpose="the backend"),
        _package("uvicorn", "uvicorn", "uvicorn", "serve", required=True, purpose="the backend"),
        check_embedded_model(),
        *check_engine(settings, smoke=smoke),
        check_gpu(gpu),
        _package("vllm", "vllm", "vllm", "gpu", required=False, purpose="the GPU engine"),
        _package(
            "transformers",
            "transformers",
            "transformers",
            "convert",
            required=False,
            purpose="convert and CPU serving",
        ),
        check_ilab(settings),
        *check_ilab_venv(settings),
        *check_models(settings),
        *check_model_advice(settings, gpu),
        check_port(settings.host, settings.port, "backend port", "--port"),
    ]
    if settings.engine_port:
        checks.append(check_port("127.0.0.1", settings.engine_port, "engine port", "--engine-port"))
    return checks


def healthy(checks: list[Check]) -> bool:
    """Whether every required check passed."""
    return all(check.ok for check in checks if check.required)


def as_json(checks: list[Check]) -> dict[str, Any]:
    """The JSON document ``edubot doctor --format json`` prints."""
    return {"ok": healthy(checks), "checks": [asdict(check) for check in checks]}
