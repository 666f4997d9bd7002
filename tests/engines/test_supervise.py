"""The supervisor against the fake engine process: restart after a death, give up after too many, hints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edubot_cli.engines.process import EngineProcess
from edubot_cli.engines.supervise import FAILED, OK, RESTARTING, Supervisor
from edubot_cli.errors import EngineError
from edubot_cli.procgroup import free_port
from tests.support.engine_fakes import fake_spec
from tests.support.poll import CEILING, eventually

pytestmark = pytest.mark.timeout(300)


class Changes:
    """The supervisor's status changes, with a way to wait for one."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self._event = threading.Condition()

    def __call__(self, status: str, detail: str) -> None:
        with self._event:
            self.seen.append((status, detail))
            self._event.notify_all()

    def wait_for(self, status: str, count: int = 1, timeout: float = CEILING) -> None:
        with self._event:
            done = self._event.wait_for(lambda: [s for s, _ in self.seen].count(status) >= count, timeout)
        assert done, f"no {status!r} x{count} within {timeout} s: {self.seen}"


@pytest.fixture
def started(tmp_path: Path) -> Iterator[callable]:
    made: list[tuple[EngineProcess, Supervisor]] = []

    def make(*args: str, **options: object) -> tuple[EngineProcess, Supervisor, Changes]:
        engine = EngineProcess(fake_spec(free_port(), *args), tmp_path / "logs", stop_grace=2)
        engine.start()
        engine.wait_ready(CEILING)
        changes = Changes()
        supervisor = Supervisor(
            engine,
            ready_timeout=CEILING,
            max_restarts=int(options.get("max_restarts", 3)),
            window=float(options.get("window", 60)),
            backoff=(float(options.get("backoff", 0.01)),),
            on_change=changes,
        )
        supervisor.start()
        made.append((engine, supervisor))
        return engine, supervisor, changes

    yield make
    for engine, supervisor in made:
        supervisor.stop()
        engine.stop()
        supervisor.join()


def test_a_dead_engine_is_restarted_on_its_port_and_reported(started, tmp_path: Path) -> None:
    gone = tmp_path / "exit"
    engine, supervisor, changes = started("--exit-file", str(gone), "--exit-once", "--exit-code", "7")
    first = engine.pid
    gone.touch()
    changes.wait_for(OK)
    assert changes.seen == [
        (RESTARTING, "the fake engine exited with code 7; restarting it"),
        (OK, "the fake engine is back after it exited with code 7"),
    ]
    assert (supervisor.status, supervisor.restarts, supervisor.last_exit) == (OK, 1, "exited with code 7")
    assert engine.running() and engine.pid != first
    assert engine.log_path is not None
    assert "--- edubot: restarting the engine (exited with code 7) ---" in engine.log_path.read_text()
    supervisor.check()  # nothing to raise


def test_the_death_is_seen_at_once_as_restarting(started, tmp_path: Path) -> None:
    gone = tmp_path / "exit"
    engine, supervisor, _ = started("--exit-file", str(gone), "--exit-once", backoff=600.0)
    gone.touch()
    assert eventually(lambda: engine.poll() is not None)
    assert supervisor.status == RESTARTING  # before the watcher thread has even looked


def test_too_many_deaths_in_the_window_end_supervision_with_the_log(started, tmp_path: Path) -> None:
    gone = tmp_path / "exit"
    engine, supervisor, changes = started(
        "--exit-file", str(gone), "--exit-code", "7", "--say", "bad weights", max_restarts=2
    )
    gone.touch()  # from now on every start exits again at once
    changes.wait_for(FAILED)
    assert [status for status, _ in changes.seen] == [RESTARTING, RESTARTING, FAILED]
    assert supervisor.status == FAILED
    with pytest.raises(EngineError) as info:
        supervisor.check()
    lines = info.value.message.splitlines()
    assert lines[0].startswith(
        "the fake engine exited with code 7; it died 3 times within 60 s, so edubot gave up; last lines of "
    )
    assert "  | bad weights" in lines
    assert info.value.hint == f"full log: {engine.log_path}"


def test_deaths_outside_the_window_do_not_add_up(started, tmp_path: Path) -> None:
    gone = tmp_path / "exit"
    _, supervisor, changes = started("--exit-file", str(gone), max_restarts=1, window=0.05, backoff=0.2)
    gone.touch()
    changes.wait_for(RESTARTING, count=4)
    assert FAILED not in [status for status, _ in changes.seen]
    supervisor.check()


@pytest.mark.parametrize(
    ("signal_name", "hint"),
    [
        (
            "ILL",
            "SIGILL: the engine build uses instructions this CPU cannot run; rebuild it on this machine with "
            "`edubot engine build --force` (add `--cpu x86-64-v2` on a CPU without AVX2)",
        ),
        (
            "KILL",
            "SIGKILL usually means the kernel ran out of memory (`dmesg | grep -i oom` tells); lower "
            "--parallel or --context-length, or serve a smaller model",
        ),
        ("SEGV", ""),
    ],
)
def test_the_hint_fits_the_signal(started, tmp_path: Path, signal_name: str, hint: str) -> None:
    gone = tmp_path / "exit"
    engine, supervisor, changes = started("--exit-file", str(gone), "--die-by", signal_name, max_restarts=0)
    gone.touch()
    changes.wait_for(FAILED)
    with pytest.raises(EngineError) as info:
        supervisor.check()
    assert info.value.message.startswith(
        f"the fake engine was killed by SIG{signal_name}; max_restarts is 0, so it is not restarted; "
    )
    assert info.value.hint == "; ".join(h for h in (hint, f"full log: {engine.log_path}") if h)


def test_stopping_during_a_restart_leaves_no_engine(tmp_path: Path) -> None:
    gone = tmp_path / "exit"
    engine = EngineProcess(
        fake_spec(free_port(), "--exit-file", str(gone), "--ready-file", str(tmp_path / "ready")),
        tmp_path / "logs",
        stop_grace=2,
    )
    (tmp_path / "ready").touch()
    engine.start()
    engine.wait_ready(CEILING)
    changes = Changes()
    supervisor = Supervisor(
        engine, ready_timeout=CEILING, max_restarts=5, window=60, backoff=(0.01,), on_change=changes
    )
    supervisor.start()
    first = engine.pid
    (tmp_path / "ready").unlink()  # the restarted engine never becomes ready
    gone.touch()
    changes.wait_for(RESTARTING)
    gone.unlink()
    assert eventually(lambda: engine.pid != first and engine.running())  # the restart waits for readiness now
    assert supervisor.status == RESTARTING
    supervisor.stop()
    engine.stop()
    supervisor.join()
    assert not engine.running()
    assert engine.poll() is not None
