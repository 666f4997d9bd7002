"""Reading PyTorch checkpoints safely: ``torch.load(mmap=True, weights_only=True)`` and nothing else.

A pickle that needs code to load (anything beyond tensors, containers and plain values) is refused; there is no
override. Training checkpoints are unwrapped: nested ``state_dict`` / ``model`` entries, ``module.`` (DDP) and
``_orig_mod.`` (torch.compile) prefixes, optimizer / scheduler / RNG entries (dropped and reported). LoRA/PEFT
weights are refused with directions to merge them first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConvertError, missing_extra
from .discover import LORA_HINT

if TYPE_CHECKING:
    import torch

MIN_TORCH = (2, 6)
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module", "network", "weights")
"""Keys under which training loops nest the model's weights, tried in this order."""
PREFIXES = ("module.", "_orig_mod.")
LORA_RE = re.compile(r"(^|\.)(lora_[AB]|lora_embedding_[AB]|lora_magnitude_vector)(\.|$)")


@dataclass
class LoadedShard:
    """The tensors of one weights file, with the names they will be written under."""

    path: Path
    tensors: dict[str, torch.Tensor]
    dropped: list[str] = field(default_factory=list)
    """Non-weight entries left out (optimizer, scheduler, RNG state, counters ...), by their path in the file."""
    renamed: int = 0
    """How many keys lost a ``module.`` / ``_orig_mod.`` prefix."""


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


def load_shard(path: Path) -> LoadedShard:
    """The weights in one ``.bin`` / ``.pt`` / ``.pth`` file, memory-mapped (tensors stay on disk until read)."""
    torch = import_torch()
    import pickle

    try:
        try:
            obj = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            # Files written with the legacy (pre-1.6, non-zip) serializer cannot be memory-mapped.
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()
        detail = next(
            (line for line in first if "Unsupported" in line or "GLOBAL" in line), first[0] if first else ""
        )
        raise ConvertError(
            f"{path}: refused — this pickle needs code to load, which could run anything ({detail.strip()})",
            hint="only checkpoints made of tensors and plain values are read; re-save the weights with "
            "torch.save(model.state_dict(), FILE) or model.save_pretrained(DIR) where the file was made",
        ) from exc
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise ConvertError(
            f"{path}: not a readable PyTorch checkpoint ({str(exc).splitlines()[0] if str(exc) else exc!r})",
            hint="check that the file is complete (a copy or download may have been cut short)",
        ) from exc
    return unwrap(obj, path)


def unwrap(obj: Any, path: Path) -> LoadedShard:
    """The model weights inside a loaded checkpoint object, with training leftovers dropped and prefixes removed."""
    torch = import_torch()
    if not isinstance(obj, dict):
        raise ConvertError(
            f"{path}: holds a {type(obj).__name__}, not a dictionary of tensors",
            hint="save the weights with torch.save(model.state_dict(), FILE)",
        )
    dropped: list[str] = []
    where = ""
    while True:
        here = _count_tensors(obj, torch)
        key = next(
            (
                k
                for k in WRAPPER_KEYS
                if isinstance(obj.get(k), dict) and _count_tensors(obj[k], torch, depth=3) > here
            ),
            None,
        )
        if key is None:
            break
        dropped += [f"{where}{k}" for k in obj if k != key]
        where += f"{key}."
        obj = obj[key]
    tensors: dict[str, Any] = {}
    renamed = 0
    for raw_key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            dropped.append(f"{where}{raw_key}")
            continue
        key = str(raw_key)
        stripped = _strip_prefixes(key)
        renamed += stripped != key
        if stripped in tensors:
            raise ConvertError(
                f"{path}: two tensors are both named {stripped!r} once 'module.'/'_orig_mod.' prefixes are removed",
                hint="the checkpoint mixes wrapped and unwrapped weights; save a plain model.state_dict()",
            )
        tensors[stripped] = value
    if not tensors:
        raise ConvertError(
            f"{path}: no tensors found" + (f" (entries: {', '.join(dropped[:6])})" if dropped else ""),
            hint="expected a state_dict, or a training checkpoint with a 'state_dict' or 'model' entry",
        )
    lora = [k for k in tensors if LORA_RE.search(k)]
    if lora:
        raise ConvertError(f"{path}: holds LoRA/PEFT adapter weights (e.g. {lora[0]})", hint=LORA_HINT)
    return LoadedShard(path=path, tensors=tensors, dropped=dropped, renamed=renamed)


def _count_tensors(obj: dict[Any, Any], torch: Any, depth: int = 0) -> int:
    """Tensors directly in ``obj`` (``depth`` 0) or also in the dictionaries nested in it, to ``depth`` levels."""
    count = 0
    for v in obj.values():
        if isinstance(v, torch.Tensor):
            count += 1
        elif depth and isinstance(v, dict):
            count += _count_tensors(v, torch, depth - 1)
    return count


def _strip_prefixes(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                changed = True
    return key
