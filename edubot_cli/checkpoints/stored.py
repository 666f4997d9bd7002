"""Reading zip-format PyTorch checkpoints without torch: tensor descriptors that point at bytes in the file.

``torch.save`` (torch >= 1.6) writes a zip archive: ``<prefix>/data.pkl`` (the pickled object, whose tensors
refer to storages by key) and one uncompressed entry ``<prefix>/data/<key>`` per storage. For the common case —
plain tensors and values, contiguous tensors, stored (uncompressed) entries, little-endian — the pickle is read
with an unpickler that resolves only an allow-list of names, each to a stand-in defined here, so nothing from
the file is ever run; each tensor becomes a :class:`StoredTensor` giving its dtype, shape and byte range in the
file. Anything else raises :class:`NotStored`, and the caller uses ``torch.load(weights_only=True)`` instead.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConvertError
from .torch_support import import_torch

FLOATING = frozenset({"F64", "F32", "F16", "BF16"})
STORAGE_TYPES = {
    "DoubleStorage": ("F64", 8),
    "FloatStorage": ("F32", 4),
    "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2),
    "LongStorage": ("I64", 8),
    "IntStorage": ("I32", 4),
    "ShortStorage": ("I16", 2),
    "CharStorage": ("I8", 1),
    "ByteStorage": ("U8", 1),
    "BoolStorage": ("BOOL", 1),
}
"""``torch.<name>`` storage types read without torch: safetensors dtype name and item size."""
TORCH_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
}
_LOCAL_HEADER = struct.Struct("<4s22xHH")
"""Signature, then (after the fields not needed here) the file name and extra field lengths."""


class NotStored(Exception):
    """The checkpoint needs ``torch.load`` (the reason says why)."""


class _Sealed:
    """A stand-in the pickle may hold but never alter: BUILD would otherwise write straight into the instance
    (past ``frozen``), undoing the checks made when it was created."""

    def __setstate__(self, state: Any) -> None:
        raise NotStored(f"the pickle alters a {type(self).__name__}")


@dataclass(frozen=True)
class Region:
    """Where a tensor's bytes lie in a file."""

    path: str
    offset: int
    inode: int
    device: tuple[int, int]

    def open(self) -> int:
        """A read-only descriptor of the file, checked to be the one the region was found in."""
        fd = os.open(self.path, os.O_RDONLY)
        st = os.fstat(fd)
        if (st.st_ino, (os.major(st.st_dev), os.minor(st.st_dev))) != (self.inode, self.device):
            os.close(fd)
            raise ConvertError(
                f"{self.path} changed while it was being converted", hint="run the conversion again"
            )
        return fd


@dataclass(frozen=True)
class StoredTensor(_Sealed):
    """A contiguous tensor in a checkpoint file, described but not read."""

    dtype: str
    """safetensors dtype name (F32, BF16 ...)."""
    shape: tuple[int, ...]
    itemsize: int
    region: Region
    storage: str
    """Key of the storage it is a view of (tensors of one file sharing a storage share this key)."""
    storage_offset: int

    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel() * self.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype in FLOATING

    def view_key(self) -> tuple[Any, ...]:
        """Equal for tensors that are the very same view of one storage (tied weights)."""
        return (self.region.path, self.storage, self.storage_offset, self.shape, self.dtype)

    def clone(self) -> Any:
        """The tensor read into memory as a ``torch.Tensor`` (imports torch)."""
        torch = import_torch()
        with open(self.region.open(), "rb") as f:
            f.seek(self.region.offset)
            data = bytearray(f.read(self.nbytes))
        if len(data) != self.nbytes:
            raise EOFError(f"{self.region.path}: ends inside a tensor")
        dtype = getattr(torch, TORCH_DTYPES[self.dtype])
        if not data:
            return torch.empty(self.shape, dtype=dtype)
        return torch.frombuffer(data, dtype=dtype).reshape(self.shape)


@dataclass(frozen=True)
class _StorageType(_Sealed):
    name: str


@dataclass(frozen=True)
class _Storage(_Sealed):
    key: str
    dtype: str
    itemsize: int
    numel: int
    region: Region


class _Dict(dict[Any, Any]):
    """Stands in for ``collections.OrderedDict`` (state dicts carry a ``_metadata`` attribute)."""


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any,
    backward_hooks: Any,
    metadata: Any = None,
) -> StoredTensor:
    if not isinstance(storage, _Storage) or metadata or backward_hooks:
        raise NotStored("a tensor with hooks or metadata")
    if not (_ints(size) and _ints(stride) and len(size) == len(stride)) or not _ints((storage_offset,)):
        raise NotStored("a tensor with an unusual size or stride")
    numel = math.prod(size)
    if numel and any(
        n != 1 and s != math.prod(size[i + 1 :]) for i, (n, s) in enumerate(zip(size, stride, strict=True))
    ):
        raise NotStored("a non-contiguous tensor")
    if numel and storage_offset + numel > storage.numel:
        raise NotStored("a tensor outside its storage")
    region = storage.region
    return StoredTensor(
        dtype=storage.dtype,
        shape=tuple(size),
        itemsize=storage.itemsize,
        region=Region(
            region.path, region.offset + storage_offset * storage.itemsize, region.inode, region.device
        ),
        storage=storage.key,
        storage_offset=storage_offset,
    )


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> StoredTensor:
    if not isinstance(data, StoredTensor) or backward_hooks:
        raise NotStored("a parameter with hooks")
    return data


def _ints(values: Any) -> bool:
    return isinstance(values, tuple) and all(type(v) is int and v >= 0 for v in values)


_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _Dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in STORAGE_TYPES},
}
"""The only names a pickle may refer to; each resolves to a stand-in above, never to the real thing."""


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, storages: _Storages) -> None:
        super().__init__(io.BytesIO(data))
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _GLOBALS[(module, name)]
        except KeyError:
            raise NotStored(f"the pickle refers to {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise NotStored("an unknown kind of persistent reference")
        _, kind, key, _location, numel = pid
        if not isinstance(kind, _StorageType) or not isinstance(key, str) or type(numel) is not int:
            raise NotStored("an unknown kind of storage")
        return self._storages.get(kind, key, numel)


class _Storages:
    """The data entries of one archive, located through their local file headers."""

    def __init__(self, f: Any, path: Path, archive: zipfile.ZipFile, prefix: str) -> None:
        self._f = f
        self._archive = archive
        self._prefix = prefix
        st = os.fstat(f.fileno())
        self._size = st.st_size
        self._identity = (st.st_ino, (os.major(st.st_dev), os.minor(st.st_dev)))
        self._path = str(path.resolve())
        self._seen: dict[str, _Storage] = {}

    def get(self, kind: _StorageType, key: str, numel: int) -> _Storage:
        dtype, itemsize = STORAGE_TYPES[kind.name]
        if key in self._seen:
            storage = self._seen[key]
            if storage.dtype != dtype:
                raise NotStored("one storage read as two dtypes")
            return storage
        try:
            info = self._archive.getinfo(f"{self._prefix}data/{key}")
        except KeyError:
            raise NotStored(f"storage {key} is missing") from None
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise NotStored(f"storage {key} is compressed")
        if info.file_size < numel * itemsize:
            raise NotStored(f"storage {key} is shorter than its tensors")
        self._f.seek(info.header_offset)
        signature, name_len, extra_len = _LOCAL_HEADER.unpack(self._f.read(_LOCAL_HEADER.size))
        if signature != b"PK\x03\x04":
            raise NotStored(f"storage {key} has no local file header")
        offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        if offset + info.file_size > self._size:
            raise NotStored(f"storage {key} runs past the end of the file")
        region = Region(self._path, offset, *self._identity)
        storage = self._seen[key] = _Storage(key, dtype, itemsize, numel, region)
        return storage


def has_compressed_entries(path: Path) -> bool:
    """Whether ``path`` is a zip archive with compressed entries, which ``torch.load(mmap=True)`` maps as if
    they were stored, returning the compressed bytes as tensor data."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(info.compress_type != zipfile.ZIP_STORED for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return False


def read_checkpoint(path: Path) -> Any:
    """The object saved in ``path``, with :class:`StoredTensor` in place of tensors; :class:`NotStored` when
    only ``torch.load`` can read it."""
    try:
        with open(path, "rb") as f:
            if not zipfile.is_zipfile(f):
                raise NotStored("not a zip archive (legacy format)")
            with zipfile.ZipFile(f) as archive:
                names = archive.namelist()
                pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
                if len(pickles) != 1:
                    raise NotStored("not a torch.save archive")
                prefix = pickles[0].removesuffix("data.pkl")
                if not prefix or prefix + "constants.pkl" in names:
                    raise NotStored("a TorchScript archive")
                if prefix + "byteorder" in names and archive.read(prefix + "byteorder").strip() != b"little":
                    raise NotStored("big-endian data")
                data = archive.read(pickles[0])
                return _Unpickler(data, _Storages(f, path, archive, prefix)).load()
    except NotStored:
        raise
    except (pickle.UnpicklingError, zipfile.BadZipFile, OSError, EOFError, struct.error) as exc:
        raise NotStored(f"unreadable here ({exc})") from exc
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as exc:
        # Opcodes applied to the stand-ins in ways torch.save never writes: left to torch.load to judge.
        raise NotStored(f"an unusual pickle ({type(exc).__name__}: {exc})") from exc
