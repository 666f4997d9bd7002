"""The real backend (``create_app``) under uvicorn in a thread, for tests that speak HTTP to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .server_thread import ServerThread


class LiveBackend:
    """``create_app(load_settings(**settings_overrides), upstream)`` served on a free port; ``upstream`` defaults
    to ``Upstream(engine_urls, engine_name, **fields)``. ``warm`` keeps the system-prompt warm-up of the slots
    (off by default: it would take the replies a test scripts for its stub engine).

    ``settings_overrides`` are Settings fields (e.g. ``{"api_key": "k", "rate_limit_per_minute": 0}``); the
    config file and EDUBOT_* environment of the test process are not read. ``app`` gives access to the app
    (``app.state.backend`` holds the pool and metrics).
    """

    def __init__(
        self,
        settings_overrides: dict[str, Any] | None = None,
        engine_urls: list[str] | None = None,
        engine_name: str = "external",
        health_interval: float = 5.0,
        static_dir: Path | None = None,
        upstream: Any = None,
        warm: bool = False,
        **fields: Any,
    ) -> None:
        from edubot_cli.server.app import create_app
        from edubot_cli.server.engine.upstream import Upstream

        self.settings = settings = isolated_settings(
            {"rate_limit_per_minute": 0, **(settings_overrides or {})}
        )
        self.app = create_app(
            settings,
            upstream or Upstream(list(engine_urls or []), engine_name, **fields),
            health_interval=health_interval,
            static_dir=static_dir,
        )
        if not warm:
            # The system-prompt warm-up would take scripted stub replies meant for the test; tests that check it
            # (and the real engine) ask for it.
            self.app.state.backend.pool.warm_body = None
        self._server = ServerThread(self.app, name="live-backend")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> LiveBackend:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> LiveBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def isolated_settings(overrides: dict[str, Any]) -> Any:
    """Settings from the defaults and ``overrides`` only: no config file, no EDUBOT_* environment, grounding off
    unless asked for (tests that check the engine's exact messages would otherwise get the repository's taxonomy
    in them), ``client_sampling`` on unless asked for (tests bound an answer with the request's own
    ``max_tokens``; tests of the class default ask for it off), and moderation and the scope check off unless
    asked for (tests of the stream check the engine's deltas one by one, which the answer filter releases a
    sentence at a time; tests/server/test_safety.py asks for them)."""
    import os
    import tempfile
    from unittest import mock

    from edubot_cli.config import load_settings

    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, clean, clear=True):
        empty = Path(tmp) / "edubot.yaml"
        empty.write_text("{}\n", encoding="utf-8")
        # data_dir: a folder that does not exist, so no classroom store is found (tests of the classroom give
        # their own).
        no_store = Path(tmp) / "no-classroom"
        return load_settings(
            empty,
            **{
                "grounding": False,
                "client_sampling": True,
                "data_dir": no_store,
                "moderation": False,
                "scope": "off",
                **overrides,
            },
        )


@contextmanager
def served_embedded(
    logs: Path, backend_overrides: dict[str, Any] | None = None, **settings_overrides: Any
) -> Iterator[tuple[Any, LiveBackend]]:
    """The real embedded engine, started and supervised the way `edubot serve` does it, behind a live backend:
    yields (``engines.lifecycle.Running``, ``LiveBackend``)."""
    from edubot_cli.engines.lifecycle import running
    from edubot_cli.serving import upstream_for

    settings = isolated_settings({"logs_dir": logs, **settings_overrides})
    with (
        running(settings, supervise=True) as launch,
        LiveBackend(backend_overrides, upstream=upstream_for(launch), warm=True) as live,
    ):
        yield launch, live
