"""`edubot serve` as a user runs it: a real subprocess with the real engine, stopped by a signal."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from edubot_cli.procgroup import free_port, group_members
from tests.support.poll import ENGINE_CEILING
from tests.support.serve_process import serve_env, start_serve, wait_healthy

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1800)]


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except FileNotFoundError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


# SIGHUP takes the same path as SIGTERM; it is covered in-process (test_serving.py) to save an engine start.
@pytest.mark.parametrize(("sig", "reason"), [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted")])
def test_serve_answers_and_stops_without_leftovers(tmp_path: Path, sig: signal.Signals, reason: str) -> None:
    port = free_port()
    output = tmp_path / "serve.out"
    with output.open("w") as sink:
        # a short answer: the server's max_tokens, since a request's own is not used by default (client_sampling)
        proc = start_serve(port, cwd=tmp_path, env=serve_env(tmp_path, EDUBOT_MAX_TOKENS="16"), sink=sink)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        engines = children(proc.pid)
        assert len(engines) == 1
        cmdline = Path(f"/proc/{engines[0]}/cmdline").read_bytes().split(b"\0")
        assert Path(cmdline[0].decode()).name == "llama-server"
        reply = httpx.post(
            url + "/chat",
            json={"message": "What is photosynthesis?", "max_tokens": 4096, "temperature": 2},
            timeout=ENGINE_CEILING,
        )
        assert reply.status_code == 200 and reply.json()["response"].strip()
        # the server's values, not the request's
        assert reply.json()["sampling"] == {"temperature": 0.7, "max_tokens": 16}
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = output.read_text()
    assert "engine llama-cpp: " in text
    assert f"engine log: {tmp_path / 'logs'}" in text
    assert f"edubot is serving at {url}" in text
    assert "Traceback" not in text
    assert text.rstrip().endswith(f"edubot stopped ({reason}); no engine process left running")
    assert group_members(engines[0]) == []
    assert children(proc.pid) == []
    logs = list((tmp_path / "logs").glob("engine-llama-cpp-*.log"))
    assert len(logs) == 1
