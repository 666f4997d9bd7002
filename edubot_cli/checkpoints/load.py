"""Reading PyTorch checkpoints safely: ``torch.load(mmap=True, weights_only=True)`` and nothing else.

A pickle that needs code to load (anything beyond tensors, containers and plain values) is refused; there is no
override. Training checkpoints are unwrapped: nested ``state_dict`` / ``model`` entries, ``module.`` (DDP) and
``_orig_mod.`` (torch.compile) prefixes, optimizer / scheduler / RNG entries (dropped and reported). LoRA/PEFT
weights are refused with directions to merge them first.

Zip-format files (what ``torch.save`` writes since torch 1.6) are first offered to :mod:`.stored`, which reads
them without torch as byte ranges in the file; whatever it declines goes to ``torch.load``. Both give a mapping
of names to tensors (or descriptors) and share the unwrapping below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConvertError
from .discover import LORA_HINT
from .stored import NotStored, StoredTensor, has_compressed_entries, read_checkpoint
from .torch_support import import_torch

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "module", "network", "weights")
"""Keys under which training loops nest the model's weights, tried in this order."""
PREFIXES = ("module.", "_orig_mod.")
LORA_RE = re.compile(r"(^|\.)(lora_[AB]|lora_embedding_[AB]|lora_magnitude_vector)(\.|$)")


@dataclass
class LoadedShard:
    """The tensors of one weights file, with the names they will be written under."""

    path: Path
    tensors: dict[str, Any]
    """``torch.Tensor`` memory-mapped by torch, or (from :func:`load_stored_shard`) :class:`StoredTensor`."""
    dropped: list[str] = field(default_factory=list)
    """Non-weight entries left out (optimizer, scheduler, RNG state, counters ...), by their path in the file."""
    renamed: int = 0
    """How many keys lost a ``module.`` / ``_orig_mod.`` prefix."""


def load_shard(path: Path) -> LoadedShard:
    """The weights in one ``.bin`` / ``.pt`` / ``.pth`` file, memory-mapped (tensors stay on disk until read)."""
    torch = import_torch()
    import pickle

    # torch would map the compressed bytes of a compressed zip entry as if they were the tensor's.
    mmap = not has_compressed_entries(path)
    try:
        try:
            obj = torch.load(path, map_location="cpu", mmap=mmap, weights_only=True)
        except RuntimeError as exc:
            if not mmap or "mmap" not in str(exc):
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


def load_stored_shard(path: Path) -> LoadedShard:
    """The weights in one zip-format file as :class:`StoredTensor` descriptors, read without torch.

    Raises :class:`.stored.NotStored` when the file needs ``torch.load`` (:func:`load_shard`)."""
    obj = read_checkpoint(path)
    if not isinstance(obj, dict):
        raise NotStored(f"holds a {type(obj).__name__}")  # torch.load names the real type in the error
    return unwrap(obj, path, is_tensor=lambda v: isinstance(v, StoredTensor))


def unwrap(obj: Any, path: Path, is_tensor: Callable[[Any], bool] | None = None) -> LoadedShard:
    """The model weights inside a loaded checkpoint object, with training leftovers dropped and prefixes removed.

    ``is_tensor`` tells the tensors from the other values (default: ``torch.Tensor`` instances)."""
    if is_tensor is None:
        tensor_type = import_torch().Tensor
        is_tensor = lambda v: isinstance(v, tensor_type)  # noqa: E731
    if not isinstance(obj, dict):
        raise ConvertError(
            f"{path}: holds a {type(obj).__name__}, not a dictionary of tensors",
            hint="save the weights with torch.save(model.state_dict(), FILE)",
        )
    dropped: list[str] = []
    where = ""
    while True:
        here = _count_tensors(obj, is_tensor)
        key = next(
            (
                k
                for k in WRAPPER_KEYS
                if isinstance(obj.get(k), dict) and _count_tensors(obj[k], is_tensor, depth=3) > here
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
        if not is_tensor(value):
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


def _count_tensors(obj: dict[Any, Any], is_tensor: Callable[[Any], bool], depth: int = 0) -> int:
    """Tensors directly in ``obj`` (``depth`` 0) or also in the dictionaries nested in it, to ``depth`` levels."""
    count = 0
    for v in obj.values():
        if is_tensor(v):
            count += 1
        elif depth and isinstance(v, dict):
            count += _count_tensors(v, is_tensor, depth - 1)
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
