"""Safe loading: only tensors and plain values, training wrappers unwrapped, LoRA and code-running pickles refused."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.checkpoints.load import load_shard
from edubot_cli.errors import ConvertError

from .conftest import trained_linear

torch = pytest.importorskip("torch")


def state() -> dict[str, Any]:
    return {"model.embed.weight": torch.arange(6.0).reshape(2, 3), "lm_head.weight": torch.ones(2, 3)}


def save(obj: Any, path: Path, **kwargs: Any) -> Path:
    torch.save(obj, path, **kwargs)
    return path


def test_plain_state_dict_is_memory_mapped(tmp_path: Path) -> None:
    shard = load_shard(save(state(), tmp_path / "w.bin"))
    assert list(shard.tensors) == ["model.embed.weight", "lm_head.weight"]
    assert torch.equal(shard.tensors["model.embed.weight"], state()["model.embed.weight"])
    assert (shard.dropped, shard.renamed) == ([], 0)


def test_legacy_non_zip_file_still_loads(tmp_path: Path) -> None:
    path = save(state(), tmp_path / "legacy.bin", _use_new_zipfile_serialization=False)
    assert torch.equal(load_shard(path).tensors["lm_head.weight"], torch.ones(2, 3))


def test_training_checkpoint_is_unwrapped_and_leftovers_reported(tmp_path: Path) -> None:
    model, opt = trained_linear()
    checkpoint = {
        "epoch": 3,
        "global_step": 1200,
        "state_dict": {"module._orig_mod." + k: v for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(),
        "lr_scheduler": {"last_epoch": 3, "base_lrs": [0.001]},
        "rng_state": torch.get_rng_state(),
    }
    shard = load_shard(save(checkpoint, tmp_path / "ckpt.pt"))
    assert list(shard.tensors) == ["weight", "bias"]
    assert torch.equal(shard.tensors["weight"], model.weight.detach())
    assert shard.dropped == ["epoch", "global_step", "optimizer", "lr_scheduler", "rng_state"]
    assert shard.renamed == 2


def test_doubly_nested_model_key(tmp_path: Path) -> None:
    checkpoint = {"model": {"model": state(), "step": 5}, "optimizer": {}}
    shard = load_shard(save(checkpoint, tmp_path / "n.pt"))
    assert list(shard.tensors) == ["model.embed.weight", "lm_head.weight"]
    assert shard.dropped == ["optimizer", "model.step"]


def test_prefix_collision_is_refused(tmp_path: Path) -> None:
    sd = {"module.w": torch.ones(1), "w": torch.zeros(1)}
    with pytest.raises(ConvertError, match="two tensors are both named 'w'"):
        load_shard(save(sd, tmp_path / "c.bin"))


def test_lora_weights_are_refused(tmp_path: Path) -> None:
    sd = {
        "base_model.model.layers.0.q_proj.lora_A.default.weight": torch.ones(2, 4),
        "base_model.model.layers.0.q_proj.base_layer.weight": torch.ones(4, 4),
    }
    with pytest.raises(ConvertError, match=r"holds LoRA/PEFT adapter weights \(e.g. base_model") as info:
        load_shard(save(sd, tmp_path / "lora.bin"))
    assert info.value.hint is not None and "merge_and_unload()" in info.value.hint


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_pickle_that_runs_code_is_refused_and_never_runs(tmp_path: Path, zipped: bool) -> None:
    marker = tmp_path / "pwned"
    path = save(
        {"w": torch.ones(1), "x": Evil(marker)}, tmp_path / "evil.bin", _use_new_zipfile_serialization=zipped
    )
    with pytest.raises(ConvertError, match="refused — this pickle needs code to load") as info:
        load_shard(path)
    assert "system" in info.value.message
    assert not marker.exists()


def test_raw_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "raw.pt"
    path.write_bytes(pickle.dumps(Evil(marker), protocol=2))
    with pytest.raises(ConvertError, match="refused — this pickle needs code to load") as info:
        load_shard(path)
    assert "system" in info.value.message
    assert not marker.exists()


def test_truncated_file(tmp_path: Path) -> None:
    path = save(state(), tmp_path / "t.bin")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ConvertError, match="not a readable PyTorch checkpoint"):
        load_shard(path)


def test_not_a_dict(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="holds a Tensor, not a dictionary of tensors"):
        load_shard(save(torch.ones(3), tmp_path / "t.pt"))


def test_no_tensors(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match=r"no tensors found \(entries: epoch, note\)"):
        load_shard(save({"epoch": 1, "note": "hi"}, tmp_path / "e.pt"))
