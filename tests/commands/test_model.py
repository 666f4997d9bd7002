"""`edubot model convert / list / inspect` through the CLI: output, exit codes and the one error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.main import app

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tests.checkpoints.conftest import EMBEDDED, save_meta, tiny_model  # noqa: E402

ROOT = Path(__file__).parents[2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (models/ is relative to it) with no EDUBOT_* variables."""
    for name in list(os.environ):
        if name.startswith("EDUBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    model = tiny_model(tie=True)
    save_meta(model, tmp_path / "run" / "hf_format" / "samples_42")
    torch.save(model.state_dict(), tmp_path / "run" / "hf_format" / "samples_42" / "pytorch_model.bin")
    return tmp_path


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args), prog_name="edubot")


def test_convert_prints_a_summary_and_writes_under_models(workdir: Path) -> None:
    r = invoke("model", "convert", "run", "--dtype", "bf16")
    assert r.exit_code == 0, r.output
    target = Path("models") / "run-samples_42"
    assert (workdir / target / "model.safetensors").is_file()
    n = len(tiny_model(tie=True).state_dict()) - 1
    params = sum(t.numel() for k, t in tiny_model(tie=True).state_dict().items() if k != "lm_head.weight")
    assert f"converted run → {target}" in r.output
    assert f"{n} tensors, {params:,} parameters, BF16, " in r.output
    assert "in 1 file" in r.output and "verified bitwise" in r.output
    assert f"note: picked the newest checkpoint {Path('run') / 'hf_format' / 'samples_42'}" in r.output
    assert "dropped: lm_head.weight (shares its storage with model.embed_tokens.weight" in r.output


def test_convert_refuses_an_existing_target_with_exit_1_and_a_hint(workdir: Path) -> None:
    (workdir / "out").mkdir()
    r = invoke("model", "convert", "run", "--output", "out")
    assert r.exit_code == 1
    assert "error: out: already exists" in r.output
    assert "hint: pass --force to replace it, or choose another directory with --output" in r.output
    r = invoke("model", "convert", "run", "--output", "out", "--force")
    assert r.exit_code == 0, r.output
    assert (workdir / "out" / "model.safetensors").is_file()


def test_convert_rejects_a_bad_shard_size_as_a_usage_error(workdir: Path) -> None:
    r = invoke("model", "convert", "run", "--max-shard-size", "lots")
    assert r.exit_code == 2
    assert "error: --max-shard-size 'lots': not a size" in r.output


def test_convert_rejects_an_unknown_dtype(workdir: Path) -> None:
    r = invoke("model", "convert", "run", "--dtype", "int4")
    assert r.exit_code == 2
    assert "Invalid value for '--dtype'" in r.output


def test_inspect_rejects_an_unknown_format(workdir: Path) -> None:
    r = invoke("model", "inspect", "run/hf_format/samples_42", "--format", "yaml")
    assert r.exit_code == 2
    assert "Invalid value for '--format' / '-f'" in r.output
    assert "'yaml' is not one of 'table', 'json'" in r.output


def test_convert_with_sharding(workdir: Path) -> None:
    r = invoke("model", "convert", "run", "-o", "sharded", "--max-shard-size", "8KB")
    assert r.exit_code == 0, r.output
    shards = sorted(p.name for p in (workdir / "sharded").glob("model-*.safetensors"))
    assert len(shards) > 1 and f"in {len(shards)} shards + index" in r.output


def test_list_and_inspect(workdir: Path) -> None:
    assert invoke("model", "convert", "run").exit_code == 0
    r = invoke("model", "list", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    names = [m["name"] for m in data["models"]]
    assert names == ["run-samples_42"] + (["SmolLM2-135M-Instruct (embedded default)"] if EMBEDDED else [])
    first = data["models"][0]
    assert (first["format"], first["architecture"], first["dtype"], first["engines"]) == (
        "safetensors",
        "LlamaForCausalLM",
        "F32",
        ["vllm", "transformers"],
    )
    table = invoke("model", "list")
    assert table.exit_code == 0
    assert "run-samples_42" in table.output and "vllm, transformers" in table.output
    r = invoke("model", "inspect", "models/run-samples_42")
    assert r.exit_code == 0, r.output
    assert "architecture  LlamaForCausalLM" in r.output
    assert "tied weights  yes (lm_head uses the embedding matrix)" in r.output
    assert "servable by   vllm, transformers" in r.output
    assert "vLLM can load it as it is" in r.output
    r = invoke("model", "inspect", "models/run-samples_42", "-f", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == first
    r = invoke("model", "inspect", "run/hf_format/samples_42")
    assert "would stop vLLM:" in r.output and "weights are PyTorch pickles (.bin)" in r.output


def test_inspect_missing_path(workdir: Path) -> None:
    r = invoke("model", "inspect", "nope")
    assert r.exit_code == 1
    assert "error: nope: no such file or directory" in r.output


def test_convert_without_the_convert_extra_names_the_install_command(workdir: Path) -> None:
    code = (
        "import sys\n"
        "for m in ('torch', 'safetensors', 'transformers', 'gguf', 'numpy'):\n"
        "    sys.modules[m] = None\n"
        "from edubot_cli.main import main\n"
        "main(['model', 'convert', 'run'])\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=workdir, env=env)
    assert r.returncode == 1
    assert "error: torch is not installed (it comes with the 'convert' extra)" in r.stderr
    assert "hint: run `make install` or `pip install 'edubot[convert]'`" in r.stderr
    assert not (workdir / "models").exists()
