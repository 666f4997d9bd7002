"""Checking written shards against what was meant to be written, bitwise, before anything is kept.

Two ways, chosen per output shard by the writer:

* :func:`verify_copied` — every tensor of the shard was copied unchanged from an input file (a
  :class:`.stored.StoredTensor`): the output file and the input files are memory-mapped read-only and compared
  with libc's ``memcmp`` (header included), without torch and without copying the bytes into Python.
* :func:`verify_shard` — anything else: the shard is read back one key at a time with safetensors'
  ``safe_open`` and each tensor compared with :func:`bitwise_equal` (NaNs and signed zeros as bits).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConvertError
from .plan import CHUNK, Progress, ShardPlan, TensorPlan, header
from .stored import StoredTensor
from .torch_support import import_torch

if TYPE_CHECKING:
    import torch


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
    """libc's memcmp (it runs without the GIL, like the writer's background fsync); None where there is no libc."""
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
