"""Every engine dies with `edubot serve`, the one its supervisor restarted too: a real process tree (a real
`edubot serve` subprocess and a stand-in llama-server), with the backend killed by SIGKILL, so that no cleanup of
its own runs and only the kernel's parent-death signal can stop the engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edubot_cli.procgroup import free_port, group_members
from tests.support.serve_process import EDUBOT, wait_healthy

FAKE_LLAMA_SERVER = """\
import http.server, json, sys

port = int(sys.argv[sys.argv.index("--port") + 1])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        found = {"/health": {"status": "ok"}, "/v1/models": {"object": "list", "data": [{"id": "edubot"}]}}
        body = json.dumps(found.get(self.path, {})).encode()
        self.send_response(200 if self.path in found else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *items):
        pass


print("fake llama-server listening on", port, flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def _poll(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s in vain for: {what}"
        time.sleep(0.1)


def _engine_children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` and whose command is a llama-server (real or stand-in)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"llama-server" in cmdline:
            found.append(int(entry.name))
    return found


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("engine", ["stand-in", pytest.param("real", marks=pytest.mark.engine)])
def test_a_restarted_engine_dies_with_a_killed_backend(tmp_path: Path, engine: str) -> None:
    """`edubot serve --port P --engine-port E`; SIGKILL the engine; wait for the supervisor's restart; SIGKILL
    the backend: the restarted engine goes too, and nothing listens on E. With the stand-in llama-server (a
    second) and with the real one on the embedded model."""
    port, engine_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env |= {"EDUBOT_LOGS_DIR": str(tmp_path / "logs"), "EDUBOT_RATE_LIMIT_PER_MINUTE": "0", "COLUMNS": "200"}
    command = [str(EDUBOT), "serve", "--port", str(port), "--engine-port", str(engine_port)]
    if engine == "stand-in":
        binary = tmp_path / "llama-server"
        binary.write_text(f"#!{sys.executable}\n{FAKE_LLAMA_SERVER}")
        binary.chmod(0o755)
        model = tmp_path / "model.gguf"
        model.write_bytes(b"GGUF" + bytes(60))
        env["EDUBOT_LLAMA_SERVER"] = str(binary)
        command += ["--model", str(model)]
    output = tmp_path / "serve.out"
    with output.open("w") as sink:
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True
        )
    engines: list[int] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        [first] = _engine_children(proc.pid)
        engines.append(first)
        os.kill(first, signal.SIGKILL)
        _poll(
            lambda: "is back after it was killed by SIGKILL" in output.read_text(),
            "the engine was restarted",
            timeout=180,
        )
        [restarted] = _engine_children(proc.pid)
        assert restarted != first
        engines.append(restarted)
        assert _answers(f"http://127.0.0.1:{engine_port}/health")
        proc.kill()
        proc.wait()
        _poll(lambda: group_members(restarted) == [], "the restarted engine died with the backend")
        _poll(
            lambda: not _answers(f"http://127.0.0.1:{engine_port}/health"),
            "nothing listens on the engine port",
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in engines:  # a failed run leaves nothing behind either
            for member in group_members(pid):
                os.kill(member, signal.SIGKILL)
