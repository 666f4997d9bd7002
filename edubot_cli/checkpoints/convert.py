"""``edubot model convert``: any supported checkpoint in, a verified safetensors directory out, atomically.

The output is built in a hidden temporary directory beside the target and renamed into place only once every
shard has been verified, so an interruption at any moment (even ``kill -9``) leaves no target directory and no
half-written file; leftovers of killed runs are removed by the next conversion to the same target.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConvertError
from .discover import CONFIG_FILES, TOKENIZER_FILES, Source, discover
from .gguf import dequantise
from .load import LoadedShard, load_shard, load_stored_shard
from .plan import Progress, make_plan, target_dtype
from .sizes import DEFAULT_MAX_SHARD_SIZE, format_size, parse_size
from .stored import NotStored
from .torch_support import require_torch
from .write import fsync_path, write_and_verify

Status = Callable[[str], None]
"""Called with a short description of a step that has no byte count (reading, dequantising)."""

TOKENIZER_NEEDED = ("tokenizer.json", "tokenizer.model", "vocab.json")
"""At least one of these is needed for engines to build a tokenizer."""


@dataclass
class ConvertOptions:
    """What ``edubot model convert`` was asked to do."""

    source: Path
    target: Path | None = None
    """Output directory; None means ``models_dir / <source name>``."""
    models_dir: Path = Path("models")
    dtype: str = "keep"
    max_shard_size: str = DEFAULT_MAX_SHARD_SIZE
    force: bool = False


@dataclass
class ConvertResult:
    """What was written, for the summary."""

    target: Path
    source: Source
    tensors: int
    parameters: int
    dtypes: list[str]
    bytes: int
    shards: int
    seconds: float
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def convert(
    options: ConvertOptions, progress: Progress | None = None, status: Status | None = None
) -> ConvertResult:
    """Convert ``options.source`` into a verified safetensors directory; see the module docstring."""
    started = time.monotonic()
    progress = progress or (lambda done, total, what: None)
    status = status or (lambda what: None)
    max_shard = parse_size(options.max_shard_size)
    source = discover(options.source)
    if source.format == "safetensors":
        raise ConvertError(
            f"{options.source}: already a safetensors model, nothing to convert",
            hint=f"serve it as it is: edubot serve --model {source.root}",
        )
    target = options.target if options.target is not None else options.models_dir / source.name
    _check_target(target, source, options.force)
    dtype = target_dtype(options.dtype)

    notes = list(source.notes)
    dropped: list[str] = []
    if source.format == "gguf":
        model = dequantise(source.weights[0], status)
        gguf_tensors = model.tensors
        loader: Callable[[int], Mapping[str, Any]] = lambda i: gguf_tensors  # noqa: E731
        n_inputs = 1
        tie = bool(getattr(model.config, "tie_word_embeddings", False))
    else:
        n_inputs = len(source.weights)
        config = _read_config(source.root)
        tie = bool(config.get("tie_word_embeddings", False)) if config else False
        reports: dict[int, tuple[list[str], int]] = {}
        stored = _read_stored(source.weights) if dtype is None else None

        def loader(i: int) -> Mapping[str, Any]:
            shard = stored[i] if stored is not None else load_shard(source.weights[i])
            reports[i] = (shard.dropped, shard.renamed)
            return shard.tensors

    status(f"planning {len(source.weights)} input file(s)")
    plan = make_plan(n_inputs, loader, dtype=dtype, max_shard_size=max_shard, tie_word_embeddings=tie)
    if source.format == "bin":
        dropped += _loader_report(source, reports)
    dropped += plan.dropped
    notes += plan.notes

    aux = _aux_files(source)
    needed = plan.total_bytes + plan.header_bytes + sum(p.stat().st_size for p in aux)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    free = shutil.disk_usage(target.parent).free
    if free < needed:
        raise ConvertError(
            f"not enough free disk space in {target.parent}: the model needs {format_size(needed)}, "
            f"{format_size(free)} is free",
            hint="free some space, write elsewhere with --output, or halve the size with --dtype bf16",
        )

    warnings: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-{os.getpid()}-", dir=target.parent))
    try:
        write_and_verify(plan, loader, tmp, dtype, progress)
        if source.format == "gguf":
            _write_gguf_aux(model, tmp, options.dtype)
        else:
            warnings += _copy_aux(aux, tmp, options.dtype, notes)
        for path in tmp.iterdir():
            if path.suffix != ".safetensors":  # shards were synced as they were written
                fsync_path(path)
        fsync_path(tmp)
        _move_into_place(tmp, target, options.force)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConvertError(
            f"cannot write {target}: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else ""),
            hint="nothing was kept; check free space and permissions in the output folder, then run it again",
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ConvertResult(
        target=target,
        source=source,
        tensors=len(plan.tensors),
        parameters=plan.parameters,
        dtypes=plan.dtypes,
        bytes=plan.total_bytes,
        shards=len(plan.shards),
        seconds=time.monotonic() - started,
        dropped=dropped,
        notes=notes,
        warnings=warnings,
    )


def _read_stored(paths: list[Path]) -> list[LoadedShard] | None:
    """Every input file read without torch (zip checkpoints of plain contiguous tensors, copied as they are),
    or None when one of them needs ``torch.load``."""
    require_torch()  # the convert extra is required whichever way a file is read
    shards = []
    for path in paths:
        try:
            shards.append(load_stored_shard(path))
        except NotStored:
            return None
    return shards


def _check_target(target: Path, source: Source, force: bool) -> None:
    resolved = target.resolve()
    inputs = [p.resolve() for p in source.weights] + [source.root.resolve()]
    if any(p == resolved or p.is_relative_to(resolved) for p in inputs):
        raise ConvertError(
            f"{target}: the output would replace the checkpoint being converted",
            hint="choose another output directory with --output",
        )
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise ConvertError(f"{target}: exists and is not a directory", hint="choose another --output")
        if not force:
            raise ConvertError(
                f"{target}: already exists",
                hint="pass --force to replace it, or choose another directory with --output",
            )


def _read_config(root: Path) -> dict[str, Any] | None:
    path = root / "config.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConvertError(f"{path}: unreadable ({exc})", hint="fix or remove the file") from exc
    if not isinstance(data, dict):
        raise ConvertError(f"{path}: must hold a JSON object", hint="fix or remove the file")
    return data


def _loader_report(source: Source, reports: dict[int, tuple[list[str], int]]) -> list[str]:
    dropped: list[str] = []
    renamed = 0
    for i in sorted(reports):
        entries, count = reports[i]
        renamed += count
        if entries:
            where = f" in {source.weights[i].name}" if len(source.weights) > 1 else ""
            dropped.append(f"non-weight entries{where}: {', '.join(entries)}")
    if renamed:
        dropped.append(f"'module.'/'_orig_mod.' prefixes removed from {renamed} tensor names")
    return dropped


def _aux_files(source: Source) -> list[Path]:
    if source.format == "gguf":
        return []
    return [source.root / n for n in (*CONFIG_FILES, *TOKENIZER_FILES) if (source.root / n).is_file()]


def _copy_aux(files: list[Path], tmp: Path, dtype: str, notes: list[str]) -> list[str]:
    warnings: list[str] = []
    names = {p.name for p in files}
    for path in files:
        shutil.copyfile(path, tmp / path.name)
    if "config.json" not in names:
        warnings.append(
            "no config.json next to the weights: transformers and vLLM need it — copy the base model's config.json "
            "into the output directory"
        )
    else:
        if dtype != "keep":
            _set_config_dtype(tmp / "config.json", dtype)
        _ensure_architectures(tmp / "config.json", notes, warnings)
    if not names & set(TOKENIZER_NEEDED):
        warnings.append(
            "no tokenizer files next to the weights (tokenizer.json, tokenizer_config.json ...): vLLM and "
            "`transformers serve` need them — copy the base model's tokenizer files into the output directory"
        )
    return warnings


def _ensure_architectures(path: Path, notes: list[str], warnings: list[str]) -> None:
    """vLLM picks the model class from ``architectures``; fill it in from ``model_type`` when it is missing."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("architectures"):
        return
    model_type = data.get("model_type")
    classes: Mapping[str, str] = {}
    with contextlib.suppress(ImportError):
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES as classes
    name = classes.get(model_type) if isinstance(model_type, str) else None
    if not name:
        warnings.append(
            'config.json has no "architectures" entry, which vLLM needs: add the model class, e.g. '
            '"architectures": ["LlamaForCausalLM"]'
        )
        return
    data["architectures"] = [name]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    notes.append(
        f'config.json had no "architectures" entry: set to ["{name}"] from model_type {model_type!r}'
    )


def _set_config_dtype(path: Path, dtype: str) -> None:
    name = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[dtype]
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = [k for k in ("dtype", "torch_dtype") if k in data] or ["torch_dtype"]
    for k in keys:
        data[k] = name
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _write_gguf_aux(model: Any, tmp: Path, dtype: str) -> None:
    if dtype != "keep":
        model.config.dtype = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[dtype]
    model.config.save_pretrained(tmp)
    model.generation_config.save_pretrained(tmp)
    model.tokenizer.save_pretrained(tmp)
    config = tmp / "tokenizer_config.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    # Name the generic fast tokenizer class, which every transformers release (and so every engine) knows.
    if data.get("tokenizer_class") == "TokenizersBackend":
        data["tokenizer_class"] = "PreTrainedTokenizerFast"
    for key in ("is_local", "local_files_only"):
        data.pop(key, None)
    config.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _remove_stale(target: Path) -> None:
    """Remove temporary directories left beside ``target`` by conversions that were killed."""
    for path in target.parent.glob(f".{target.name}.partial-*"):
        pid_text = path.name.removeprefix(f".{target.name}.partial-").split("-", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)) and path.is_dir():
            shutil.rmtree(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _move_into_place(tmp: Path, target: Path, force: bool) -> None:
    """Rename ``tmp`` to ``target`` without ever replacing something that appeared meanwhile unless ``force``;
    an existing target is swapped out atomically where the OS allows."""
    if _renameat2(tmp, target, RENAME_NOREPLACE):
        fsync_path(target.parent)
        return
    if not target.exists():
        os.rename(tmp, target)  # systems without renameat2
    elif not force:
        raise ConvertError(
            f"{target}: appeared while converting; nothing was replaced",
            hint="pass --force to replace it, or choose another directory with --output",
        )
    elif _renameat2(tmp, target, RENAME_EXCHANGE):
        shutil.rmtree(tmp)  # now holds the replaced model
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old / target.name)
        os.rename(tmp, target)
        shutil.rmtree(old)
    fsync_path(target.parent)


RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


def _renameat2(a: Path, b: Path, flag: int) -> bool:
    """renameat2(2) with ``flag`` (Linux): True when done; False where unsupported or when ``b`` exists
    (for RENAME_NOREPLACE)."""
    renameat2 = None
    with contextlib.suppress(OSError, AttributeError):
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    if renameat2 is None:
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), flag) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP) or (
        flag == RENAME_NOREPLACE and err == errno.EEXIST
    ):
        return False
    raise OSError(err, os.strerror(err), str(b))
