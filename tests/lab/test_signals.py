"""Ctrl-C and SIGTERM stop ilab's whole process group; the run record says so; edubot exits 130 / 143."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.lab import runner
from tests.lab.fake_ilab import FakeIlab, alive
from tests.support.poll import eventually


def start_edubot(work: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "edubot_cli", *args],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.parametrize(
    ("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_a_signal_to_edubot_stops_ilab_and_its_children(
    fake_ilab: FakeIlab, taxonomy: Path, work: Path, sig: signal.Signals, code: int, name: str
) -> None:
    fake_ilab.set(hang=True)
    proc = start_edubot(work, "data", "generate")
    try:
        assert eventually(lambda: fake_ilab.pids() is not None)
        pids = fake_ilab.pids()
        assert pids is not None and alive(pids["ilab"]) and alive(pids["child"])
        assert os.getpgid(pids["ilab"]) == pids["ilab"] != os.getpgid(proc.pid)  # a group of its own
        assert os.getpgid(pids["child"]) == pids["ilab"]
        proc.send_signal(sig)
        output = proc.communicate(timeout=60)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, output
    assert not alive(pids["ilab"]) and not alive(pids["child"])
    assert f"generation stopped ({name}): ilab's process group was stopped" in output
    [record_file] = (work / "datasets").glob("edubot-run-data-generate-*.json")
    record = json.loads(record_file.read_text())
    assert (record["exit_code"], record["interrupted"]) == (code, name)
    log = Path(work, record["log_file"]).read_text()
    assert log.endswith(f"[edubot] stopped ilab's process group after {name}\n")


def test_ilab_ignoring_sigint_is_killed_after_the_grace_period(fake_ilab: FakeIlab, tmp_path: Path) -> None:
    fake_ilab.set(hang=True, ignore_sigint=True)
    proc_holder: dict[str, subprocess.Popen[bytes]] = {}
    real_launch = runner.launch

    def keep(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = real_launch(*args, **kwargs)
        proc_holder["p"] = proc
        return proc

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "launch", keep)

        def interrupt(text: str, elapsed: float) -> None:
            if text == "hanging":
                raise KeyboardInterrupt

        outcome = runner.run(
            [str(fake_ilab.path), "data", "generate"],
            log_path=tmp_path / "run.log",
            on_line=interrupt,
            grace=0.5,
        )
    pids = fake_ilab.pids()
    assert pids is not None
    assert outcome.interrupted == signal.SIGINT and outcome.exit_code == 130
    assert proc_holder["p"].returncode == -signal.SIGTERM  # SIGINT ignored, SIGTERM ended it
    assert not alive(pids["ilab"]) and not alive(pids["child"])


def test_leftover_children_of_a_finished_ilab_are_stopped(tmp_path: Path) -> None:
    script = tmp_path / "ilab"
    pid_file = tmp_path / "child.pid"
    script.write_text(
        f"#!{sys.executable}\nimport subprocess, sys\n"
        f"c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(c.pid))\nprint('done')\n"
    )
    script.chmod(0o755)
    outcome = runner.run([str(script)], log_path=tmp_path / "run.log")
    assert outcome.exit_code == 0 and outcome.interrupted is None
    assert not alive(int(pid_file.read_text()))


def test_a_killed_ilab_reports_128_plus_the_signal(tmp_path: Path) -> None:
    script = tmp_path / "ilab"
    script.write_text(f"#!{sys.executable}\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    script.chmod(0o755)
    outcome = runner.run([str(script)], log_path=tmp_path / "run.log")
    assert outcome.exit_code == 137 and outcome.interrupted is None


def test_output_without_a_final_newline_and_invalid_utf8(tmp_path: Path) -> None:
    script = tmp_path / "ilab"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdout.buffer.write(b'one\\r\\ntwo\\xff\\n\\nthree')\n"
    )
    script.chmod(0o755)
    seen: list[str] = []
    outcome = runner.run([str(script)], log_path=tmp_path / "run.log", on_line=lambda t, e: seen.append(t))
    assert seen == ["one", "two\ufffd", "three"]
    assert outcome.tail == seen
    assert (tmp_path / "run.log").read_bytes().endswith(b"one\r\ntwo\xff\n\nthree")


def test_an_unrunnable_ilab_is_a_lab_error(tmp_path: Path) -> None:
    from edubot_cli.errors import LabError

    with pytest.raises(LabError, match="cannot run"):
        runner.run([str(tmp_path / "missing")], log_path=tmp_path / "run.log")
