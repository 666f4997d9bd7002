"""torch, imported only when a function needs it and checked to be new enough; its dtypes' safetensors names.

Nothing here imports torch at module level: :func:`import_torch` does, on the first call that needs it, so every
other checkpoints module can import this one freely (and ``--help`` stays fast without the convert extra).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..errors import ConvertError, missing_extra

MIN_TORCH = (2, 6)
"""``torch.load(weights_only=True, mmap=True)`` refuses code-running pickles reliably from this version on."""


def import_torch() -> Any:
    """torch, checked to be new enough for safe memory-mapped loading."""
    try:
        import torch
    except ImportError as exc:
        raise missing_extra("torch", "convert") from exc
    version = tuple(int(p) for p in re.findall(r"\d+", torch.__version__)[:2])
    if version < MIN_TORCH:
        raise ConvertError(
            f"torch {torch.__version__} is too old: loading checkpoints safely needs torch >= 2.6",
            hint="run `make install` or `pip install 'edubot[convert]'`",
        )
    return torch


def require_torch() -> None:
    """Raise the missing-extra error unless torch is installed, without importing it (which takes a while)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise missing_extra("torch", "convert")


@functools.cache
def st_dtypes(torch: Any) -> dict[Any, str]:
    """torch dtype -> safetensors dtype name."""
    names = {
        torch.float64: "F64",
        torch.float32: "F32",
        torch.float16: "F16",
        torch.bfloat16: "BF16",
        torch.int64: "I64",
        torch.int32: "I32",
        torch.int16: "I16",
        torch.int8: "I8",
        torch.uint8: "U8",
        torch.bool: "BOOL",
        torch.float8_e4m3fn: "F8_E4M3",
        torch.float8_e5m2: "F8_E5M2",
    }
    for attr, name in (("uint16", "U16"), ("uint32", "U32"), ("uint64", "U64")):
        if hasattr(torch, attr):
            names[getattr(torch, attr)] = name
    return names
