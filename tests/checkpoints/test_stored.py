"""Zip checkpoints read without torch: taken for plain files with ``--dtype keep``, declined for anything else,
and producing exactly the bytes the torch path produces."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.checkpoints import convert as convert_module
from edubot_cli.checkpoints import load
from edubot_cli.checkpoints.convert import ConvertOptions, convert
from edubot_cli.checkpoints.load import load_stored_shard
from edubot_cli.checkpoints.plan import make_plan
from edubot_cli.checkpoints.stored import NotStored, StoredTensor, read_checkpoint
from edubot_cli.checkpoints.write import write_and_verify
from edubot_cli.errors import ConvertError

from .conftest import Tiny, load_converted, logits, tiny_model, trained_linear, write_sharded_bin
from .test_load import Evil

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

ROOT = Path(__file__).parents[2]
NO_TORCH_SCRIPT = """
import sys
from pathlib import Path
from edubot_cli.checkpoints.convert import ConvertOptions, convert
result = convert(ConvertOptions(source=Path(sys.argv[1]), target=Path(sys.argv[2])))
print(result.tensors, "torch" in sys.modules)
"""


@pytest.fixture
def torch_load_spy(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files handed to the torch path (``load_shard``)."""
    calls: list[Path] = []
    real = load.load_shard

    def spy(path: Path) -> Any:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(convert_module, "load_shard", spy)
    return calls


def test_zip_checkpoint_with_dtype_keep_is_converted_without_importing_torch(
    tiny_bin_dir: Tiny, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-c", NO_TORCH_SCRIPT, str(tiny_bin_dir.directory), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    n = len(tiny_bin_dir.model.state_dict())
    assert r.stdout.split() == [str(n), "False"]
    assert torch.equal(logits(tiny_bin_dir.model), logits(load_converted(out)))


def test_fast_path_does_not_call_the_torch_path(
    tiny_bin_dir: Tiny, tmp_path: Path, torch_load_spy: list[Path]
) -> None:
    convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert torch_load_spy == []


def test_dtype_conversion_uses_the_torch_path(
    tiny_bin_dir: Tiny, tmp_path: Path, torch_load_spy: list[Path]
) -> None:
    convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out", dtype="bf16"))
    assert set(torch_load_spy) == {tiny_bin_dir.directory / "pytorch_model.bin"}


def test_descriptors_match_the_tensors(tmp_path: Path) -> None:
    base = torch.arange(20, dtype=torch.bfloat16)
    sd = {
        "a": base[5:10],
        "b": base[10:].view(2, 5),
        "c": torch.ones(2, 3, dtype=torch.int8),
        "d": torch.ones(0),
    }
    torch.save(sd, tmp_path / "w.bin")
    shard = load_stored_shard(tmp_path / "w.bin")
    assert list(shard.tensors) == ["a", "b", "c", "d"]
    a, b, c = shard.tensors["a"], shard.tensors["b"], shard.tensors["c"]
    assert isinstance(a, StoredTensor) and (a.dtype, a.shape, a.nbytes) == ("BF16", (5,), 10)
    assert (b.dtype, b.shape, b.storage, b.storage_offset) == ("BF16", (2, 5), a.storage, 10)
    assert (c.dtype, c.shape, c.nbytes) == ("I8", (2, 3), 6)
    with open(tmp_path / "w.bin", "rb") as f:
        f.seek(b.region.offset)
        assert f.read(b.nbytes) == sd["b"].contiguous().view(torch.uint8).numpy().tobytes()
    for name, value in sd.items():
        assert torch.equal(shard.tensors[name].clone(), value)


def test_training_checkpoint_is_unwrapped_like_the_torch_path(tmp_path: Path) -> None:
    model, opt = trained_linear()
    checkpoint = {
        "epoch": 3,
        "model": {"module._orig_mod." + k: v for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(),
        "rng_state": torch.get_rng_state(),
    }
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    fast, slow = load_stored_shard(tmp_path / "ckpt.pt"), load.load_shard(tmp_path / "ckpt.pt")
    assert list(fast.tensors) == list(slow.tensors) == ["weight", "bias"]
    assert (
        (fast.dropped, fast.renamed)
        == (slow.dropped, slow.renamed)
        == (["epoch", "optimizer", "rng_state"], 2)
    )


def test_lora_checkpoint_is_refused_on_the_fast_path(tmp_path: Path) -> None:
    torch.save({"base_model.model.q_proj.lora_B.default.weight": torch.ones(2, 2)}, tmp_path / "lora.bin")
    with pytest.raises(ConvertError, match=r"holds LoRA/PEFT adapter weights \(e.g. base_model"):
        load_stored_shard(tmp_path / "lora.bin")


def test_output_is_byte_identical_to_the_torch_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_model(tie=True)
    directory = tmp_path / "ckpt"
    model.config.save_pretrained(directory)
    sd = {"model." + k: v for k, v in model.state_dict().items()}  # tied: lm_head shares the embedding
    sd["extra.half"] = torch.arange(64, dtype=torch.float32)[32:]  # a view at an offset into its storage
    write_sharded_bin(sd, directory, parts=3)
    fast = convert(ConvertOptions(source=directory, target=tmp_path / "fast", max_shard_size="20KB"))

    def decline(path: Path) -> Any:
        raise NotStored("test")

    monkeypatch.setattr(load, "read_checkpoint", decline)
    slow = convert(ConvertOptions(source=directory, target=tmp_path / "slow", max_shard_size="20KB"))
    assert fast.shards == slow.shards > 1
    assert (fast.dropped, fast.notes, fast.bytes) == (slow.dropped, slow.notes, slow.bytes)
    files = sorted(p.name for p in (tmp_path / "fast").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "slow").iterdir())
    assert "model.safetensors.index.json" in files
    for name in files:
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "slow" / name).read_bytes(), name


def test_stored_tensors_can_still_be_cast(tmp_path: Path) -> None:
    sd = {"w": torch.randn(4, 3), "i": torch.arange(5)}
    torch.save(sd, tmp_path / "w.bin")
    tensors = load_stored_shard(tmp_path / "w.bin").tensors
    plan = make_plan(
        1, lambda i: tensors, dtype=torch.bfloat16, max_shard_size=10**9, tie_word_embeddings=False
    )
    write_and_verify(plan, lambda i: tensors, tmp_path, torch.bfloat16, lambda d, t, w: None)
    out = safetensors_torch.load_file(tmp_path / "model.safetensors")
    assert torch.equal(out["w"], sd["w"].to(torch.bfloat16)) and torch.equal(out["i"], sd["i"])


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"w": torch.ones(2), "device": torch.device("cpu")}, "the pickle refers to torch.device"),
        ({"w": torch.randn(4, 6).t()}, "a non-contiguous tensor"),
        ({"w": torch.ones(2), "s": {1, 2}}, r"the pickle refers to (__builtin__|builtins)\.set"),
    ],
    ids=["unknown-global", "non-contiguous", "set"],
)
def test_declined_files_go_to_the_torch_path(
    obj: dict[str, Any], reason: str, tmp_path: Path, torch_load_spy: list[Path]
) -> None:
    directory = tmp_path / "ckpt"
    tiny_model().config.save_pretrained(directory)
    torch.save(obj, directory / "pytorch_model.bin")
    with pytest.raises(NotStored, match=reason):
        read_checkpoint(directory / "pytorch_model.bin")
    convert(ConvertOptions(source=directory, target=tmp_path / "out"))
    assert set(torch_load_spy) == {directory / "pytorch_model.bin"}
    out = safetensors_torch.load_file(tmp_path / "out" / "model.safetensors")
    assert torch.equal(out["w"], obj["w"])


def test_legacy_format_is_declined(tmp_path: Path) -> None:
    torch.save({"w": torch.ones(2)}, tmp_path / "w.bin", _use_new_zipfile_serialization=False)
    with pytest.raises(NotStored, match=r"not a zip archive \(legacy format\)"):
        read_checkpoint(tmp_path / "w.bin")


def test_compressed_entries_are_declined(tmp_path: Path) -> None:
    torch.save({"w": torch.arange(6.0)}, tmp_path / "w.bin")
    with zipfile.ZipFile(tmp_path / "w.bin") as src, zipfile.ZipFile(tmp_path / "z.bin", "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(NotStored, match=r"storage 0 is compressed"):
        read_checkpoint(tmp_path / "z.bin")


def test_compressed_file_is_read_correctly_by_the_torch_path(tmp_path: Path) -> None:
    torch.save({"w": torch.arange(6.0)}, tmp_path / "w.bin")
    with zipfile.ZipFile(tmp_path / "w.bin") as src, zipfile.ZipFile(tmp_path / "z.bin", "w") as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    assert torch.equal(load.load_shard(tmp_path / "z.bin").tensors["w"], torch.arange(6.0))


def test_big_endian_data_is_declined(tmp_path: Path) -> None:
    torch.save({"w": torch.arange(6.0)}, tmp_path / "w.bin")
    with zipfile.ZipFile(tmp_path / "w.bin") as src, zipfile.ZipFile(tmp_path / "b.bin", "w") as out:
        for info in src.infolist():
            data = b"big" if info.filename.endswith("/byteorder") else src.read(info)
            out.writestr(info.filename, data)
    with pytest.raises(NotStored, match="big-endian data"):
        read_checkpoint(tmp_path / "b.bin")


def test_malicious_pickle_is_declined_unrun_and_refused_by_the_torch_path(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    directory = tmp_path / "ckpt"
    directory.mkdir()
    torch.save({"w": torch.ones(1), "x": Evil(marker)}, directory / "pytorch_model.bin")
    with pytest.raises(NotStored, match=r"the pickle refers to (posix|os)\.system"):
        read_checkpoint(directory / "pytorch_model.bin")
    assert not marker.exists()
    with pytest.raises(ConvertError, match="refused — this pickle needs code to load") as info:
        convert(ConvertOptions(source=directory, target=tmp_path / "out"))
    assert "system" in info.value.message
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_storage_entry_cut_short_is_declined(tmp_path: Path) -> None:
    torch.save({"w": torch.arange(6.0)}, tmp_path / "w.bin")
    with zipfile.ZipFile(tmp_path / "w.bin") as src, zipfile.ZipFile(tmp_path / "s.bin", "w") as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info.filename, data[:8] if info.filename.endswith("/data/0") else data)
    with pytest.raises(NotStored, match="storage 0 is shorter than its tensors"):
        read_checkpoint(tmp_path / "s.bin")


def test_source_changed_after_copying_is_a_verification_error(
    tiny_bin_dir: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edubot_cli.checkpoints import write

    real = write.verify_copied
    source = tiny_bin_dir.directory / "pytorch_model.bin"

    def tamper(path: Path, shard: Any, sources: list[StoredTensor], *args: Any) -> int:
        target = next(s for t, s in zip(shard.tensors, sources, strict=True) if t.name == "model.norm.weight")
        with open(source, "r+b") as f:
            f.seek(target.region.offset)
            byte = f.read(1)
            f.seek(target.region.offset)
            f.write(bytes([byte[0] ^ 1]))
        return real(path, shard, sources, *args)

    monkeypatch.setattr(write, "verify_copied", tamper)
    with pytest.raises(ConvertError, match=r"tensor 'model\.norm\.weight' in model\.safetensors differs"):
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def _hand_pickle(build_on: bytes = b"", offset: bytes = b"K\x00", size: bytes = b"K\x01\x85") -> bytes:
    """``{"w": tensor}`` over a 1-element F32 storage, written opcode by opcode: the tensor's storage offset
    and size as given, and a BUILD opcode applied to ``build_on`` (b"storage": the storage stand-in, given
    numel 1000; b"tensor": the tensor stand-in, given shape (1000,))."""
    storage = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ"
    if build_on == b"storage":
        storage += b"}X\x05\x00\x00\x00numelM\xe8\x03sb"
    tensor = b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage + offset + size + b"K\x01\x85\x89}tR"
    if build_on == b"tensor":
        tensor += b"}X\x05\x00\x00\x00shapeM\xe8\x03\x85sb"
    return b"\x80\x02}X\x01\x00\x00\x00w" + tensor + b"s."


def _write_hand_checkpoint(path: Path, pickled: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("archive/data.pkl", pickled)
        out.writestr("archive/byteorder", b"little")
        out.writestr("archive/data/0", b"\x00\x00\x80?")
    return path


@pytest.mark.parametrize("target", [b"storage", b"tensor"])
def test_pickle_cannot_rewrite_a_checked_stand_in(tmp_path: Path, target: bytes) -> None:
    path = _write_hand_checkpoint(tmp_path / "w.bin", _hand_pickle(build_on=target))
    name = {b"storage": "_Storage", b"tensor": "StoredTensor"}[target]
    with pytest.raises(NotStored, match=f"the pickle alters a {name}$"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    ("offset", "size", "reason"),
    [
        (b"K\x01", b"K\x01\x85", "a tensor outside its storage"),
        (b"K\x00", b"K\x02\x85", "a tensor outside its storage"),
        (b"J\xff\xff\xff\xff", b"K\x01\x85", "a tensor with an unusual size or stride"),
        (b"K\x00", b"J\xff\xff\xff\xff\x85", "a tensor with an unusual size or stride"),
    ],
    ids=["offset-past-end", "size-past-end", "negative-offset", "negative-size"],
)
def test_tensor_not_within_its_storage_is_declined(
    tmp_path: Path, offset: bytes, size: bytes, reason: str
) -> None:
    path = _write_hand_checkpoint(tmp_path / "w.bin", _hand_pickle(offset=offset, size=size))
    with pytest.raises(NotStored, match=f"^{reason}$"):
        read_checkpoint(path)


def test_well_formed_hand_written_pickle_is_read(tmp_path: Path) -> None:
    w = read_checkpoint(_write_hand_checkpoint(tmp_path / "w.bin", _hand_pickle()))["w"]
    assert (w.dtype, w.shape, w.nbytes) == ("F32", (1,), 4)
    assert torch.equal(w.clone(), torch.ones(1))


def test_file_replaced_after_reading_is_refused_not_read(tmp_path: Path) -> None:
    torch.save({"w": torch.arange(6.0)}, tmp_path / "w.bin")
    w = read_checkpoint(tmp_path / "w.bin")["w"]
    torch.save({"w": torch.zeros(6)}, tmp_path / "new.bin")
    (tmp_path / "new.bin").replace(tmp_path / "w.bin")
    with pytest.raises(ConvertError) as info:
        w.clone()
    assert (info.value.message, info.value.hint) == (
        f"{(tmp_path / 'w.bin').resolve()} changed while it was being converted",
        "run the conversion again",
    )
