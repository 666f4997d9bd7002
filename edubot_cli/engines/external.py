"""external: OpenAI-compatible engines someone else runs (``--engine-url``, repeatable); nothing is started."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..urls import engine_url
from .base import Tick

NAME = "external"


class ExternalEngine:
    """Engines reachable at ``urls``; the backend balances over them and watches their health."""

    def __init__(self, urls: list[str]) -> None:
        if not urls:
            raise UsageError(
                "--engine external needs at least one --engine-url",
                hint="e.g. --engine external --engine-url http://gpu1:8001 --engine-url http://gpu2:8001",
            )
        normalised = [engine_url(url).base for url in urls]
        self._urls = list(dict.fromkeys(normalised))

    @property
    def name(self) -> str:
        return NAME

    @property
    def urls(self) -> list[str]:
        return list(self._urls)

    @property
    def model(self) -> str:
        return ", ".join(self._urls)

    @property
    def served_model_name(self) -> str | None:
        return None

    @property
    def log_path(self) -> Path | None:
        return None

    @property
    def api_key(self) -> str | None:
        return None

    @property
    def capacity(self) -> int | None:
        return None

    @property
    def health_path(self) -> str:
        return "/v1/models"

    def start(self) -> None:
        """Nothing to start."""

    def wait_ready(self, timeout: float, tick: Tick | None = None) -> float:
        """Nothing to wait for: the backend's /health reports engines that cannot be reached."""
        return 0.0

    def check_alive(self) -> None:
        """Nothing to check: the backend watches external engines' health itself."""

    def stop(self) -> None:
        """Nothing to stop."""
