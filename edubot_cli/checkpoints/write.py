"""Streaming safetensors writer: write the planned shards one tensor at a time, verify each, flush it to disk.

Input tensors come from a ``ShardLoader`` (one input shard at a time, memory-mapped for ``.bin`` files), so memory
stays near the size of the largest tensor being converted rather than the model. The safetensors files are
written directly (8-byte header length, JSON header with ``{"format": "pt"}`` metadata, raw little-endian data)
following a :class:`.plan.WritePlan`, and each is checked by :mod:`.verify` right after it is written.

Tensors described by :class:`.stored.StoredTensor` (zip checkpoints read without torch, dtype kept) need no
torch at all: their bytes are copied file to file inside the kernel (``copy_file_range``), and the shard is
verified by comparing its bytes with the input files' bytes directly. A ``torch.Tensor`` that torch memory-mapped
from an input file and that is written unchanged is copied file to file too, once :class:`FileMaps` has found
the file bytes behind it; anything else is written from memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from ..errors import ConvertError
from .plan import (
    CHUNK,
    INDEX_NAME,
    Progress,
    ShardLoader,
    TensorPlan,
    WritePlan,
    header,
    in_memory,
    index_json,
    kept_as_stored,
    prepare,
)
from .stored import Region, StoredTensor
from .torch_support import import_torch
from .verify import verify_copied, verify_shard


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
            if all(kept_as_stored(s, dtype) for s in sources):
                done = verify_copied(path, shard, sources, done, total, progress)
            else:
                done = verify_shard(
                    path, shard, lambda t: in_memory(prepare(inputs.get(t), dtype)), done, total, progress
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

    Worth its keep on the torch.load path: ``tests/benchmarks/bench_convert.py``
    (``test_file_maps_against_plain_writes``) converts a 2 GB checkpoint with and without it, and writing the
    mapped memory instead took 1.06–1.37× as long (best of 5–7 rounds; longer in each of six runs).
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


def fsync_path(path: Path) -> None:
    """Flush a file or a directory (a directory: its entries, e.g. after a rename) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
