"""Which checkpoint a path points at, for every input layout, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from edubot_cli.checkpoints.discover import discover
from edubot_cli.errors import ConvertError


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_directory_with_pytorch_model_bin(tmp_path: Path) -> None:
    weights = touch(tmp_path / "ckpt" / "pytorch_model.bin")
    source = discover(tmp_path / "ckpt")
    assert (source.format, source.weights, source.root, source.index) == (
        "bin",
        [weights],
        weights.parent,
        None,
    )
    assert source.name == "ckpt"


def test_sharded_directory_follows_the_index(tmp_path: Path) -> None:
    d = tmp_path / "sharded"
    shards = [touch(d / f"pytorch_model-0000{i}-of-00002.bin") for i in (1, 2)]
    index = (
        '{"weight_map": {"a": "pytorch_model-00002-of-00002.bin", "b": "pytorch_model-00001-of-00002.bin"}}'
    )
    touch(d / "pytorch_model.bin.index.json", index)
    source = discover(d)
    assert (source.format, source.weights, source.index) == (
        "bin",
        shards,
        d / "pytorch_model.bin.index.json",
    )


def test_index_naming_a_missing_shard_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "sharded"
    touch(d / "pytorch_model.bin.index.json", '{"weight_map": {"a": "pytorch_model-00001-of-00002.bin"}}')
    with pytest.raises(
        ConvertError, match=r"names shard\(s\) that do not exist: pytorch_model-00001-of-00002.bin"
    ):
        discover(d)


def test_unreadable_index_is_refused(tmp_path: Path) -> None:
    touch(tmp_path / "d" / "pytorch_model.bin.index.json", "{not json")
    with pytest.raises(ConvertError, match="unreadable shard index"):
        discover(tmp_path / "d")


@pytest.mark.parametrize("suffix", [".bin", ".pt", ".pth"])
def test_single_weights_file(tmp_path: Path, suffix: str) -> None:
    weights = touch(tmp_path / "run" / f"final{suffix}")
    source = discover(weights)
    assert (source.format, source.weights, source.root, source.name) == (
        "bin",
        [weights],
        weights.parent,
        "final",
    )


def test_folder_with_exactly_one_pt_file(tmp_path: Path) -> None:
    weights = touch(tmp_path / "run" / "model.pt")
    source = discover(tmp_path / "run")
    assert (source.format, source.weights, source.name) == ("bin", [weights], "run")


def test_folder_with_several_candidate_files_is_ambiguous(tmp_path: Path) -> None:
    touch(tmp_path / "run" / "a.pt")
    touch(tmp_path / "run" / "b.pt")
    with pytest.raises(ConvertError, match=r"no checkpoint found \(a.pt, b.pt\)"):
        discover(tmp_path / "run")


def test_instructlab_samples_folder(tmp_path: Path) -> None:
    weights = touch(tmp_path / "checkpoints" / "hf_format" / "samples_96" / "pytorch_model.bin")
    source = discover(weights.parent)
    assert (source.weights, source.notes, source.name) == ([weights], [], "checkpoints-samples_96")


def test_training_run_folder_picks_the_newest_samples_and_says_so(tmp_path: Path) -> None:
    run = tmp_path / "checkpoints"
    for n in (8, 120, 64):
        touch(run / "hf_format" / f"samples_{n}" / "pytorch_model.bin")
    touch(run / "hf_format" / "samples_999" / "notes.txt")  # no weights: not a checkpoint
    source = discover(run)
    newest = run / "hf_format" / "samples_120"
    assert source.weights == [newest / "pytorch_model.bin"]
    assert source.notes == [
        f"picked the newest checkpoint {newest} (of 3; pass a samples_N folder to choose another)"
    ]
    assert source.name == "checkpoints-samples_120"
    assert discover(run / "hf_format").weights == [newest / "pytorch_model.bin"]


def test_gguf_file(tmp_path: Path) -> None:
    f = touch(tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf")
    source = discover(f)
    assert (source.format, source.weights, source.name) == ("gguf", [f], "SmolLM2-135M-Instruct.Q4_1")


def test_safetensors_directory(tmp_path: Path) -> None:
    f = touch(tmp_path / "m" / "model.safetensors")
    assert (discover(tmp_path / "m").format, discover(tmp_path / "m").weights) == ("safetensors", [f])


def test_lora_adapter_is_refused_with_directions(tmp_path: Path) -> None:
    touch(tmp_path / "adapter" / "adapter_config.json", "{}")
    touch(tmp_path / "adapter" / "adapter_model.bin")
    with pytest.raises(ConvertError, match="LoRA/PEFT adapter") as info:
        discover(tmp_path / "adapter")
    assert info.value.hint is not None and "merge_and_unload()" in info.value.hint


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="no such file or directory"):
        discover(tmp_path / "nope")


def test_unknown_file_type(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"not a checkpoint file \(expected .bin, .pt, .pth"):
        discover(touch(tmp_path / "weights.txt"))


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConvertError, match=r"no checkpoint found \(no weight files\)"):
        discover(tmp_path / "empty")
