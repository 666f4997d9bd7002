"""Streaming safetensors writer: plan the shards, write them one tensor at a time, verify them bitwise.

Input tensors come from a ``ShardLoader`` (one input shard at a time, memory-mapped for ``.bin`` files), so memory
stays near the size of the largest tensor being converted rather than the model. The safetensors files are
written directly (8-byte header length, JSON header with ``{"format": "pt"}`` metadata, raw little-endian data),
then read back one key at a time with ``safe_open`` and compared byte for byte with what was meant to be written.

Tensors described by :class:`.stored.StoredTensor` (zip checkpoints read without torch, dtype kept) need no
torch at all: their bytes are copied file to file, and each output shard is verified by comparing its bytes
with the input files' bytes directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import math
import mmap
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import ConvertError, UsageError
from .load import import_torch
from .stored import TORCH_DTYPES, Region, StoredTensor

if TYPE_CHECKING:
    import torch

ShardLoader = Callable[[int], Mapping[str, Any]]
"""Returns the tensors of input shard ``i`` (names already normalised): ``torch.Tensor`` or
:class:`StoredTensor`."""
Progress = Callable[[int, int, str], None]
"""Called with (bytes done, bytes in all, what is happening); writing and verifying each count once."""

DTYPE_CHOICES = ("keep", "bf16", "fp16", "fp32")
DEFAULT_MAX_SHARD_SIZE = "5GB"
CHUNK = 64 * 1024 * 1024
"""Bytes per write call (and per progress tick) for large tensors."""
INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
LM_HEAD = "lm_head.weight"

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def parse_size(text: str) -> int:
    """Bytes in a size like ``5GB`` (decimal: 5×10⁹), ``500MB``, ``2GiB`` (binary) or ``1048576``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise UsageError(
            f"--max-shard-size {text!r}: not a size",
            hint="write a number with a unit, e.g. 5GB, 500MB (decimal) or 2GiB (binary)",
        )
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise UsageError(f"--max-shard-size {text!r}: must be more than 0 bytes", hint="e.g. 5GB")
    return size


def format_size(n: float) -> str:
    """``n`` bytes in decimal units (``1.23 GB``)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} TB"


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
        if _kept(tensor, dtype):
            return tensor
        tensor = tensor.clone()
    if dtype is not None and tensor.is_floating_point() and tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    return tensor.contiguous()


def _in_memory(tensor: Any) -> Any:
    """A ``torch.Tensor`` for ``tensor`` (a :class:`StoredTensor` is read from its file)."""
    return tensor.clone() if isinstance(tensor, StoredTensor) else tensor


def _kept(tensor: Any, dtype: Any) -> bool:
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
            if _kept(tensor, dtype):
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


class _Inputs:
    """Loaded input shards, each dropped once no later output shard needs it."""

    def __init__(self, plan: WritePlan, load: ShardLoader) -> None:
        self._load = load
        self._loaded: dict[int, Mapping[str, Any]] = {}
        self._last_use: dict[int, int] = {}
        for k, shard in enumerate(plan.shards):
            for t in shard.tensors:
                self._last_use[t.source] = k

        self.maps = FileMaps()

    def get(self, t: TensorPlan) -> Any:
        if t.source not in self._loaded:
            self._loaded[t.source] = self._load(t.source)
            self.maps.stale = True  # a new file was mapped
        return self._loaded[t.source][t.name]

    def release_after(self, k: int) -> None:
        for i in [i for i in self._loaded if self._last_use[i] <= k]:
            del self._loaded[i]
            self.maps.stale = True  # its mapping may be gone, and its addresses reused


def write_and_verify(
    plan: WritePlan, load: ShardLoader, directory: Path, dtype: Any, progress: Progress
) -> None:
    """Write every shard of ``plan`` (and the index) into ``directory``, verifying each shard after writing it.

    Each shard is flushed to disk (fsync) in a background thread while it is read back and compared and the
    next shards are written, so the disk and the copying and comparing work at the same time; every flush has
    ended before this returns.
    """
    inputs = _Inputs(plan, load)
    total = 2 * plan.total_bytes
    done = 0
    flushes = _Flushes()
    try:
        for k, shard in enumerate(plan.shards):
            path = directory / shard.filename
            what = f"writing {shard.filename}"
            with open(path, "wb", buffering=0) as f:
                f.write(header(shard))
                for t in shard.tensors:
                    for written in _write_tensor(f, prepare(inputs.get(t), dtype), t, inputs.maps):
                        done += written
                        progress(done, total, what)
                flushes.start(f.fileno())
            sources = [inputs.get(t) for t in shard.tensors]
            if all(_kept(s, dtype) for s in sources):
                done = verify_copied(path, shard, sources, done, total, progress)
            else:
                done = verify_shard(
                    path, shard, lambda t: _in_memory(prepare(inputs.get(t), dtype)), done, total, progress
                )
            inputs.release_after(k)
        flushes.wait()
    finally:
        flushes.join()
    if len(plan.shards) > 1:
        index = directory / INDEX_NAME
        index.write_text(index_json(plan), encoding="utf-8")
        fsync_path(index)


class _Flushes:
    """Output files flushed to disk (fsync) in background threads while later shards are written and verified."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._errors: list[OSError] = []

    def start(self, fd: int) -> None:
        own = os.dup(fd)  # the caller may close its descriptor before the flush ends

        def sync() -> None:
            try:
                os.fsync(own)
            except OSError as exc:
                self._errors.append(exc)
            finally:
                os.close(own)

        thread = threading.Thread(target=sync, name="edubot-fsync")
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def wait(self) -> None:
        """Wait for every flush; raise the first error."""
        self.join()
        if self._errors:
            raise ConvertError(
                f"cannot flush the output to disk: {self._errors[0].strerror}", hint="check the disk"
            )


def _write_tensor(f: Any, tensor: Any, t: TensorPlan, maps: FileMaps | None = None) -> Iterator[int]:
    """Write the tensor's bytes, yielding how many went out after each chunk.

    A :class:`StoredTensor`, or a tensor memory-mapped from an input file and written unchanged, is copied file
    to file inside the kernel (``copy_file_range``, as ``cp`` does); anything else is written from memory.
    """
    if tensor.numel() == 0:
        return
    if isinstance(tensor, StoredTensor):
        if tensor.nbytes != t.nbytes:
            raise ConvertError(f"tensor {t.name!r}: {tensor.nbytes} bytes where {t.nbytes} were planned")
        yield from _copy_from_file(f, tensor.region, tensor.nbytes)
        return
    data = memoryview(cast(Any, tensor.reshape(-1).view(_uint8()).numpy()))
    if len(data) != t.nbytes:
        raise ConvertError(f"tensor {t.name!r}: {len(data)} bytes where {t.nbytes} were planned")
    region = maps.find(tensor.data_ptr(), len(data)) if maps is not None else None
    if region is not None:
        yield from _copy_from_file(f, region, len(data))
        return
    for start in range(0, len(data), CHUNK):
        chunk = data[start : start + CHUNK]
        while chunk:
            n = f.write(chunk)
            chunk = chunk[n:]
        yield min(CHUNK, len(data) - start)


def _copy_from_file(f: Any, region: Region, size: int) -> Iterator[int]:
    src = region.open()
    try:
        copied = 0
        while copied < size:
            count = min(CHUNK, size - copied)
            if hasattr(os, "copy_file_range"):
                n = os.copy_file_range(src, f.fileno(), count, region.offset + copied)
            else:
                n = f.write(os.pread(src, count, region.offset + copied))
            if n <= 0:
                raise ConvertError(
                    f"{region.path}: ended early while copying a tensor", hint="is the file complete?"
                )
            copied += n
            yield n
    finally:
        os.close(src)


class FileMaps:
    """This process's file mappings (from /proc/self/smaps), to find the file bytes behind a mapped tensor.

    Only private mappings none of whose pages were ever written (no copy-on-write copies) count: their memory
    is exactly the file's bytes. torch memory-maps checkpoints this way. Re-read whenever files were mapped or
    unmapped (``stale``), since addresses are reused.
    """

    def __init__(self) -> None:
        self.stale = True
        self._maps: list[tuple[int, int, int, str, int, tuple[int, int]]] = []

    def find(self, address: int, size: int) -> Region | None:
        if not hasattr(os, "copy_file_range"):
            return None
        if self.stale:
            self._maps = _read_maps()
            self.stale = False
        for start, end, offset, path, inode, device in self._maps:
            if start <= address and address + size <= end:
                return Region(path, offset + address - start, inode, device)
        return None


def _read_maps() -> list[tuple[int, int, int, str, int, tuple[int, int]]]:
    maps: list[tuple[int, int, int, str, int, tuple[int, int]]] = []
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return maps
    current: tuple[int, int, int, str, int, tuple[int, int]] | None = None
    for line in lines:
        parts = line.split(maxsplit=5)
        if parts and "-" in parts[0] and len(parts) >= 5:
            current = None
            path = parts[5] if len(parts) == 6 else ""
            if parts[1].endswith("p") and path.startswith("/") and not path.endswith(" (deleted)"):
                start, end = (int(x, 16) for x in parts[0].split("-"))
                major, minor = (int(x, 16) for x in parts[3].split(":"))
                current = (start, end, int(parts[2], 16), path, int(parts[4]), (major, minor))
        elif current is not None and parts[:1] == ["Anonymous:"]:
            if parts[1] == "0":
                maps.append(current)
            current = None
    return maps


def _uint8() -> Any:
    return import_torch().uint8


def verify_shard(
    path: Path,
    shard: ShardPlan,
    expected: Callable[[TensorPlan], torch.Tensor],
    done: int,
    total: int,
    progress: Progress,
) -> int:
    """Read ``path`` back one key at a time and compare each tensor bitwise with ``expected``; return ``done``."""
    from safetensors import SafetensorError, safe_open

    what = f"verifying {shard.filename}"
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
            planned = {t.name for t in shard.tensors}
            if keys != planned:
                odd = sorted(keys ^ planned)
                raise ConvertError(
                    f"verification failed: {path.name} holds other keys than planned (e.g. {odd[0]!r})",
                    hint="this is a bug in the writer; please report it",
                )
            if (f.metadata() or {}).get("format") != "pt":
                raise ConvertError(f"verification failed: {path.name} lacks the {{'format': 'pt'}} metadata")
            for t in shard.tensors:
                got = f.get_tensor(t.name)
                if not bitwise_equal(got, expected(t)):
                    raise ConvertError(
                        f"verification failed: tensor {t.name!r} in {path.name} differs from the input",
                        hint="the disk or memory may be faulty; nothing was kept — run the conversion again",
                    )
                del got
                done += t.nbytes
                progress(done, total, what)
    except SafetensorError as exc:
        raise ConvertError(
            f"verification failed: {path.name} cannot be read back ({exc})",
            hint="the disk may be full or faulty; nothing was kept — run the conversion again",
        ) from exc
    return done


def verify_copied(
    path: Path, shard: ShardPlan, sources: list[StoredTensor], done: int, total: int, progress: Progress
) -> int:
    """Compare ``path`` byte for byte with its header and with the input bytes of each tensor (copied from
    ``sources``, in the order of ``shard.tensors``); return ``done``."""
    what = f"verifying {shard.filename}"
    expected_header = header(shard)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(_Mapped(path))
        if out.size != len(expected_header) + shard.nbytes or not out.equal(
            0, _Bytes(expected_header), 0, len(expected_header)
        ):
            raise ConvertError(
                f"verification failed: {path.name} does not hold the planned header and size",
                hint="the disk may be full or faulty; nothing was kept — run the conversion again",
            )
        inputs: dict[str, _Mapped] = {}
        position = len(expected_header)
        for t, source in zip(shard.tensors, sources, strict=True):
            region = source.region
            if region.path not in inputs:
                inputs[region.path] = stack.enter_context(_Mapped(Path(region.path)))
            for start in range(0, t.nbytes, CHUNK):
                size = min(CHUNK, t.nbytes - start)
                if not out.equal(position + start, inputs[region.path], region.offset + start, size):
                    raise ConvertError(
                        f"verification failed: tensor {t.name!r} in {path.name} differs from the input",
                        hint="the disk or memory may be faulty; nothing was kept — run the conversion again",
                    )
                done += size
                progress(done, total, what)
            position += t.nbytes
    return done


class _Bytes:
    """Bytes in memory, compared like a mapped file."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def slice(self, offset: int, size: int) -> bytes:
        return self.data[offset : offset + size]


class _Mapped:
    """A file mapped read-only (copy-on-write, never written), compared with ``memcmp`` without copying."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 — closed in __exit__
        self.size = os.fstat(self._file.fileno()).st_size
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY) if self.size else None
        self._buffer: Any = None
        self.address = 0
        if self._map is not None:
            with contextlib.suppress(AttributeError, OSError):
                self._map.madvise(mmap.MADV_SEQUENTIAL)
            self._buffer = (ctypes.c_char * self.size).from_buffer(self._map)
            self.address = ctypes.addressof(self._buffer)

    def __enter__(self) -> _Mapped:
        return self

    def __exit__(self, *exc: object) -> None:
        self._buffer = None
        if self._map is not None:
            self._map.close()
        self._file.close()

    def slice(self, offset: int, size: int) -> bytes:
        assert self._map is not None
        return self._map[offset : offset + size]

    def equal(self, offset: int, other: _Mapped | _Bytes, other_offset: int, size: int) -> bool:
        if offset + size > self.size:
            return False
        if isinstance(other, _Mapped):
            if other_offset + size > other.size:
                return False
            memcmp = _memcmp()
            if memcmp is not None:
                return memcmp(self.address + offset, other.address + other_offset, size) == 0
        return self.slice(offset, size) == other.slice(other_offset, size)


@functools.cache
def _memcmp() -> Any:
    """libc's memcmp (it runs without the GIL, like the fsync beside it); None where there is no libc."""
    try:
        memcmp = ctypes.CDLL(None).memcmp
    except (OSError, AttributeError):
        return None
    memcmp.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
    memcmp.restype = ctypes.c_int
    return memcmp


def bitwise_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same dtype, shape and bytes (NaNs and signed zeros compared as bits)."""
    torch = import_torch()
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.numel() == 0:
        return True
    ua = a.contiguous().reshape(-1).view(torch.uint8)
    ub = b.contiguous().reshape(-1).view(torch.uint8)
    for wide in (torch.int64, torch.int32):
        size = wide.itemsize
        if ua.numel() % size == 0 and ua.data_ptr() % size == 0 and ub.data_ptr() % size == 0:
            return bool(torch.equal(ua.view(wide), ub.view(wide)))
    return bool(torch.equal(ua, ub))


def fsync_path(path: Path) -> None:
    """Flush a file or a directory (a directory: its entries, e.g. after a rename) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
