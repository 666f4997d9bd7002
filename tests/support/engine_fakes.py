"""Fixtures for engine, serve and doctor tests: isolated settings, a fake engine process, fake vllm and nvidia-smi.

Registered for every test folder by ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.config import Settings, load_settings
from edubot_cli.engines.base import Engine, EngineSpec

FAKE_ENGINE = Path(__file__).with_name("fake_engine.py")


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings from defaults and the given overrides only (no config file, no EDUBOT_* variables)."""
    for name in list(os.environ):
        if name.startswith("EDUBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("logs_dir", tmp_path / "logs")
        return load_settings(None, **overrides)

    return make


def fake_spec(port: int, *args: str, ready_path: str = "/health", hint: str = "") -> EngineSpec:
    """A spec that launches tests/support/fake_engine.py with ``args``."""
    command = [sys.executable, str(FAKE_ENGINE), "--port", str(port), "--ready-path", ready_path, *args]
    return EngineSpec(
        name="fake", command=command, port=port, ready_path=ready_path, model="fake.gguf", hint=hint
    )


def write_executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Put an ``nvidia-smi`` on PATH that lists ``gpus`` GPUs (or fails with ``exit_code``)."""

    def install(gpus: int = 1, exit_code: int = 0) -> Path:
        folder = tmp_path / "bin"
        folder.mkdir(exist_ok=True)
        lines = "".join(f"echo 'GPU {i}: NVIDIA H100 80GB HBM3 (UUID: GPU-{i})'\n" for i in range(gpus))
        body = f"echo 'NVIDIA-SMI has failed' >&2\nexit {exit_code}\n" if exit_code else lines
        write_executable(folder / "nvidia-smi", "#!/bin/sh\n" + body)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        return folder

    return install


@pytest.fixture
def no_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH on which there is no nvidia-smi."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def fake_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An importable (empty) ``vllm`` package, found by importlib like the real one."""
    root = tmp_path / "site"
    (root / "vllm").mkdir(parents=True)
    (root / "vllm" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(root))


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    """A file with GGUF magic bytes (enough for the engine choice; not a loadable model)."""
    path = tmp_path / "bot.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 60)
    return path


@pytest.fixture
def hf_dir(tmp_path: Path) -> Path:
    """A directory that looks like a Hugging Face model (config.json)."""
    path = tmp_path / "models" / "bot"
    path.mkdir(parents=True)
    (path / "config.json").write_text('{"model_type": "llama"}')
    return path


class Recorder:
    """A ServeObserver that records events and can act when the backend is ready."""

    def __init__(self, on_ready=None) -> None:
        self.events: list[str] = []
        self.on_ready = on_ready

    def engine_started(self, engine: Engine) -> None:
        self.events.append(f"started {engine.name}")

    def engine_waiting(self, engine: Engine, elapsed: float) -> None:
        if not self.events or self.events[-1] != "waiting":
            self.events.append("waiting")

    def engine_ready(self, engine: Engine, elapsed: float) -> None:
        self.events.append(f"ready {engine.name}")

    def backend_ready(self, url: str) -> None:
        self.events.append(f"backend {url}")
        if self.on_ready is not None:
            threading.Thread(target=self.on_ready, args=(url,), daemon=True).start()

    def engine_log(self, line: str) -> None:
        self.events.append(f"log {line}")

    def engine_status(self, status: str, detail: str) -> None:
        self.events.append(f"status {status}")

    def stopping(self, engine: Engine) -> None:
        self.events.append(f"stopping {engine.name}")
