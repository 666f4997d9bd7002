"""`edubot doctor`'s model line: this machine's cores, RAM (the container's limit when lower) and GPU, through
the pure rule of ``hub.recommend`` (tested there with exact lines for several machines)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli import doctor
from edubot_cli.engines import llama_cpp
from edubot_cli.engines.gpu import GpuProbe
from edubot_cli.main import app
from edubot_cli.procgroup import free_port

GIB = 2**30
H100 = GpuProbe(["GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)"])


def test_total_ram_is_memtotal_or_the_cgroup_limit(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16318412 kB\nMemFree:         1000 kB\n", encoding="ascii")
    limit = tmp_path / "memory.max"
    assert doctor.total_ram_bytes(meminfo, limit) == 16318412 * 1024  # no cgroup file
    limit.write_text("max\n", encoding="ascii")
    assert doctor.total_ram_bytes(meminfo, limit) == 16318412 * 1024
    limit.write_text(f"{4 * GIB}\n", encoding="ascii")
    assert doctor.total_ram_bytes(meminfo, limit) == 4 * GIB
    assert doctor.total_ram_bytes(tmp_path / "none", tmp_path / "none") is not None  # sysconf


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-core machine with 24 GiB."""
    monkeypatch.setattr(llama_cpp, "physical_cores", lambda: 2)
    monkeypatch.setattr(doctor, "total_ram_bytes", lambda: 24 * GIB)


def test_the_model_line_for_this_machine(make_settings, machine: None) -> None:
    [check] = doctor.check_model_advice(make_settings(), GpuProbe([], "no GPU"))
    assert check == doctor.Check(
        "model",
        True,
        "for 2 cores and 24 GiB RAM, try `edubot model pull qwen2.5-1.5b` (on 2 cores a 3B model keeps students "
        "waiting about a minute; this one starts a grounded answer in ~15-30 s)",
    )


def test_a_pulled_model_is_pointed_at_and_the_gpu_named(make_settings, machine: None, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf").write_bytes(b"GGUF")
    [check] = doctor.check_model_advice(make_settings(models_dir=models), H100)
    assert check.detail.startswith("for 2 cores, 24 GiB RAM and a GPU, try `edubot model pull qwen2.5-1.5b`")
    assert check.detail.endswith("; the GPU serves Hugging Face models with vLLM instead (docs/models.md)")
    assert check.hint == (
        f"already pulled: `edubot serve --model {models / 'Qwen2.5-1.5B-Instruct-Q4_K_M.gguf'}` serves it"
    )


def test_the_slots_setting_counts(make_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_cpp, "physical_cores", lambda: 4)
    monkeypatch.setattr(doctor, "total_ram_bytes", lambda: 8 * GIB)
    [default] = doctor.check_model_advice(make_settings(), GpuProbe([], "no GPU"))
    [few] = doctor.check_model_advice(make_settings(parallel=4), GpuProbe([], "no GPU"))
    assert "pull qwen2.5-3b" in default.detail and "pull llama3.2-3b" in few.detail


def test_the_line_in_the_table_and_the_json(make_settings, machine: None, no_nvidia_smi, monkeypatch) -> None:
    make_settings()
    monkeypatch.setenv("EDUBOT_PORT", str(free_port()))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["doctor", "--quick"])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("✅ model ")]
    assert line.split("  ")[0] == "✅ model (optional)"
    assert line.endswith(
        "for 2 cores and 24 GiB RAM, try `edubot model pull qwen2.5-1.5b` (on 2 cores a 3B model "
        "keeps students waiting about a minute; this one starts a grounded answer in ~15-30 s)"
    )
    result = CliRunner().invoke(app, ["doctor", "--quick", "--format", "json"])
    [check] = [c for c in json.loads(result.output)["checks"] if c["name"] == "model"]
    assert (check["ok"], check["required"]) == (True, False)
    assert check["detail"].startswith("for 2 cores and 24 GiB RAM, try `edubot model pull qwen2.5-1.5b`")
