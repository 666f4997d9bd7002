"""The serve flow in-process: external engines, signals, a dying engine, busy ports, and CLI error paths."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from edubot_cli import serving
from edubot_cli.engines import lifecycle
from edubot_cli.engines.base import Engine
from edubot_cli.engines.process import EngineProcess
from edubot_cli.errors import ConfigError, EngineError, MissingDependencyError
from edubot_cli.main import app
from edubot_cli.procgroup import free_port
from tests.support.engine_fakes import Recorder, fake_spec
from tests.support.stub_engine import StubEngine


def test_public_url() -> None:
    assert serving.public_url("0.0.0.0", 8000) == "http://localhost:8000"
    assert serving.public_url("127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert serving.public_url("::1", 8000) == "http://[::1]:8000"


@pytest.fixture
def default_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP at their defaults for the test (pytest may run under nohup, which ignores SIGHUP)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    for sig in saved:
        signal.signal(sig, signal.SIG_DFL)
    try:
        yield
    finally:
        for sig, action in saved.items():
            signal.signal(sig, action)


@pytest.mark.parametrize(
    ("sig", "reason"),
    [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted"), (signal.SIGHUP, "hangup")],
)
@pytest.mark.usefixtures("default_signals")
def test_serve_external_engine_until_a_signal(make_settings, stub_engine: StubEngine, sig, reason) -> None:
    port = free_port()
    answers: list[httpx.Response] = []

    def use_then_stop(url: str) -> None:
        try:
            answers.append(httpx.post(url + "/chat", json={"message": "hi"}, timeout=30))
        finally:
            os.kill(os.getpid(), sig)

    recorder = Recorder(on_ready=use_then_stop)
    settings = make_settings(engine_urls=[stub_engine.url + "/v1"], port=port, rate_limit_per_minute=0)
    outcome = serving.serve(settings, recorder)
    assert outcome == serving.ServeOutcome(reason, "external")
    assert recorder.events == [
        "started external",
        "ready external",
        f"backend http://127.0.0.1:{port}",
        "stopping external",
    ]
    assert answers[0].status_code == 200
    assert answers[0].json()["response"] == "Hello from the stub."
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers given back
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    with socket.socket() as again:  # the backend port is released
        again.bind(("127.0.0.1", port))


def test_a_dying_engine_stops_the_backend(make_settings, monkeypatch, tmp_path: Path) -> None:
    gone = tmp_path / "exit"
    spec = fake_spec(free_port(), "--exit-file", str(gone), "--exit-code", "9", "--say", "out of memory")
    engine = EngineProcess(spec, tmp_path / "logs")
    monkeypatch.setattr(lifecycle, "build_engine", lambda settings, live_log=None: engine)
    recorder = Recorder(on_ready=lambda url: gone.touch())
    with pytest.raises(EngineError) as info:
        serving.serve(make_settings(port=free_port(), max_restarts=0), recorder)
    assert info.value.message.startswith(
        "the fake engine exited with code 9; max_restarts is 0, so it is not restarted; last lines of "
    )
    assert "  | out of memory" in info.value.message.splitlines()
    assert recorder.events[-2:] == ["status failed", "stopping fake"]
    assert not engine.running()


def test_engine_failing_to_start_releases_the_port(make_settings, monkeypatch, tmp_path: Path) -> None:
    engine = EngineProcess(fake_spec(free_port(), "--exit-now", "--exit-code", "2"), tmp_path / "logs")
    monkeypatch.setattr(lifecycle, "build_engine", lambda settings, live_log=None: engine)
    port = free_port()
    with pytest.raises(EngineError, match="exited with code 2 before it was ready"):
        serving.serve(make_settings(port=port), Recorder())
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_engine_log_lines_reach_the_observer(make_settings, monkeypatch, tmp_path: Path) -> None:
    engine = EngineProcess(fake_spec(free_port(), "--say", "weights loaded"), tmp_path / "logs")
    captured: list[object] = []

    def build(settings, live_log=None):
        captured.append(live_log)
        engine.live_log = live_log
        return engine

    monkeypatch.setattr(lifecycle, "build_engine", build)
    recorder = Recorder()
    with lifecycle.running(make_settings(), recorder, show_log=True):
        pass
    assert captured[0] is not None
    assert "log weights loaded" in recorder.events


def test_busy_backend_port_is_reported_before_any_engine_starts(make_settings, monkeypatch) -> None:
    monkeypatch.setattr(
        lifecycle, "build_engine", lambda *a, **k: pytest.fail("engine built despite a busy port")
    )
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is already in use"):
            serving.serve(make_settings(port=port))


@pytest.fixture
def runner(make_settings) -> CliRunner:
    make_settings()  # clean environment, temporary working directory
    return CliRunner()


def test_cli_missing_model(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--model", str(tmp_path / "nope.gguf"), "--port", str(free_port())])
    assert result.exit_code == 1
    assert f"error: model not found: {tmp_path / 'nope.gguf'}" in result.output


def test_cli_gguf_to_vllm(runner: CliRunner, gguf_file: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--engine", "vllm", "--model", str(gguf_file), "--port", str(free_port())]
    )
    assert result.exit_code == 2
    assert "error: --engine vllm serves Hugging Face model directories, and " in result.output


def test_cli_busy_port(runner: CliRunner) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"error: port {port} on 127.0.0.1 is already in use" in result.output
    assert "--port" in result.output


def test_cli_passes_extra_args_after_double_dash(runner: CliRunner, monkeypatch) -> None:
    seen = {}

    def fake_serve(settings, observer, show_log=False):
        seen["args"] = settings.engine_args
        seen["urls"] = settings.engine_urls
        seen["show_log"] = show_log
        return serving.ServeOutcome("backend exited", "external")

    monkeypatch.setattr(serving, "serve", fake_serve)
    result = runner.invoke(
        app,
        [
            "serve",
            "--engine-url",
            "http://a:1",
            "--engine-url",
            "http://b:2",
            "--engine-log",
            "--",
            "--n_threads",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen == {"args": ["--n_threads", "4"], "urls": ["http://a:1", "http://b:2"], "show_log": True}
    assert result.output.rstrip().endswith("edubot stopped (backend exited); no engine process left running")


def test_sigterm_while_the_engine_loads_stops_it(make_settings, monkeypatch, tmp_path: Path) -> None:
    engine = EngineProcess(fake_spec(free_port(), "--ready-file", str(tmp_path / "never")), tmp_path / "logs")
    monkeypatch.setattr(lifecycle, "build_engine", lambda settings, live_log=None: engine)
    monkeypatch.setattr(serving, "choose_engine", lambda settings: engine.name)

    class StopWhileWaiting(Recorder):
        def engine_waiting(self, engine: Engine, elapsed: float) -> None:
            if "waiting" not in self.events:
                self.events.append("waiting")
                os.kill(os.getpid(), signal.SIGTERM)

    recorder = StopWhileWaiting()
    outcome = serving.serve(make_settings(port=free_port()), recorder)
    assert outcome == serving.ServeOutcome("terminated", "fake")
    assert recorder.events == ["started fake", "waiting", "stopping fake"]
    assert not engine.running()


def test_serve_without_the_serve_extra_names_it(make_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "edubot_cli.server.app", raising=False)
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(MissingDependencyError) as info:
        serving.serve(make_settings(engine_urls=["http://127.0.0.1:9"], port=free_port()))
    assert info.value.message == "fastapi is not installed (it comes with the 'serve' extra)"
    assert info.value.hint == "run `make install` or `pip install 'edubot[serve]'`"
