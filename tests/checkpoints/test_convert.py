"""Every input layout converts into a directory transformers loads with identical logits; every refusal is clean."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.checkpoints import convert as convert_module
from edubot_cli.checkpoints import write
from edubot_cli.checkpoints.convert import ConvertOptions, convert
from edubot_cli.errors import ConvertError, UsageError

from .conftest import (
    CONVERTED_FILES,
    Tiny,
    load_converted,
    logits,
    save_meta,
    tiny_model,
    torch,
    write_sharded_bin,
)

safetensors_torch = pytest.importorskip("safetensors.torch")


def assert_same_logits(model: Any, directory: Path) -> None:
    assert torch.equal(logits(model), logits(load_converted(directory)))


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_directory_with_pytorch_model_bin(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = convert(ConvertOptions(source=tiny_bin_dir.directory, target=out))
    assert listing(out) == CONVERTED_FILES
    sd = tiny_bin_dir.model.state_dict()
    assert (result.tensors, result.shards, result.dtypes) == (len(sd), 1, ["F32"])
    assert result.parameters == sum(t.numel() for t in sd.values())
    assert result.bytes == sum(t.numel() * 4 for t in sd.values())
    assert (result.dropped, result.warnings, result.notes) == ([], [], [])
    assert_same_logits(tiny_bin_dir.model, out)
    with safetensors_torch.safe_open(str(out / "model.safetensors"), "pt") as f:
        assert f.metadata() == {"format": "pt"}
        assert sorted(f.keys()) == sorted(sd)
    assert (out / "config.json").read_bytes() == (tiny_bin_dir.directory / "config.json").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_sharded_bin_directory_with_sharded_output(tmp_path: Path) -> None:
    model = tiny_model(seed=1)
    src = tmp_path / "sharded"
    save_meta(model, src)
    write_sharded_bin(model.state_dict(), src, parts=3)
    out = tmp_path / "out"
    result = convert(ConvertOptions(source=src, target=out, max_shard_size="4KB"))
    assert result.shards > 3
    shard_names = [f"model-{i:05d}-of-{result.shards:05d}.safetensors" for i in range(1, result.shards + 1)]
    assert listing(out) == sorted(
        [
            *shard_names,
            *("model.safetensors.index.json", "config.json", "generation_config.json"),
            *("chat_template.jinja", "tokenizer.json", "tokenizer_config.json"),
        ]
    )
    index = json.loads((out / "model.safetensors.index.json").read_text())
    sd = model.state_dict()
    assert sorted(index["weight_map"]) == sorted(sd)
    assert set(index["weight_map"].values()) == set(shard_names)
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in sd.values())
    for name in shard_names:
        data = safetensors_torch.load_file(out / name)
        assert all(index["weight_map"][k] == name for k in data)
        # Each shard holds at most 4000 bytes of tensors unless one tensor alone is larger.
        sizes = [t.numel() * t.element_size() for t in data.values()]
        assert sum(sizes) <= 4000 or len(sizes) == 1
    assert_same_logits(model, out)


@pytest.mark.parametrize("suffix", [".bin", ".pt", ".pth"])
def test_single_weights_file_takes_config_from_its_folder(tmp_path: Path, suffix: str) -> None:
    model = tiny_model(seed=2)
    save_meta(model, tmp_path / "run")
    weights = tmp_path / "run" / f"final{suffix}"
    torch.save(model.state_dict(), weights)
    result = convert(ConvertOptions(source=weights, models_dir=tmp_path / "models"))
    assert result.target == tmp_path / "models" / "final"
    assert_same_logits(model, result.target)


def test_training_run_folder_converts_the_newest_samples(tmp_path: Path) -> None:
    run = tmp_path / "checkpoints"
    models = {n: tiny_model(seed=n) for n in (8, 16)}
    for n, model in models.items():
        d = run / "hf_format" / f"samples_{n}"
        save_meta(model, d)
        torch.save(model.state_dict(), d / "pytorch_model.bin")
    result = convert(ConvertOptions(source=run, models_dir=tmp_path / "models"))
    assert result.target == tmp_path / "models" / "checkpoints-samples_16"
    assert result.notes == [
        f"picked the newest checkpoint {run / 'hf_format' / 'samples_16'} (of 2; pass a samples_N folder to "
        "choose another)"
    ]
    assert_same_logits(models[16], result.target)
    older = convert(ConvertOptions(source=run / "hf_format" / "samples_8", models_dir=tmp_path / "models"))
    assert older.target == tmp_path / "models" / "checkpoints-samples_8"
    assert_same_logits(models[8], older.target)


def test_training_oddities_are_unwrapped_and_reported(
    make_bin_dir: Callable[..., Tiny], tmp_path: Path
) -> None:
    def wrap(sd: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": {f"module._orig_mod.{k}": v for k, v in sd.items()},
            "optimizer": {"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 0.1}]},
            "scheduler": {"last_epoch": 2},
            "rng_state": torch.get_rng_state(),
            "epoch": 2,
        }

    tiny = make_bin_dir(wrap)
    result = convert(ConvertOptions(source=tiny.directory, target=tmp_path / "out"))
    n = len(tiny.model.state_dict())
    assert result.dropped == [
        "non-weight entries: optimizer, scheduler, rng_state, epoch",
        f"'module.'/'_orig_mod.' prefixes removed from {n} tensor names",
    ]
    assert_same_logits(tiny.model, tmp_path / "out")


def test_tied_weights_are_written_once_under_the_canonical_name(
    make_bin_dir: Callable[..., Tiny], tmp_path: Path
) -> None:
    tiny = make_bin_dir(tie=True)
    sd = tiny.model.state_dict()
    assert sd["lm_head.weight"].data_ptr() == sd["model.embed_tokens.weight"].data_ptr()
    result = convert(ConvertOptions(source=tiny.directory, target=tmp_path / "out"))
    assert result.dropped == [
        "lm_head.weight (shares its storage with model.embed_tokens.weight; tie_word_embeddings is set)"
    ]
    keys = list(safetensors_torch.load_file(tmp_path / "out" / "model.safetensors"))
    assert "lm_head.weight" not in keys and "model.embed_tokens.weight" in keys
    assert result.tensors == len(sd) - 1
    assert_same_logits(tiny.model, tmp_path / "out")


def test_untied_lm_head_copy_is_dropped_when_config_ties(tmp_path: Path) -> None:
    model = tiny_model(tie=True, seed=3)
    src = tmp_path / "ckpt"
    save_meta(model, src)
    sd = {k: v.clone() for k, v in model.state_dict().items()}  # separate storages, as after a reshard
    torch.save(sd, src / "pytorch_model.bin")
    result = convert(ConvertOptions(source=src, target=tmp_path / "out"))
    assert result.dropped == [
        "lm_head.weight (config.json sets tie_word_embeddings: the embedding matrix is used)"
    ]
    assert result.parameters == sum(t.numel() for k, t in sd.items() if k != "lm_head.weight")
    assert_same_logits(model, tmp_path / "out")


def test_shared_storage_without_tying_is_written_twice(tmp_path: Path) -> None:
    model = tiny_model(seed=4)
    src = tmp_path / "ckpt"
    save_meta(model, src)
    sd = model.state_dict()
    sd["lm_head.weight"] = sd["model.embed_tokens.weight"]  # same storage, but config says untied
    torch.save(sd, src / "pytorch_model.bin")
    result = convert(ConvertOptions(source=src, target=tmp_path / "out"))
    assert result.notes == [
        "lm_head.weight shares storage with model.embed_tokens.weight but config.json does not tie them: both "
        "written"
    ]
    data = safetensors_torch.load_file(tmp_path / "out" / "model.safetensors")
    assert torch.equal(data["lm_head.weight"], data["model.embed_tokens.weight"])


def test_dtype_bf16_halves_the_weights_and_updates_config(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = convert(ConvertOptions(source=tiny_bin_dir.directory, target=out, dtype="bf16"))
    sd = tiny_bin_dir.model.state_dict()
    assert result.dtypes == ["BF16"]
    assert result.bytes == sum(t.numel() * 2 for t in sd.values())
    data = safetensors_torch.load_file(out / "model.safetensors")
    for k, v in sd.items():
        assert torch.equal(data[k], v.to(torch.bfloat16)), k
    config = json.loads((out / "config.json").read_text())
    assert config.get("dtype", config.get("torch_dtype")) == "bfloat16"
    reference = tiny_model().to(torch.bfloat16)
    assert torch.equal(logits(reference), logits(load_converted(out)))


def test_non_contiguous_tensors_are_made_contiguous(tmp_path: Path) -> None:
    model = tiny_model(seed=5)
    src = tmp_path / "ckpt"
    save_meta(model, src)
    sd = model.state_dict()
    sd = {k: (v.t().contiguous().t() if v.dim() == 2 else v) for k, v in sd.items()}
    assert not sd["model.layers.0.mlp.up_proj.weight"].is_contiguous()
    torch.save(sd, src / "pytorch_model.bin")
    convert(ConvertOptions(source=src, target=tmp_path / "out"))
    assert_same_logits(model, tmp_path / "out")


def test_missing_tokenizer_and_config_are_warned(make_bin_dir: Callable[..., Tiny], tmp_path: Path) -> None:
    tiny = make_bin_dir(tokenizer=False, config=False)
    result = convert(ConvertOptions(source=tiny.directory, target=tmp_path / "out"))
    assert result.warnings == [
        "no config.json next to the weights: transformers and vLLM need it — copy the base model's config.json "
        "into the output directory",
        "no tokenizer files next to the weights (tokenizer.json, tokenizer_config.json ...): vLLM and "
        "`transformers serve` need them — copy the base model's tokenizer files into the output directory",
    ]
    assert listing(tmp_path / "out") == ["generation_config.json", "model.safetensors"]


def test_missing_architectures_is_filled_in_from_model_type(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    config_path = tiny_bin_dir.directory / "config.json"
    config = json.loads(config_path.read_text())
    del config["architectures"]
    config_path.write_text(json.dumps(config))
    result = convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert result.notes == [
        'config.json had no "architectures" entry: set to ["LlamaForCausalLM"] from model_type \'llama\''
    ]
    written = json.loads((tmp_path / "out" / "config.json").read_text())
    assert written == {**config, "architectures": ["LlamaForCausalLM"]}


def test_unknown_model_type_without_architectures_is_warned(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    config_path = tiny_bin_dir.directory / "config.json"
    config = json.loads(config_path.read_text())
    del config["architectures"]
    config["model_type"] = "homemade"
    config_path.write_text(json.dumps(config))
    result = convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert result.warnings == [
        'config.json has no "architectures" entry, which vLLM needs: add the model class, e.g. '
        '"architectures": ["LlamaForCausalLM"]'
    ]


def test_existing_target_is_refused_without_force_and_replaced_with_it(
    tiny_bin_dir: Tiny, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(ConvertError, match="already exists") as info:
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=out))
    assert info.value.hint == "pass --force to replace it, or choose another directory with --output"
    assert listing(out) == ["mine.txt"]
    convert(ConvertOptions(source=tiny_bin_dir.directory, target=out, force=True))
    assert "mine.txt" not in listing(out) and "model.safetensors" in listing(out)
    assert_same_logits(tiny_bin_dir.model, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "out"]


def test_target_appearing_during_the_conversion_is_not_replaced(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    out = tmp_path / "out"

    def someone_else_writes(done: int, total: int, what: str) -> None:
        out.mkdir(exist_ok=True)  # an empty directory: a plain rename() would silently replace it

    with pytest.raises(ConvertError, match="out: appeared while converting; nothing was replaced"):
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=out), progress=someone_else_writes)
    assert listing(tmp_path) == ["ckpt", "out"] and listing(out) == []


def test_output_inside_the_input_is_refused(tiny_bin_dir: Tiny) -> None:
    with pytest.raises(ConvertError, match="the output would replace the checkpoint being converted"):
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=tiny_bin_dir.directory, force=True))
    assert (tiny_bin_dir.directory / "pytorch_model.bin").is_file()


def test_safetensors_input_is_refused(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    with pytest.raises(ConvertError, match="already a safetensors model, nothing to convert"):
        convert(ConvertOptions(source=tmp_path / "out", target=tmp_path / "again"))


def test_bad_shard_size_and_dtype(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--max-shard-size '5 potatoes': not a size"):
        convert(
            ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "o", max_shard_size="5 potatoes")
        )
    with pytest.raises(UsageError, match="--dtype 'int4': unknown"):
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "o", dtype="int4"))
    assert not (tmp_path / "o").exists()


def test_not_enough_disk_space_is_detected_before_writing(
    tiny_bin_dir: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.disk_usage

    def tiny_disk(path: Any) -> Any:
        usage = real(path)
        return type(usage)(usage.total, usage.total - 1000, 1000)

    monkeypatch.setattr(convert_module.shutil, "disk_usage", tiny_disk)
    with pytest.raises(
        ConvertError, match=r"not enough free disk space in .*: the model needs [0-9.]+ KB, 1.00 KB is free"
    ):
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_disk_full_while_writing_is_a_clear_error_and_keeps_nothing(
    tiny_bin_dir: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(*args: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(write.os, "copy_file_range", full)
    with pytest.raises(ConvertError, match=r"cannot write .*out: No space left on device") as info:
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert info.value.hint is not None and info.value.hint.startswith("nothing was kept")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_verify_mismatch_names_the_key_and_keeps_nothing(
    tiny_bin_dir: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = write._write_tensor

    def corrupt(f: Any, tensor: Any, t: write.TensorPlan, maps: Any) -> Any:
        if t.name == "model.layers.1.mlp.down_proj.weight":
            tensor = tensor.clone()  # in memory, so written from memory rather than copied from the file
            tensor.view(-1)[7] = tensor.view(-1)[7] + 1
        return real(f, tensor, t, maps)

    monkeypatch.setattr(write, "_write_tensor", corrupt)
    with pytest.raises(
        ConvertError, match=r"tensor 'model\.layers\.1\.mlp\.down_proj\.weight' in model\.safetensors differs"
    ):
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_interruption_leaves_no_target_and_no_temporary_files(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    def interrupt(done: int, total: int, what: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"), progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from edubot_cli.checkpoints.convert import ConvertOptions, convert
def progress(done, total, what):
    if done:
        print("WRITING", flush=True)
        time.sleep(600)
convert(ConvertOptions(source=Path(sys.argv[1]), target=Path(sys.argv[2])), progress=progress)
"""


def test_kill_9_mid_write_leaves_no_target_and_the_next_run_cleans_up(
    tiny_bin_dir: Tiny, tmp_path: Path
) -> None:
    out = tmp_path / "models" / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(tiny_bin_dir.directory), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "WRITING"
        partial = [p for p in out.parent.iterdir()]
        assert len(partial) == 1 and partial[0].name.startswith(f".out.partial-{proc.pid}-")
        assert (partial[0] / "model.safetensors").is_file()  # caught in the middle of writing
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    result = convert(ConvertOptions(source=tiny_bin_dir.directory, target=out))
    assert listing(out.parent) == ["out"]  # the killed run's temporary directory is gone
    assert result.target == out
    assert_same_logits(tiny_bin_dir.model, out)


def test_partial_directory_of_a_live_run_is_left_alone(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    live = tmp_path / f".out.partial-{os.getpid()}-abc"
    live.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.partial-{dead.pid}-xyz"
    stale.mkdir()  # its process has been reaped: that pid is free
    convert(ConvertOptions(source=tiny_bin_dir.directory, target=tmp_path / "out"))
    assert live.is_dir() and not stale.exists()
