"""What every engine has in common: a command line to launch (or URLs to reach) and a readiness URL.

An engine module turns settings into an ``EngineSpec`` (pure data: nothing is started). ``process.EngineProcess``
launches a spec; ``external.ExternalEngine`` stands for engines someone else runs. Both satisfy ``Engine``, which
is all ``serving`` needs.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import ConfigError, UsageError, missing_extra

if TYPE_CHECKING:
    from ..config import Settings

ENGINE_NAMES = ("llama-cpp", "vllm", "transformers", "external")
"""The values ``--engine`` accepts besides ``auto``."""

LOCALHOST = "127.0.0.1"
"""Started engines bind here only: the backend is the one public door."""


@dataclass(frozen=True)
class EngineSpec:
    """How to launch one engine and how to tell that it is ready."""

    name: str
    """Engine name as ``--engine`` spells it (``llama-cpp``, ``vllm``, ``transformers``)."""
    command: list[str]
    """Full command line (argv), including the port."""
    port: int
    """Port on 127.0.0.1 the engine listens on."""
    ready_path: str
    """Path that answers 200 once the model is loaded (``/v1/models`` or ``/health``)."""
    model: str
    """What is served, for messages (a file or directory path)."""
    served_model_name: str = ""
    """The model name requests must carry (what the engine announces); empty means the ``served_model_name``
    setting."""
    env: dict[str, str] = field(default_factory=dict)
    """Variables added to the inherited environment."""
    cwd: str | None = None
    """Working directory of the engine process (None: edubot's own)."""
    api_key: str | None = None
    """The per-run key the engine requires (None: the engine takes no key); only the backend holds it."""
    capacity: int | None = None
    """Requests the engine works on at once; the backend queues the rest (None: no limit from edubot)."""
    hint: str = ""
    """What to try when the engine exits early or never becomes ready."""

    @property
    def url(self) -> str:
        """Base URL of the engine (its OpenAI API lives under ``/v1``)."""
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def ready_url(self) -> str:
        """The URL polled until it answers 200."""
        return self.url + self.ready_path


Tick = Callable[[float], None]
"""Called with the seconds elapsed while waiting for an engine to become ready."""


class Engine(Protocol):
    """A running (or reachable) engine as ``serving`` sees it."""

    @property
    def name(self) -> str:
        """Engine name (``llama-cpp``, ``vllm``, ``transformers`` or ``external``)."""
        ...

    @property
    def urls(self) -> list[str]:
        """Base URLs the backend talks to (OpenAI API under ``/v1``)."""
        ...

    @property
    def model(self) -> str:
        """What is served, for messages (a model path, or the URLs of external engines)."""
        ...

    @property
    def served_model_name(self) -> str | None:
        """The model name requests must carry, when the engine imposes one (None: the setting applies)."""
        ...

    @property
    def log_path(self) -> Path | None:
        """File receiving the engine's output, or None when nothing is started."""
        ...

    @property
    def api_key(self) -> str | None:
        """The key requests to the engine must carry (None: none)."""
        ...

    @property
    def capacity(self) -> int | None:
        """Requests the engine works on at once (None: no limit from edubot)."""
        ...

    @property
    def health_path(self) -> str:
        """Path that answers 200 while the engine can serve (probed by the backend)."""
        ...

    def start(self) -> None:
        """Launch the engine (returns at once; see ``wait_ready``)."""
        ...

    def wait_ready(self, timeout: float, tick: Tick | None = None) -> float:
        """Block until the engine answers its readiness URL; return the seconds waited."""
        ...

    def check_alive(self) -> None:
        """Raise ``EngineError`` (with the engine's last log lines) if a started engine has exited."""
        ...

    def stop(self) -> None:
        """Stop the engine and everything it started; safe to call twice."""
        ...


GGUF_MAGIC = b"GGUF"


def is_gguf(path: Path) -> bool:
    """Whether ``path`` is a GGUF file (checked by its magic bytes, not its name)."""
    try:
        with path.open("rb") as stream:
            return stream.read(4) == GGUF_MAGIC
    except (IsADirectoryError, FileNotFoundError, PermissionError):
        return False


def is_hf_dir(path: Path) -> bool:
    """Whether ``path`` is a Hugging Face model directory (it has a config.json)."""
    return path.is_dir() and (path / "config.json").is_file()


def existing_model(path: Path) -> Path:
    """``path`` if it exists, else a ``ConfigError`` saying so."""
    if not path.exists():
        raise ConfigError(
            f"model not found: {path} (from --model or the `model` setting)",
            hint="pass an existing GGUF file or Hugging Face model directory; `edubot model list` shows servable models",
        )
    return path


def hf_model_dir(settings: Settings, engine: str) -> Path:
    """The Hugging Face model directory ``--model`` names, for the engines that serve one (vllm, transformers);
    a ``UsageError`` naming ``engine`` for nothing, a missing path, a GGUF file or a folder without config.json."""
    if settings.model is None:
        raise UsageError(
            f"--engine {engine} needs --model pointing to a Hugging Face model directory",
            hint="leave --engine out to serve the embedded model with llama-cpp; `edubot model list` shows "
            "servable directories",
        )
    path = existing_model(settings.model)
    if not is_hf_dir(path):
        what = (
            "a GGUF file"
            if is_gguf(path)
            else "a file"
            if path.is_file()
            else "a directory without config.json"
        )
        raise UsageError(
            f"--engine {engine} serves Hugging Face model directories, and {path} is {what}",
            hint="use --engine llama-cpp for a GGUF file, or point --model to a directory from `edubot model convert`",
        )
    return path


def require_module(module: str, extra: str, label: str | None = None) -> None:
    """Raise ``MissingDependencyError`` if ``module`` cannot be imported (checked without importing it)."""
    if importlib.util.find_spec(module) is None:
        raise missing_extra(label or module, extra)
