"""`edubot doctor`: each check against real and faked installations, the table, JSON and --strict."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli import doctor
from edubot_cli.engines.llama_build import SOURCE_VERSION, find_binary
from edubot_cli.engines.llama_cpp import physical_cores
from edubot_cli.main import app
from edubot_cli.procgroup import free_port
from tests.support.engine_fakes import write_executable


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {check.name: check for check in checks}


@pytest.mark.engine
def test_everything_the_default_serve_needs_is_here(make_settings, no_nvidia_smi) -> None:
    checks = by_name(doctor.run_checks(make_settings(port=free_port())))
    for name in (
        "Python",
        "fastapi",
        "uvicorn",
        "embedded model",
        "llama-server",
        "engine runs",
        "backend port",
    ):
        assert checks[name].ok, checks[name]
        assert checks[name].required
    assert checks["embedded model"].detail.endswith("SmolLM2-135M-Instruct.Q4_1.gguf (94 MiB)")
    binary, _ = find_binary(None)
    assert checks["llama-server"].detail == f"{binary} ({SOURCE_VERSION}, x86-64-v3)"
    assert re.fullmatch(r"one token \('.+'\) in \d+\.\d s, start to stop", checks["engine runs"].detail)
    assert doctor.healthy(list(checks.values()))


def test_threads_and_slots_are_shown(make_settings) -> None:
    checks = by_name(doctor.check_engine(make_settings(), smoke=False))
    assert checks["threads / slots"].detail == (
        f"{physical_cores()} threads (physical cores), 32 slots x 2048 tokens, up to 64 waiting"
    )
    tuned = by_name(doctor.check_engine(make_settings(threads=3, parallel=4, max_queue=8), smoke=False))
    assert (
        tuned["threads / slots"].detail
        == "3 threads (the threads setting), 4 slots x 2048 tokens, up to 8 waiting"
    )
    assert "engine runs" not in checks


def test_an_engine_that_dies_of_sigill_is_named_with_the_rebuild_command(
    make_settings, tmp_path: Path
) -> None:
    crashing = write_executable(tmp_path / "llama-server", "#!/bin/sh\nkill -ILL $$\n")
    checks = by_name(doctor.check_engine(make_settings(llama_server=crashing, logs_dir=tmp_path / "logs")))
    run = checks["engine runs"]
    assert (run.ok, run.required) == (False, True)
    assert run.detail == "the llama-cpp engine was killed by SIGILL before it was ready"
    assert run.hint.startswith(
        "SIGILL: the engine build uses instructions this CPU cannot run; rebuild it on this machine with "
        "`edubot engine build --force`"
    )


def test_an_engine_that_is_not_built_is_one_failing_check(make_settings, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    checks = doctor.check_engine(make_settings())
    assert [(c.name, c.ok, c.detail) for c in checks] == [
        ("llama-server", False, "llama-server (the embedded CPU engine) is not built yet")
    ]
    assert checks[0].hint.startswith("run `make install`, or `edubot engine build`")


def test_gpu_found(make_settings, fake_nvidia_smi) -> None:
    fake_nvidia_smi(gpus=2)
    check = doctor.check_gpu()
    assert check.ok
    assert (
        check.detail
        == "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0); GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-1)"
    )


def test_no_gpu_is_optional(no_nvidia_smi) -> None:
    check = doctor.check_gpu()
    assert not check.ok and not check.required
    assert check.detail == "nvidia-smi not found on PATH (no NVIDIA driver)"
    assert check.hint.startswith("only vLLM needs an NVIDIA GPU")


def test_vllm_missing_and_present(make_settings, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)
    missing = by_name(doctor.run_checks(make_settings(port=free_port()), smoke=False))["vllm"]
    assert (missing.ok, missing.detail, missing.hint) == (
        False,
        "not installed (the GPU engine)",
        "pip install 'edubot[gpu]'",
    )
    monkeypatch.delitem(sys.modules, "vllm")
    (tmp_path / "site" / "vllm").mkdir(parents=True)
    (tmp_path / "site" / "vllm" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    present = by_name(doctor.run_checks(make_settings(port=free_port()), smoke=False))["vllm"]
    assert (present.ok, present.detail) == (True, "vllm (version unknown)")


ILAB_0_26 = "#!/bin/sh\necho 'ilab, version 0.26.1'\n"


def test_ilab_from_setting_path_or_missing(make_settings, tmp_path: Path, no_nvidia_smi) -> None:
    from edubot_cli.lab.ilab import INSTALL_HINT

    missing = doctor.check_ilab(make_settings())
    assert missing == doctor.Check(
        "ilab",
        False,
        "ilab (InstructLab) was not found: not set in `ilab_path`, not on PATH, no .ilab-venv/bin/ilab",
        hint=f"{INSTALL_HINT}; needed only for `data generate` and `model train`",
    )
    ilab = write_executable(tmp_path / "ilab", ILAB_0_26)
    assert doctor.check_ilab(make_settings(ilab_path=ilab)) == doctor.Check(
        "ilab", True, f"ilab 0.26.1 at {ilab}"
    )
    wrong = doctor.check_ilab(make_settings(ilab_path=tmp_path / "nope"))
    assert not wrong.ok and wrong.detail == f"ilab_path {tmp_path / 'nope'} does not exist or is not a file"
    old = write_executable(tmp_path / "old-ilab", "#!/bin/sh\necho 'ilab, version 0.17.0'\n")
    too_old = doctor.check_ilab(make_settings(ilab_path=old))
    assert not too_old.ok and too_old.detail == f"{old} is ilab 0.17.0; edubot needs ilab 0.26.0 or newer"


def test_ilab_on_path_or_in_the_project_venv(make_settings, fake_nvidia_smi, tmp_path: Path) -> None:
    folder = fake_nvidia_smi()
    write_executable(folder / "ilab", ILAB_0_26)
    assert doctor.check_ilab(make_settings()) == doctor.Check(
        "ilab", True, f"ilab 0.26.1 at {folder / 'ilab'}"
    )
    (folder / "ilab").unlink()
    venv_bin = tmp_path / ".ilab-venv" / "bin"
    venv_bin.mkdir(parents=True)
    write_executable(venv_bin / "ilab", ILAB_0_26)
    assert doctor.check_ilab(make_settings()) == doctor.Check(
        "ilab", True, f"ilab 0.26.1 at {venv_bin / 'ilab'}"
    )


def test_configured_models(make_settings, gguf_file: Path, hf_dir: Path, tmp_path: Path) -> None:
    gguf = by_name(doctor.check_models(make_settings(model=gguf_file, models_dir=hf_dir.parent)))
    assert gguf["model (setting)"].detail == f"{gguf_file}: GGUF file (llama-cpp)"
    assert gguf["models_dir"].detail == f"{hf_dir.parent}: 1 servable (bot)"
    missing = by_name(
        doctor.check_models(make_settings(model=tmp_path / "gone", models_dir=tmp_path / "none"))
    )
    assert not missing["model (setting)"].ok and missing["model (setting)"].required
    assert missing["model (setting)"].detail == f"{tmp_path / 'gone'} does not exist"
    assert missing["models_dir"].detail == f"{tmp_path / 'none'} does not exist"
    assert not missing["models_dir"].required


def test_busy_port(make_settings) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        checks = by_name(doctor.run_checks(make_settings(port=port, engine_port=port), smoke=False))
    for name, flag in (("backend port", "--port"), ("engine port", "--engine-port")):
        assert not checks[name].ok
        assert checks[name].detail == f"port {port} on 127.0.0.1 is already in use"
        assert checks[name].hint.endswith(f"or choose another with {flag}")
    assert not doctor.healthy(list(checks.values()))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_table_output(runner: CliRunner, make_settings, no_nvidia_smi, monkeypatch) -> None:
    make_settings()  # isolates environment and working directory
    monkeypatch.setenv("EDUBOT_PORT", str(free_port()))
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, ["doctor", "--quick"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "edubot doctor   ✅ ok   ❌ required, failed   ➖ optional, not available"
    assert any(line.startswith("✅ Python ") for line in lines)
    gpu = next(i for i, line in enumerate(lines) if "GPU / CUDA" in line)
    assert re.fullmatch(
        r"➖ GPU / CUDA \(optional\) +nvidia-smi not found on PATH \(no NVIDIA driver\)", lines[gpu]
    )
    assert lines[gpu + 1].lstrip().startswith("hint: only vLLM needs an NVIDIA GPU")
    assert not [line for line in lines[1:] if "❌" in line]  # nothing required failed: no red cross
    assert result.output.rstrip().endswith("ready to serve")


def test_a_failed_required_check_keeps_the_cross(
    runner: CliRunner, make_settings, tmp_path: Path, monkeypatch
) -> None:
    make_settings()
    monkeypatch.setenv("EDUBOT_PORT", str(free_port()))
    monkeypatch.setenv("EDUBOT_MODEL", str(tmp_path / "missing.gguf"))
    result = runner.invoke(app, ["doctor", "--quick"])
    assert result.exit_code == 0, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("❌")]
    assert [line.split("  ")[0] for line in failed] == ["❌ model (setting)"]
    assert result.output.rstrip().endswith("a required check failed")


def test_mark_of_each_kind_of_check() -> None:
    from edubot_cli.commands.doctor import mark

    assert mark(doctor.Check("a", True, "", required=True)) == "✅"
    assert mark(doctor.Check("a", True, "")) == "✅"
    assert mark(doctor.Check("a", False, "", required=True)) == "❌"
    assert mark(doctor.Check("a", False, "")) == "➖"


def test_long_paths_are_printed_whole_on_one_line(runner: CliRunner, make_settings, monkeypatch) -> None:
    make_settings()
    path = "/" + "/".join(f"folder-{i:02d}" for i in range(40)) + "/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert len(path) > 300
    checks = [doctor.Check("embedded model", True, f"{path} (94 MiB)", required=True)]
    monkeypatch.setattr(doctor, "run_checks", lambda settings, smoke: checks)
    for columns in ("60", "200"):
        result = runner.invoke(app, ["doctor"], env={"COLUMNS": columns})
        assert result.exit_code == 0, result.output
        assert f"✅ embedded model  {path} (94 MiB)\n" in result.output


def test_help_explains_the_marks(runner: CliRunner) -> None:
    result = runner.invoke(app, ["doctor", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert "✅ (ok), ❌ (a required check failed) or ➖ (optional, not available)" in result.output


def test_json_and_strict(runner: CliRunner, make_settings, tmp_path: Path, monkeypatch) -> None:
    make_settings()
    monkeypatch.setenv("EDUBOT_PORT", str(free_port()))
    monkeypatch.setenv("EDUBOT_MODEL", str(tmp_path / "missing.gguf"))
    result = runner.invoke(app, ["doctor", "--format", "json", "--quick"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["ok"] is False
    failing = [check["name"] for check in document["checks"] if check["required"] and not check["ok"]]
    assert failing == ["model (setting)"]
    assert set(document["checks"][0]) == {"name", "ok", "detail", "hint", "required"}
    strict = runner.invoke(app, ["doctor", "--format", "json", "--strict", "--quick"])
    assert strict.exit_code == 1
    assert json.loads(strict.output) == document


def test_strict_passes_when_healthy(runner: CliRunner, make_settings, monkeypatch) -> None:
    make_settings()
    monkeypatch.setenv("EDUBOT_PORT", str(free_port()))
    assert runner.invoke(app, ["doctor", "--strict", "--format", "json", "--quick"]).exit_code == 0


def test_unknown_format(runner: CliRunner, make_settings) -> None:
    make_settings()
    result = runner.invoke(app, ["doctor", "--format", "yaml"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Invalid value for '--format' / '-f'" in result.output
    assert "'yaml' is not one of 'table', 'json'" in result.output
