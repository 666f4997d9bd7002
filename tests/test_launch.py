"""``launch.launch``: the command line logged first, a process group of its own, extra environment, and the
kernel's parent-death signal set from the one long-lived forking thread whichever thread asks."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

import pytest

from edubot_cli.launch import DEATH_SIGNAL, forking_thread, launch

# Prints the child's parent-death signal (prctl PR_GET_PDEATHSIG), its process group and session, and one variable.
PROBE = (
    "import ctypes, ctypes.util, os\n"
    "libc = ctypes.CDLL(ctypes.util.find_library('c'))\n"
    "sig = ctypes.c_int()\n"
    "libc.prctl(2, ctypes.byref(sig), 0, 0, 0)\n"
    "print(sig.value, os.getpgid(0) == os.getpid(), os.getsid(0) == os.getpid(), os.environ.get('PROBE_VALUE'))\n"
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def _probe(log: io.BytesIO) -> str:
    proc = launch([sys.executable, "-c", PROBE], log, shown=["probe", "***"], env={"PROBE_VALUE": "v1"})
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    proc.stdout.close()
    assert proc.wait() == 0
    return out


def test_a_child_gets_its_own_group_the_death_signal_and_its_logged_command_line() -> None:
    log = io.BytesIO()
    assert _probe(log) == f"{int(DEATH_SIGNAL)} True True v1\n"
    assert log.getvalue() == b"$ probe ***\n"


def test_a_child_started_from_a_short_lived_thread_is_forked_by_the_long_lived_one() -> None:
    """The death signal fires when the forking *thread* ends: a child asked for by a thread that ends at once (as
    the engine supervisor's restarts did) must still be forked by the thread that lives as long as edubot."""
    outputs: list[str] = []
    worker = threading.Thread(target=lambda: outputs.append(_probe(io.BytesIO())))
    worker.start()
    worker.join()
    assert outputs == [f"{int(DEATH_SIGNAL)} True True v1\n"]
    forker = forking_thread()
    assert forker is not None and forker.daemon and forker.is_alive()
    assert forker is not worker and forker is not threading.main_thread()


def test_output_can_go_straight_into_the_log(tmp_path: Path) -> None:
    path = tmp_path / "child.log"
    with path.open("ab") as log:
        proc = launch([sys.executable, "-c", "print('to the log')"], log, output_to_log=True)
        assert proc.stdout is None
        assert proc.wait() == 0
    assert path.read_text() == f"$ {sys.executable} -c \"print('to the log')\"\nto the log\n"


def test_a_missing_program_is_an_os_error_for_the_caller(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-program"
    log = io.BytesIO()
    with pytest.raises(FileNotFoundError):
        launch([str(missing)], log)
    assert log.getvalue() == f"$ {missing}\n".encode()
