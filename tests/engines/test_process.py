"""Launching, readiness, early exit, timeouts and process-group cleanup, with a fake engine process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edubot_cli.engines.base import EngineSpec
from edubot_cli.engines.process import EngineProcess
from edubot_cli.errors import ConfigError, EngineError
from edubot_cli.procgroup import free_port, group_members
from tests.support.engine_fakes import fake_spec
from tests.support.poll import eventually


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return text[text.rindex(")") + 2] != "Z"


@pytest.fixture
def launch(tmp_path: Path):
    started: list[EngineProcess] = []

    def make(spec: EngineSpec, **kwargs) -> EngineProcess:
        engine = EngineProcess(spec, tmp_path / "logs", **kwargs)
        started.append(engine)
        engine.start()
        return engine

    yield make
    for engine in started:
        engine.stop()


def test_ready_engine_reports_its_url_and_logs(launch, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    port = free_port()
    engine = launch(fake_spec(port, "--ready-file", str(ready), "--say", "loading weights"))
    ticks: list[float] = []

    def tick(elapsed: float) -> None:
        ticks.append(elapsed)
        ready.touch()

    engine.wait_ready(30.0, tick)
    assert ticks and ticks == sorted(ticks)
    assert engine.urls == [f"http://127.0.0.1:{port}"]
    assert engine.running()
    log = engine.log_path
    assert log is not None and log.parent == tmp_path / "logs"
    assert log.name.startswith("engine-fake-") and log.name.endswith(f"-{port}.log")
    lines = log.read_text().splitlines()
    assert lines[0] == "$ " + subprocess.list2cmdline(engine.spec.command)
    assert "loading weights" in lines


def test_early_exit_quotes_the_log_and_hints(launch) -> None:
    spec = fake_spec(
        free_port(), "--say", "error: cannot load model", "--exit-now", "--exit-code", "3", hint="a hint"
    )
    engine = launch(spec)
    with pytest.raises(EngineError) as info:
        engine.wait_ready(30.0)
    message = info.value.message
    assert message.startswith(
        f"the fake engine exited with code 3 before it was ready; last lines of {engine.log_path}:"
    )
    assert "  | error: cannot load model" in message.splitlines()
    assert info.value.hint == f"a hint; full log: {engine.log_path}"
    assert not engine.running()


def test_readiness_timeout_stops_the_engine(launch, tmp_path: Path) -> None:
    port = free_port()
    engine = launch(fake_spec(port, "--ready-file", str(tmp_path / "never")))
    with pytest.raises(EngineError) as info:
        engine.wait_ready(1.0)
    assert info.value.message.startswith(
        f"the fake engine did not answer http://127.0.0.1:{port}/health within 1 s"
    )
    assert (info.value.hint or "").startswith("raise --ready-timeout if it is still loading; full log: ")
    assert not engine.running()
    assert group_members(engine.pid or 0) == []


def test_stop_ends_the_whole_process_group(launch, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    engine = launch(fake_spec(free_port(), "--spawn-child", str(pidfile)))
    engine.wait_ready(30.0)
    assert eventually(lambda: pidfile.exists() and pidfile.read_text() != "")
    grandchild = int(pidfile.read_text())
    leader = engine.pid
    assert leader is not None and alive(grandchild) and alive(leader)
    assert sorted(group_members(leader)) == sorted([leader, grandchild])
    engine.stop()
    assert not alive(leader)
    assert not alive(grandchild)
    engine.stop()  # a second stop is harmless


def test_an_engine_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    engine = EngineProcess(fake_spec(free_port(), "--ignore-term"), tmp_path / "logs", stop_grace=0.5)
    engine.start()
    try:
        engine.wait_ready(30.0)
    finally:
        engine.stop()
    assert engine._proc is not None and engine._proc.returncode == -signal.SIGKILL


def test_engine_log_can_be_followed_live(launch) -> None:
    lines: list[str] = []
    engine = launch(fake_spec(free_port(), "--say", "hello from the engine"), live_log=lines.append)
    engine.wait_ready(30.0)
    assert eventually(lambda: "hello from the engine" in lines)
    engine.stop()
    assert lines[0].startswith("$ ")


def test_check_alive_reports_a_dead_engine(launch, tmp_path: Path) -> None:
    gone = tmp_path / "exit"
    engine = launch(fake_spec(free_port(), "--exit-file", str(gone), "--exit-code", "7"))
    engine.wait_ready(30.0)
    engine.check_alive()
    gone.touch()
    assert eventually(lambda: not engine.running())
    with pytest.raises(EngineError) as info:
        engine.check_alive()
    assert info.value.message.startswith("the fake engine exited with code 7 unexpectedly; last lines of ")
    assert "  | fake engine exiting with 7" in info.value.message.splitlines()


def test_missing_executable(tmp_path: Path) -> None:
    spec = EngineSpec(
        name="fake", command=[str(tmp_path / "no-such-engine")], port=1, ready_path="/", model="m"
    )
    engine = EngineProcess(spec, tmp_path / "logs")
    with pytest.raises(EngineError) as info:
        engine.start()
    assert (
        info.value.message
        == f"cannot run the fake engine ({tmp_path / 'no-such-engine'}): No such file or directory"
    )
    engine.stop()


def test_stop_before_start_is_harmless(tmp_path: Path) -> None:
    engine = EngineProcess(fake_spec(1), tmp_path / "logs")
    engine.stop()
    assert (engine.pid, engine.poll(), engine.running(), engine.log_path) == (None, None, False, None)
    engine.check_alive()  # nothing started, nothing to report


def test_engine_dies_with_a_killed_parent(tmp_path: Path) -> None:
    """Even SIGKILL of edubot (no cleanup code runs) leaves no engine behind (Linux PR_SET_PDEATHSIG)."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from tests.support.engine_fakes import fake_spec\n"
        "from edubot_cli.engines.process import EngineProcess\n"
        "from edubot_cli.procgroup import free_port\n"
        "engine = EngineProcess(fake_spec(free_port()), Path(sys.argv[2]))\n"
        "engine.start(); engine.wait_ready(30.0)\n"
        "print(engine.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(root), str(tmp_path / "logs")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        engine_pid = int(parent.stdout.readline())
        assert alive(engine_pid)
    finally:
        parent.kill()
        parent.wait()
    assert eventually(lambda: not alive(engine_pid))


def test_logs_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the folder should be")
    engine = EngineProcess(fake_spec(free_port()), blocker / "engines")
    with pytest.raises(ConfigError) as info:
        engine.start()
    assert info.value.message == f"cannot create the logs folder {blocker / 'engines'}: Not a directory"
    assert info.value.hint == "check logs_dir in the config"
