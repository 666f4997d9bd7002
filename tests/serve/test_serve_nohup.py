"""`nohup edubot serve`: a real subprocess started with SIGHUP ignored keeps serving after a hangup."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from edubot_cli.procgroup import free_port
from tests.support.serve_process import serve_env, start_serve, wait_healthy
from tests.support.stub_engine import StubEngine


def _ignore_hangup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # what nohup does before it runs the command


def test_serve_started_with_hangup_ignored_survives_it_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(tmp_path)
    output = tmp_path / "serve.out"
    url = f"http://127.0.0.1:{port}"
    with StubEngine() as stub, output.open("w") as sink:
        proc = start_serve(
            port,
            "--engine-url",
            stub.url + "/v1",
            cwd=tmp_path,
            env=env,
            sink=sink,
            preexec_fn=_ignore_hangup,
        )
        try:
            wait_healthy(url, proc, timeout=60)
            proc.send_signal(signal.SIGHUP)
            # Answered after the hangup: a pending signal is acted on before the process runs again, so a server
            # that the hangup ended could not answer.
            reply = httpx.post(url + "/chat", json={"message": "hi"}, timeout=30)
            assert reply.json()["response"] == "Hello from the stub."
            assert proc.poll() is None, output.read_text()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = output.read_text()
    assert "Traceback" not in text
    assert text.rstrip().endswith("edubot stopped (terminated); no engine process left running")
