"""The auto choice of engine and the construction of the chosen one."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from edubot_cli.engines import choose
from edubot_cli.engines.external import ExternalEngine
from edubot_cli.engines.process import EngineProcess
from edubot_cli.errors import ConfigError, UsageError


def test_nothing_given_serves_the_embedded_model(make_settings) -> None:
    assert choose.choose_engine(make_settings()) == "llama-cpp"


def test_gguf_goes_to_llama_cpp(make_settings, gguf_file: Path) -> None:
    assert choose.choose_engine(make_settings(model=gguf_file), vllm_ok=lambda: True) == "llama-cpp"


def test_hf_dir_goes_to_vllm_with_cuda_and_vllm(make_settings, hf_dir: Path) -> None:
    assert choose.choose_engine(make_settings(model=hf_dir), vllm_ok=lambda: True) == "vllm"


def test_hf_dir_goes_to_transformers_otherwise(make_settings, hf_dir: Path) -> None:
    assert choose.choose_engine(make_settings(model=hf_dir), vllm_ok=lambda: False) == "transformers"


def test_engine_urls_mean_external(make_settings) -> None:
    assert choose.choose_engine(make_settings(engine_urls=["http://gpu1:8001"])) == "external"


def test_explicit_engine_wins(make_settings, gguf_file: Path) -> None:
    assert choose.choose_engine(make_settings(model=gguf_file, engine="transformers")) == "transformers"


def test_unknown_engine(make_settings) -> None:
    with pytest.raises(UsageError) as info:
        choose.choose_engine(make_settings(engine="ollama"))
    assert info.value.message == "unknown engine 'ollama' (from --engine or the `engine` setting)"
    assert info.value.hint == "choose one of: auto, llama-cpp, vllm, transformers, external"


def test_engine_url_with_a_started_engine(make_settings) -> None:
    with pytest.raises(UsageError, match="--engine-url only applies to --engine external, not vllm"):
        choose.choose_engine(make_settings(engine="vllm", engine_urls=["http://gpu1:8001"]))


def test_model_and_engine_url_together(make_settings, gguf_file: Path) -> None:
    with pytest.raises(UsageError, match="give either --model"):
        choose.choose_engine(make_settings(model=gguf_file, engine_urls=["http://gpu1:8001"]))


def test_auto_with_a_missing_model(make_settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model not found"):
        choose.choose_engine(make_settings(model=tmp_path / "missing"))


def test_auto_with_something_unrecognisable(make_settings, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(UsageError) as info:
        choose.choose_engine(make_settings(model=notes))
    assert info.value.message == (
        f"cannot tell what {notes} is: neither a GGUF file nor a Hugging Face model directory (config.json)"
    )


def test_vllm_usable_needs_both_vllm_and_a_gpu(fake_vllm, fake_nvidia_smi) -> None:
    fake_nvidia_smi(gpus=1)
    assert choose.vllm_usable() is True


def test_vllm_usable_without_gpu(fake_vllm, no_nvidia_smi) -> None:
    assert choose.vllm_usable() is False


def test_vllm_usable_without_vllm(fake_nvidia_smi, monkeypatch) -> None:
    fake_nvidia_smi(gpus=1)
    monkeypatch.setitem(__import__("sys").modules, "vllm", None)
    assert choose.vllm_usable() is False


def test_build_engine_external(make_settings) -> None:
    engine = choose.build_engine(make_settings(engine_urls=["http://gpu1:8001/", "http://gpu2:8001"]))
    assert isinstance(engine, ExternalEngine)
    assert engine.urls == ["http://gpu1:8001", "http://gpu2:8001"]


def test_build_engine_picks_a_free_port(make_settings, tmp_path: Path) -> None:
    engine = choose.build_engine(make_settings())
    assert isinstance(engine, EngineProcess)
    assert engine.spec.port > 0
    assert engine.spec.command[engine.spec.command.index("--port") + 1] == str(engine.spec.port)
    assert engine.logs_dir == tmp_path / "logs"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", engine.spec.port))


def test_build_engine_fixed_port_in_use(make_settings) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(ConfigError) as info:
            choose.build_engine(make_settings(engine_port=port))
    assert info.value.message == f"port {port} on 127.0.0.1 is already in use"
    assert "--engine-port" in (info.value.hint or "")
