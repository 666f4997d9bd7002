"""Which checkpoint a path points at: the input layouts ``edubot model convert`` accepts.

A path may be a directory with ``pytorch_model.bin``, a sharded directory (``pytorch_model-0000i-of-0000N.bin``
plus ``pytorch_model.bin.index.json``), a single ``.bin`` / ``.pt`` / ``.pth`` file, an InstructLab
``hf_format/samples_N`` directory, a training-run folder (the newest ``samples_N`` is picked), a GGUF file, or an
already converted safetensors directory (which ``inspect`` describes and ``convert`` refuses).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import ConvertError

Format = Literal["bin", "safetensors", "gguf"]

BIN_SUFFIXES = (".bin", ".pt", ".pth")
BIN_INDEX = "pytorch_model.bin.index.json"
SAFETENSORS_INDEX = "model.safetensors.index.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.bin", "adapter_model.safetensors")
SAMPLES_RE = re.compile(r"^samples_(\d+)$")

CONFIG_FILES = ("config.json", "generation_config.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
)
"""Files that make up a tokenizer and its chat template (whichever of them exist are copied)."""


@dataclass
class Source:
    """A checkpoint found on disk."""

    path: Path
    """What the user passed."""
    format: Format
    weights: list[Path]
    """Weight files in order (one GGUF file, one or more ``.bin`` shards, or safetensors shards)."""
    root: Path
    """Folder holding config.json and tokenizer files (the weights' folder)."""
    index: Path | None = None
    """The shard index, when the weights are sharded."""
    notes: list[str] = field(default_factory=list)
    """Things worth telling the user (e.g. which samples_N folder of a training run was picked)."""

    @property
    def name(self) -> str:
        """A default model name for ``models/<name>/``."""
        if self.path.is_file() and self.format == "gguf":
            return self.path.name.removesuffix(".gguf")
        if self.path.is_file():
            return self.path.stem
        match = SAMPLES_RE.match(self.root.name)
        if match:
            run = self.root.parent.parent if self.root.parent.name == "hf_format" else self.root.parent
            return f"{run.resolve().name}-{self.root.name}"
        return self.path.resolve().name

    @property
    def size(self) -> int:
        """Bytes of the weight files."""
        return sum(p.stat().st_size for p in self.weights)


def discover(path: Path) -> Source:
    """The checkpoint at ``path``, or a ``ConvertError`` saying what was expected there."""
    if not path.exists():
        raise ConvertError(
            f"{path}: no such file or directory", hint="pass a checkpoint folder or weights file"
        )
    if path.is_file():
        return _from_file(path)
    _refuse_adapter(path)
    hf_format = path / "hf_format"
    samples_parent = hf_format if hf_format.is_dir() else path
    samples = _samples_dirs(samples_parent)
    if samples and not _has_weights(path):
        newest = samples[-1]
        source = _from_dir(newest, path)
        others = len(samples) - 1
        source.notes.insert(
            0,
            f"picked the newest checkpoint {newest}"
            + (f" (of {len(samples)}; pass a samples_N folder to choose another)" if others else ""),
        )
        return source
    return _from_dir(path, path)


def _from_file(path: Path) -> Source:
    if path.suffix == ".gguf":
        return Source(path=path, format="gguf", weights=[path], root=path.parent)
    if path.suffix in BIN_SUFFIXES:
        if path.name.startswith("adapter_model"):
            _refuse_adapter(path.parent)
        return Source(path=path, format="bin", weights=[path], root=path.parent)
    if path.suffix == ".safetensors":
        return Source(path=path, format="safetensors", weights=[path], root=path.parent)
    if path.name.endswith(".index.json"):
        return _from_dir(path.parent, path.parent)
    raise ConvertError(
        f"{path}: not a checkpoint file (expected .bin, .pt, .pth, .safetensors or .gguf)",
        hint="pass the checkpoint folder or its weights file",
    )


def _from_dir(directory: Path, given: Path) -> Source:
    _refuse_adapter(directory)
    if (directory / SAFETENSORS_INDEX).is_file():
        return Source(
            given,
            "safetensors",
            _index_files(directory / SAFETENSORS_INDEX),
            directory,
            directory / SAFETENSORS_INDEX,
        )
    if (directory / "model.safetensors").is_file():
        return Source(given, "safetensors", [directory / "model.safetensors"], directory)
    if (directory / BIN_INDEX).is_file():
        return Source(given, "bin", _index_files(directory / BIN_INDEX), directory, directory / BIN_INDEX)
    if (directory / "pytorch_model.bin").is_file():
        return Source(given, "bin", [directory / "pytorch_model.bin"], directory)
    singles = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (*BIN_SUFFIXES, ".gguf"))
    if len(singles) == 1:
        source = _from_file(singles[0])
        source.path = given
        return source
    found = ", ".join(p.name for p in singles[:5]) if singles else "no weight files"
    raise ConvertError(
        f"{directory}: no checkpoint found ({found})",
        hint="expected pytorch_model.bin, pytorch_model.bin.index.json, model.safetensors, an hf_format/samples_N "
        "folder, or exactly one .bin/.pt/.pth/.gguf file; pass the file itself when there are several",
    )


def _has_weights(directory: Path) -> bool:
    names = ("pytorch_model.bin", BIN_INDEX, "model.safetensors", SAFETENSORS_INDEX)
    return any((directory / n).is_file() for n in names)


def _samples_dirs(parent: Path) -> list[Path]:
    """``samples_N`` folders holding weights, ordered by N (the newest last)."""
    found: list[tuple[int, Path]] = []
    for child in parent.iterdir():
        match = SAMPLES_RE.match(child.name)
        if match and child.is_dir() and _has_weights(child):
            found.append((int(match.group(1)), child))
    return [p for _, p in sorted(found)]


def _index_files(index: Path) -> list[Path]:
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
        weight_map = data["weight_map"]
        names = list(dict.fromkeys(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConvertError(
            f"{index}: unreadable shard index ({exc})",
            hint="the index must be JSON with a 'weight_map' object",
        ) from exc
    files = [index.parent / n for n in sorted(names)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ConvertError(
            f"{index}: names shard(s) that do not exist: {', '.join(missing[:5])}",
            hint="copy the missing shard files next to the index",
        )
    return files


def _refuse_adapter(directory: Path) -> None:
    found = [n for n in ADAPTER_FILES if (directory / n).exists()]
    if found:
        raise ConvertError(
            f"{directory}: this is a LoRA/PEFT adapter ({', '.join(found)}), not a full model",
            hint=LORA_HINT,
        )


LORA_HINT = (
    "merge the adapter into its base model first — with peft: "
    "AutoPeftModelForCausalLM.from_pretrained(ADAPTER_DIR).merge_and_unload().save_pretrained(MERGED_DIR) — "
    "then run `edubot model convert MERGED_DIR`"
)
