"""What a conversion will write, decided before the first byte is: names, dtypes, shard files, headers.

:func:`make_plan` reads only the input shards' metadata (names, dtypes, shapes, which tensors share storage)
and packs the tensors, in input order, into safetensors files of at most ``--max-shard-size`` bytes. The plan
also gives each shard's exact header (:func:`header`) and the index (:func:`index_json`), which the writer
writes and the verifier compares with, and the rule for how each input tensor is turned into the bytes
written (:func:`prepare`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConvertError, UsageError
from .stored import TORCH_DTYPES, StoredTensor
from .torch_support import import_torch, st_dtypes

ShardLoader = Callable[[int], Mapping[str, Any]]
"""Returns the tensors of input shard ``i`` (names already normalised): ``torch.Tensor`` or
:class:`StoredTensor`."""
Progress = Callable[[int, int, str], None]
"""Called with (bytes done, bytes in all, what is happening); writing and verifying each count once."""

DTYPE_CHOICES = ("keep", "bf16", "fp16", "fp32")
CHUNK = 64 * 1024 * 1024
"""Bytes per write, copy or compare call (and per progress tick) for large tensors."""
INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
LM_HEAD = "lm_head.weight"


def target_dtype(choice: str) -> Any:
    """The torch dtype for ``--dtype`` (None for ``keep``)."""
    if choice not in DTYPE_CHOICES:
        raise UsageError(f"--dtype {choice!r}: unknown", hint=f"choose one of {', '.join(DTYPE_CHOICES)}")
    if choice == "keep":
        return None
    torch = import_torch()
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[choice]


def prepare(tensor: Any, dtype: Any) -> Any:
    """The tensor as it is written: floating point cast to ``dtype`` (when given), contiguous, on the CPU.

    A :class:`StoredTensor` is kept as it is (its bytes are copied from its file) unless it must be cast."""
    if isinstance(tensor, StoredTensor):
        if kept_as_stored(tensor, dtype):
            return tensor
        tensor = tensor.clone()
    if dtype is not None and tensor.is_floating_point() and tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    return tensor.contiguous()


def in_memory(tensor: Any) -> Any:
    """A ``torch.Tensor`` for ``tensor`` (a :class:`StoredTensor` is read from its file)."""
    return tensor.clone() if isinstance(tensor, StoredTensor) else tensor


def kept_as_stored(tensor: Any, dtype: Any) -> bool:
    """Whether ``tensor`` is a :class:`StoredTensor` written exactly as it is stored (no cast)."""
    return isinstance(tensor, StoredTensor) and (dtype is None or not tensor.is_floating_point())


@dataclass
class TensorPlan:
    """One tensor to write."""

    name: str
    source: int
    """Input shard it comes from."""
    dtype: str
    """safetensors dtype name (F32, BF16 ...)."""
    shape: list[int]
    nbytes: int


@dataclass
class ShardPlan:
    """One output file."""

    filename: str
    tensors: list[TensorPlan]

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)


@dataclass
class WritePlan:
    """Everything that will be written, decided before the first byte is."""

    shards: list[ShardPlan]
    parameters: int
    dropped: list[str] = field(default_factory=list)
    """Tensors left out on purpose, with why (tied weights)."""
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(s.nbytes for s in self.shards)

    @property
    def tensors(self) -> list[TensorPlan]:
        return [t for s in self.shards for t in s.tensors]

    @property
    def dtypes(self) -> list[str]:
        return sorted({t.dtype for t in self.tensors})

    @property
    def header_bytes(self) -> int:
        """A generous bound on the bytes of headers and index (for the free-space check)."""
        return sum(len(t.name) + 128 for t in self.tensors) * 2 + 4096 * len(self.shards)


def make_plan(
    n_inputs: int,
    load: ShardLoader,
    *,
    dtype: Any,
    max_shard_size: int,
    tie_word_embeddings: bool | None,
) -> WritePlan:
    """Decide names, dtypes and shard files from the input shards' metadata (no tensor data is read)."""
    entries: list[TensorPlan] = []
    seen: dict[str, int] = {}
    dropped: list[str] = []
    notes: list[str] = []
    parameters = 0
    for i in range(n_inputs):
        tensors = load(i)
        aliases = _alias_groups(tensors)
        for name, tensor in tensors.items():
            if name in seen:
                raise ConvertError(
                    f"tensor {name!r} appears in input shards {seen[name] + 1} and {i + 1}",
                    hint="the shards come from different checkpoints; keep one set of shard files",
                )
            seen[name] = i
            group = aliases.get(name)
            if group and tie_word_embeddings and name == LM_HEAD and any(n != LM_HEAD for n in group):
                dropped.append(
                    f"{LM_HEAD} (shares its storage with {_other(group)}; tie_word_embeddings is set)"
                )
                continue
            if group and name != group[0] and not tie_word_embeddings:
                notes.append(
                    f"{name} shares storage with {group[0]} but config.json does not tie them: both written"
                )
            numel = tensor.numel()
            st_name: str
            itemsize: int
            if kept_as_stored(tensor, dtype):
                st_name, itemsize = tensor.dtype, tensor.itemsize
            else:
                torch = import_torch()
                st_names = st_dtypes(torch)
                in_dtype = (
                    getattr(torch, TORCH_DTYPES[tensor.dtype]) if isinstance(tensor, StoredTensor) else None
                )
                out_dtype = (
                    dtype if (dtype is not None and tensor.is_floating_point()) else in_dtype or tensor.dtype
                )
                if out_dtype not in st_names:
                    raise ConvertError(
                        f"tensor {name!r} has dtype {out_dtype}, which safetensors cannot store",
                        hint="pass --dtype bf16, fp16 or fp32 if it is floating point",
                    )
                st_name, itemsize = st_names[out_dtype], _itemsize(out_dtype, torch)
            parameters += numel
            entries.append(
                TensorPlan(
                    name=name,
                    source=i,
                    dtype=st_name,
                    shape=list(tensor.shape),
                    nbytes=numel * itemsize,
                )
            )
        del tensors
    names = {e.name for e in entries}
    if tie_word_embeddings and LM_HEAD in names and any(n.endswith("embed_tokens.weight") for n in names):
        for e in entries:
            if e.name == LM_HEAD:
                parameters -= math.prod(e.shape)
        entries = [e for e in entries if e.name != LM_HEAD]
        dropped.append(f"{LM_HEAD} (config.json sets tie_word_embeddings: the embedding matrix is used)")
    if not entries:
        raise ConvertError("the checkpoint holds no tensors to write", hint="check the input files")
    return WritePlan(
        shards=_pack(entries, max_shard_size), parameters=parameters, dropped=dropped, notes=notes
    )


def _other(group: list[str]) -> str:
    return next(n for n in group if n != LM_HEAD)


def _itemsize(dtype: Any, torch: Any) -> int:
    return int(torch.empty((), dtype=dtype).element_size())


def _alias_groups(tensors: Mapping[str, Any]) -> dict[str, list[str]]:
    """Names that are the very same view of one storage (tied weights), canonical name first."""
    by_view: dict[tuple[Any, ...], list[str]] = {}
    for name, t in tensors.items():
        if t.numel() == 0:
            continue
        if isinstance(t, StoredTensor):
            key = t.view_key()
        else:
            key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
        by_view.setdefault(key, []).append(name)
    groups: dict[str, list[str]] = {}
    for names in by_view.values():
        if len(names) > 1:
            ordered = sorted(names, key=lambda n: (n == LM_HEAD, len(n), n))
            for n in names:
                groups[n] = ordered
    return groups


def _pack(entries: list[TensorPlan], max_shard_size: int) -> list[ShardPlan]:
    groups: list[list[TensorPlan]] = [[]]
    size = 0
    for e in entries:
        if groups[-1] and size + e.nbytes > max_shard_size:
            groups.append([])
            size = 0
        groups[-1].append(e)
        size += e.nbytes
    if len(groups) == 1:
        return [ShardPlan(SINGLE_NAME, groups[0])]
    n = len(groups)
    return [ShardPlan(f"model-{i + 1:05d}-of-{n:05d}.safetensors", g) for i, g in enumerate(groups)]


def header(shard: ShardPlan) -> bytes:
    """The 8-byte length plus JSON header of a shard, padded to 8 bytes like safetensors does."""
    meta: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for t in shard.tensors:
        meta[t.name] = {"dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    text = json.dumps(meta, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text


def index_json(plan: WritePlan) -> str:
    """``model.safetensors.index.json`` for a sharded plan: true total size, only keys that exist."""
    weight_map = {t.name: s.filename for s in plan.shards for t in s.tensors}
    data = {"metadata": {"total_size": plan.total_bytes}, "weight_map": dict(sorted(weight_map.items()))}
    return json.dumps(data, indent=2) + "\n"
