"""Is there an NVIDIA GPU? Asked of ``nvidia-smi`` so that no CUDA library (torch) has to be imported."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuProbe:
    """The GPUs ``nvidia-smi -L`` lists, or why there are none."""

    gpus: list[str]
    problem: str | None = None

    @property
    def available(self) -> bool:
        return bool(self.gpus)


def probe_gpus(timeout: float = 10.0) -> GpuProbe:
    """List NVIDIA GPUs with ``nvidia-smi -L`` (one line per GPU)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return GpuProbe([], "nvidia-smi not found on PATH (no NVIDIA driver)")
    try:
        result = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return GpuProbe([], f"nvidia-smi failed: {exc}")
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        return GpuProbe(
            [], f"nvidia-smi exited with code {result.returncode}: {detail[0] if detail else ''}".strip()
        )
    gpus = [line.strip() for line in result.stdout.splitlines() if line.startswith("GPU ")]
    return GpuProbe(gpus, None if gpus else "nvidia-smi lists no GPU")
