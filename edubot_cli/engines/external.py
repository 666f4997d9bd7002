"""external: OpenAI-compatible engines someone else runs (``--engine-url``, repeatable); nothing is started."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..errors import UsageError
from .base import Tick

NAME = "external"


def normalise_url(url: str) -> str:
    """``url`` as a base URL: http(s), no trailing slash, no trailing ``/v1`` (the backend adds it)."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--engine-url {url!r} is not an http(s) URL",
            hint="give the engine's base URL, e.g. --engine-url http://gpu1:8001",
        )
    if parts.query or parts.fragment:
        raise UsageError(
            f"--engine-url {url!r} must not have a query or fragment", hint="give the base URL only"
        )
    text = text.rstrip("/")
    if text.endswith("/v1"):
        text = text[: -len("/v1")]
    return text


class ExternalEngine:
    """Engines reachable at ``urls``; the backend balances over them and watches their health."""

    def __init__(self, urls: list[str]) -> None:
        if not urls:
            raise UsageError(
                "--engine external needs at least one --engine-url",
                hint="e.g. --engine external --engine-url http://gpu1:8001 --engine-url http://gpu2:8001",
            )
        normalised = [normalise_url(url) for url in urls]
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
