"""The safetensors writer on its own: files safetensors accepts for every dtype, casts, progress, input release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.checkpoints import write
from edubot_cli.checkpoints.plan import make_plan
from edubot_cli.checkpoints.verify import bitwise_equal
from edubot_cli.checkpoints.write import write_and_verify

from .conftest import torch

safetensors_torch = pytest.importorskip("safetensors.torch")


def odd_tensors() -> dict[str, Any]:
    return {
        "f32": torch.tensor([1.0, float("nan"), -0.0, float("inf")]),
        "bf16": torch.arange(6, dtype=torch.bfloat16).reshape(2, 3),
        "f16": torch.full((3,), 0.5, dtype=torch.float16),
        "f64": torch.tensor([1e300]),
        "i64": torch.tensor([2**40, -1]),
        "i8": torch.tensor([-3, 4], dtype=torch.int8),
        "u8": torch.tensor([255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "view": torch.arange(12.0).reshape(3, 4)[:, 1:3],
    }


def noop(done: int, total: int, what: str) -> None:
    return None


def test_every_dtype_round_trips_through_safetensors(tmp_path: Path) -> None:
    tensors = odd_tensors()
    plan = make_plan(1, lambda i: tensors, dtype=None, max_shard_size=10**9, tie_word_embeddings=False)
    write_and_verify(plan, lambda i: tensors, tmp_path, None, noop)
    loaded = safetensors_torch.load_file(tmp_path / "model.safetensors")
    assert sorted(loaded) == sorted(tensors)
    for name, tensor in tensors.items():
        assert bitwise_equal(loaded[name], tensor), name
    with safetensors_torch.safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        assert f.metadata() == {"format": "pt"}
    # The header is padded to 8 bytes and lists the tensors in input order.
    ours = (tmp_path / "model.safetensors").read_bytes()
    header_len = int.from_bytes(ours[:8], "little")
    assert header_len % 8 == 0
    names = list(json.loads(ours[8 : 8 + header_len]))[1:]
    assert names == list(tensors)


def test_dtype_conversion_touches_floating_point_only(tmp_path: Path) -> None:
    tensors = odd_tensors()
    plan = make_plan(
        1, lambda i: tensors, dtype=torch.bfloat16, max_shard_size=10**9, tie_word_embeddings=False
    )
    assert {t.name: t.dtype for t in plan.tensors} == {
        "f32": "BF16",
        "bf16": "BF16",
        "f16": "BF16",
        "f64": "BF16",
        "i64": "I64",
        "i8": "I8",
        "u8": "U8",
        "bool": "BOOL",
        "scalar": "BF16",
        "empty": "BF16",
        "view": "BF16",
    }
    write_and_verify(plan, lambda i: tensors, tmp_path, torch.bfloat16, noop)
    loaded = safetensors_torch.load_file(tmp_path / "model.safetensors")
    assert torch.equal(loaded["f64"], tensors["f64"].to(torch.bfloat16))
    assert torch.equal(loaded["i64"], tensors["i64"])


def test_progress_counts_every_byte_written_and_verified(tmp_path: Path) -> None:
    tensors = {f"t{i}": torch.ones(100 * (i + 1)) for i in range(4)}
    calls: list[tuple[int, int, str]] = []
    plan = make_plan(1, lambda i: tensors, dtype=None, max_shard_size=1200, tie_word_embeddings=False)
    assert [s.filename for s in plan.shards] == [
        "model-00001-of-00003.safetensors",
        "model-00002-of-00003.safetensors",
        "model-00003-of-00003.safetensors",
    ]
    assert [[t.name for t in s.tensors] for s in plan.shards] == [["t0", "t1"], ["t2"], ["t3"]]
    write_and_verify(plan, lambda i: tensors, tmp_path, None, lambda d, t, w: calls.append((d, t, w)))
    total = 2 * 4000
    assert calls[-1] == (total, total, "verifying model-00003-of-00003.safetensors")
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)
    assert calls[0] == (400, total, "writing model-00001-of-00003.safetensors")


def test_input_shards_are_loaded_once_and_released(tmp_path: Path) -> None:
    shards = [{f"s{i}.{j}": torch.full((50,), float(i)) for j in range(3)} for i in range(3)]
    loads: list[int] = []

    def load(i: int) -> dict[str, Any]:
        loads.append(i)
        return shards[i]

    plan = make_plan(3, load, dtype=None, max_shard_size=700, tie_word_embeddings=False)
    loads.clear()
    write_and_verify(plan, load, tmp_path, None, noop)
    assert loads == [0, 1, 2]


def test_file_maps_find_the_bytes_behind_a_memory_mapped_tensor(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    torch.save({"a": torch.arange(1000.0), "b": torch.full((500,), 7.0)}, path)
    sd = torch.load(path, mmap=True, weights_only=True)
    region = write.FileMaps().find(sd["b"].data_ptr(), 2000)
    assert region is not None and region.path == str(path)
    with open(path, "rb") as f:
        f.seek(region.offset)
        assert f.read(2000) == sd["b"].numpy().tobytes()
    assert write.FileMaps().find(torch.ones(10).data_ptr(), 40) is None  # ordinary memory


def test_a_mapped_tensor_changed_in_memory_is_not_copied_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    torch.save({"a": torch.zeros(4096)}, path)
    sd = torch.load(path, mmap=True, weights_only=True)
    sd["a"][0] = 1.0  # copy-on-write: memory and file now differ
    assert write.FileMaps().find(sd["a"].data_ptr(), 4 * 4096) is None
    plan = make_plan(1, lambda i: sd, dtype=None, max_shard_size=10**9, tie_word_embeddings=False)
    (tmp_path / "out").mkdir()
    write_and_verify(plan, lambda i: sd, tmp_path / "out", None, noop)
    assert safetensors_torch.load_file(tmp_path / "out" / "model.safetensors")["a"][0] == 1.0


def test_bin_tensors_are_copied_file_to_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.bin"
    tensors = {f"t{i}": torch.randn(100) for i in range(5)}
    torch.save(tensors, path)
    calls: list[int] = []
    real = write.os.copy_file_range

    def counting(src: int, dst: int, count: int, offset_src: int | None = None) -> int:
        calls.append(count)
        return real(src, dst, count, offset_src)

    monkeypatch.setattr(write.os, "copy_file_range", counting)
    sd = torch.load(path, mmap=True, weights_only=True)
    plan = make_plan(1, lambda i: sd, dtype=None, max_shard_size=10**9, tie_word_embeddings=False)
    write_and_verify(plan, lambda i: sd, tmp_path, None, noop)
    assert calls == [400] * 5
    loaded = safetensors_torch.load_file(tmp_path / "model.safetensors")
    assert all(torch.equal(loaded[k], v) for k, v in tensors.items())
