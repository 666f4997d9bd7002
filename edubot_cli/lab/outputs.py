"""What ilab leaves on disk: datasets from ``data generate`` and checkpoints from ``model train``.

``ilab data generate`` (0.26) writes into ``<output-dir>/<YYYY-MM-DD_HHMMSS>/``: ``skills_train_msgs_<time>.jsonl``
and ``knowledge_train_msgs_<time>.jsonl`` (messages format, what ``--pipeline full|accelerated`` trains on),
``train_<time>.jsonl`` / ``test_<time>.jsonl`` (the legacy format of ``--pipeline simple``), ``messages_<time>.jsonl``,
and working folders (``preprocessed_*``, ``generated_*``, ``node_datasets_*``, ``checkpoints``).

``ilab model train`` writes ``<ckpt-output-dir>/hf_format/samples_N/`` (N = samples seen; ``last_epoch`` with some
trainers) for ``full``/``accelerated``; ``simple`` on Linux writes ``training_results/`` in its working folder and
a GGUF model whose path it logs ("Save trained model to ...").
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import LabError
from .records import StoredRecord, count_records, read_records

TRAINING_MSGS_RE = re.compile(r"^(skills|knowledge)_train_msgs_.*\.jsonl$")
LEGACY_TRAIN_RE = re.compile(r"^train_.*\.jsonl$")
LEGACY_TEST_RE = re.compile(r"^test_.*\.jsonl$")
MESSAGES_RE = re.compile(r"^messages_.*\.jsonl$")
WORK_DIR_RE = re.compile(r"^(preprocessed_|generated_|node_datasets_|checkpoints$|documents$)")
SAMPLES_RE = re.compile(r"^samples_(\d+)$")
SAVED_GGUF_RE = re.compile(r"Save trained model to (\S+\.gguf)")
WEIGHT_FILES = (
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "model.safetensors",
    "model.safetensors.index.json",
)


def dataset_kind(name: str) -> str:
    """What a dataset file is for, from its name."""
    if name.startswith("skills_train_msgs_"):
        return "skills training (messages)"
    if name.startswith("knowledge_train_msgs_"):
        return "knowledge training (messages)"
    if LEGACY_TRAIN_RE.match(name):
        return "training (legacy, --pipeline simple)"
    if LEGACY_TEST_RE.match(name):
        return "test (legacy)"
    if MESSAGES_RE.match(name):
        return "messages (all leaves)"
    return "other"


@dataclass(frozen=True)
class Dataset:
    """One ``.jsonl`` dataset under the datasets folder."""

    path: Path
    relative: str
    kind: str
    bytes: int
    records: int
    modified: datetime
    run: str | None
    """File name of the run record that lists this file, if any."""
    run_exit_code: int | None


def _dataset_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not WORK_DIR_RE.match(d) and not d.startswith("."))
        files.extend(Path(folder, n) for n in names if n.endswith(".jsonl"))
    return files


def _record_index(root: Path, files: Sequence[Path]) -> dict[Path, StoredRecord]:
    folders = {root} | {f.parent for f in files} | {f.parent.parent for f in files if f.parent != root}
    index: dict[Path, StoredRecord] = {}
    for record in read_records(sorted(folders)):
        for relative in record.files:
            index[(record.path.parent / relative).resolve()] = record
    return index


def list_datasets(root: Path) -> list[Dataset]:
    """The datasets under ``root``, newest first, with record counts and the run that made each.

    A folder that does not exist yet holds no datasets (it is made by the first `data generate`).
    """
    if not root.is_dir():
        return []
    files = _dataset_files(root)
    runs = _record_index(root, files)
    found = []
    for path in files:
        stat = path.stat()
        record = runs.get(path.resolve())
        exit_code = record.data.get("exit_code") if record else None
        found.append(
            Dataset(
                path=path,
                relative=path.relative_to(root).as_posix(),
                kind=dataset_kind(path.name),
                bytes=stat.st_size,
                records=count_records(path),
                modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                run=record.path.name if record else None,
                run_exit_code=exit_code if isinstance(exit_code, int) else None,
            )
        )
    return sorted(found, key=lambda d: (d.modified, d.relative), reverse=True)


def newest_training_file(root: Path, pipeline: str) -> Path:
    """The newest non-empty training ``.jsonl`` under ``root`` for ``pipeline``.

    ``full``/``accelerated`` train on ``*_train_msgs_*.jsonl`` (skills preferred over knowledge from the same
    moment, since the skills mix also carries the knowledge samples); ``simple`` on legacy ``train_*.jsonl``.
    """
    if not root.is_dir():
        raise LabError(
            f"no training data: the datasets folder {root} does not exist",
            hint="run `edubot data generate` first, or pass --data-path FILE.jsonl",
        )
    pattern = LEGACY_TRAIN_RE if pipeline == "simple" else TRAINING_MSGS_RE
    candidates = [p for p in _dataset_files(root) if pattern.match(p.name) and count_records(p) > 0]
    if not candidates:
        wanted = (
            "train_*.jsonl"
            if pipeline == "simple"
            else "skills_train_msgs_*.jsonl / knowledge_train_msgs_*.jsonl"
        )
        raise LabError(
            f"no non-empty training file ({wanted}) under {root}",
            hint="run `edubot data generate` first (see `edubot data list`), or pass --data-path FILE.jsonl",
        )

    def order(path: Path) -> tuple[int, int, str]:
        return (path.stat().st_mtime_ns, 1 if path.name.startswith("skills_") else 0, path.name)

    return max(candidates, key=order)


@dataclass(frozen=True)
class Checkpoint:
    """A trained model ilab wrote."""

    path: Path
    kind: str
    """``samples_N``, ``last_epoch`` or ``gguf``."""
    samples: int | None = None


def _has_weights(folder: Path) -> bool:
    return any((folder / name).is_file() for name in WEIGHT_FILES) or any(folder.glob("pytorch_model-*.bin"))


def newest_checkpoint(ckpt_dir: Path, log_lines: Sequence[str] = ()) -> Checkpoint | None:
    """The checkpoint to serve from a training run.

    ``hf_format/samples_N`` with the largest N; else ``hf_format/last_epoch``; else the GGUF that
    ``--pipeline simple`` reported saving in ``log_lines``. None when there is none.
    """
    hf = ckpt_dir / "hf_format"
    if hf.is_dir():
        samples = []
        for child in hf.iterdir():
            match = SAMPLES_RE.match(child.name)
            if match and child.is_dir() and _has_weights(child):
                samples.append((int(match.group(1)), child))
        if samples:
            n, path = max(samples)
            return Checkpoint(path=path, kind="samples_N", samples=n)
        last = hf / "last_epoch"
        if last.is_dir() and _has_weights(last):
            return Checkpoint(path=last, kind="last_epoch")
    for line in reversed(log_lines):
        match = SAVED_GGUF_RE.search(line)
        if match and Path(match.group(1)).is_file():
            return Checkpoint(path=Path(match.group(1)), kind="gguf")
    return None
