"""`edubot model train` against the fake ilab: data discovery, command line, checkpoint, --convert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app
from tests.lab.fake_ilab import FakeIlab

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def generated(fake_ilab: FakeIlab, taxonomy: Path, work: Path) -> Path:
    """Datasets made by the fake `ilab data generate`; returns the run folder."""
    assert invoke("data", "generate").exit_code == 0
    return work / "datasets" / "2026-01-02_030405"


def train_call(fake: FakeIlab) -> dict[str, Any]:
    calls = [c for c in fake.calls() if c["argv"][:2] == ["model", "train"]]
    assert len(calls) == 1, calls
    return calls[0]


def test_trains_on_the_newest_mix_and_reports_the_checkpoint(
    fake_ilab: FakeIlab, generated: Path, work: Path
) -> None:
    fake_ilab.set(samples=[8, 16])
    result = invoke(
        "model",
        "train",
        "--model-path",
        "instructlab/granite-7b-lab",
        "--device",
        "cpu",
        "--",
        "--num-epochs",
        "1",
    )
    assert result.exit_code == 0, result.output
    ckpt = work / "checkpoints"
    data = generated / "skills_train_msgs_2026-01-02T03_04_05.jsonl"
    call = train_call(fake_ilab)
    assert call["argv"] == [
        "model",
        "train",
        "--data-path",
        str(data),
        "--model-path",
        "instructlab/granite-7b-lab",
        "--device",
        "cpu",
        "--ckpt-output-dir",
        str(ckpt),
        "--num-epochs",
        "1",
    ]
    assert call["cwd"] == str(ckpt)
    out = " ".join(result.output.split())
    assert (
        f"training data: {Path('datasets') / data.relative_to(work / 'datasets')} (the newest under datasets"
        in out
    )
    assert f"newest checkpoint: {ckpt / 'hf_format/samples_16'}" in out
    assert f"next: edubot model convert {ckpt / 'hf_format/samples_16'}" in out

    [record_file] = ckpt.glob("edubot-run-model-train-*.json")
    record = json.loads(record_file.read_text())
    for key in ("started_at", "finished_at", "duration_seconds", "log_file", "edubot_version", "ilab_path"):
        record.pop(key)
    assert record == {
        "format": 1,
        "kind": "model train",
        "command": [str(fake_ilab.path), *call["argv"]],
        "ilab_version": "0.26.1",
        "pipeline": None,
        "device": "cpu",
        "model_path": "instructlab/granite-7b-lab",
        "data_path": str(data),
        "data_records": 12,
        "ckpt_output_dir": str(ckpt),
        "exit_code": 0,
        "interrupted": None,
        "files_produced": [
            {"path": "hf_format/samples_16/config.json", "bytes": 2},
            {"path": "hf_format/samples_16/pytorch_model.bin", "bytes": 7},
            {"path": "hf_format/samples_8/config.json", "bytes": 2},
            {"path": "hf_format/samples_8/pytorch_model.bin", "bytes": 7},
        ],
    }


def test_simple_pipeline_reads_the_legacy_pair_from_its_folder(
    fake_ilab: FakeIlab, generated: Path, work: Path
) -> None:
    model = work / "student"
    model.mkdir()
    result = invoke("model", "train", "--pipeline", "simple", "--model-path", str(model))
    assert result.exit_code == 0, result.output
    ckpt = work / "checkpoints"
    assert train_call(fake_ilab)["argv"] == [
        "model",
        "train",
        "--input-dir",
        str(generated),
        "--model-path",
        str(model),
        "--pipeline",
        "simple",
        "--ckpt-output-dir",
        str(ckpt),
    ]
    assert (ckpt / "training_results/final").is_dir()  # ilab's working folder is the checkpoints folder
    assert f"newest checkpoint: {ckpt / 'ggml-model-f16.gguf'}" in " ".join(result.output.split())


def test_explicit_data_path(fake_ilab: FakeIlab, work: Path, tmp_path: Path) -> None:
    data = tmp_path / "mine.jsonl"
    data.write_text('{"messages": []}\n')
    assert invoke("model", "train", "--data-path", str(data)).exit_code == 0
    argv = train_call(fake_ilab)["argv"]
    assert argv[argv.index("--data-path") + 1] == str(data)


def test_a_folder_as_data_path_is_refused_with_the_file_to_use(fake_ilab: FakeIlab, generated: Path) -> None:
    result = runner.invoke(app, ["model", "train", "--data-path", str(generated)])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert f"--data-path {generated} is a folder; ilab model train wants one training .jsonl file" in flat
    assert (
        f"the newest there is --data-path {generated / 'skills_train_msgs_2026-01-02T03_04_05.jsonl'}" in flat
    )
    assert [c for c in fake_ilab.calls() if c["argv"][:2] == ["model", "train"]] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-path", "nowhere.jsonl"], "--data-path nowhere.jsonl does not exist"),
        (["--pipeline", "fast"], "--pipeline 'fast' is not one of simple, full, accelerated"),
        (["--device", "tpu"], "--device 'tpu' is not one of cpu, cuda, hpu, mps"),
        (["--model-path", "./missing-model"], "--model-path ./missing-model does not exist"),
    ],
)
def test_bad_flags(fake_ilab: FakeIlab, work: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["model", "train", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert fake_ilab.calls() == []


def test_no_data_yet(fake_ilab: FakeIlab, work: Path) -> None:
    result = runner.invoke(app, ["model", "train"])
    assert result.exit_code == 1
    assert "no training data: the datasets folder datasets does not exist" in result.output


def test_failed_training_keeps_ilabs_exit_code_and_reports_no_checkpoint(
    fake_ilab: FakeIlab, generated: Path
) -> None:
    fake_ilab.set(exit_code=5, write=False)
    result = invoke("model", "train")
    assert result.exit_code == 5
    assert "training failed: ilab exited with code 5" in result.output
    assert "newest checkpoint" not in result.output


def test_success_without_a_checkpoint_is_noted(fake_ilab: FakeIlab, generated: Path, work: Path) -> None:
    fake_ilab.set(write=False)
    result = invoke("model", "train")
    assert result.exit_code == 0
    assert f"ilab finished but no checkpoint was found under {work / 'checkpoints'}" in " ".join(
        result.output.split()
    )


def test_convert_turns_the_newest_checkpoint_into_a_servable_model(
    fake_ilab: FakeIlab, generated: Path, work: Path, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    from tests.support.tiny_hf_model import build_tiny_hf_model

    hf = build_tiny_hf_model(tmp_path / "tiny")
    from safetensors.torch import load_file

    state = load_file(str(hf / "model.safetensors"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    torch.save(state, bin_dir / "pytorch_model.bin")
    for item in hf.iterdir():
        if item.suffix != ".safetensors":
            (bin_dir / item.name).write_bytes(item.read_bytes())
    fake_ilab.set(samples=[24], checkpoint_from=str(bin_dir))

    result = invoke("model", "train", "--convert")
    assert result.exit_code == 0, result.output
    target = work / "models" / "checkpoints-samples_24"
    converted = load_file(str(target / "model.safetensors"))
    assert sorted(converted) == sorted(state)
    assert all(torch.equal(converted[k], state[k]) for k in state)
    flat = " ".join(result.output.split())
    assert f"converted → models/checkpoints-samples_24 ({len(state)} tensors" in flat
    assert "next: edubot serve --model models/checkpoints-samples_24" in flat

    again = runner.invoke(app, ["model", "train", "--convert"])
    assert again.exit_code == 1  # the target exists and --force was not given
    assert "--force" in again.output
    assert invoke("model", "train", "--convert", "--force").exit_code == 0
