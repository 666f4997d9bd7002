"""Stopping `edubot serve` (a real subprocess) while answers stream: new requests are refused with 503
``stopping``, a running answer that finishes within ``shutdown_grace`` ends as usual, the others end with the
stop's error event, and nothing is cut off or logged as a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx

from edubot_cli.procgroup import free_port
from tests.support.serve_process import serve_env, start_serve, wait_healthy
from tests.support.stub_engine import Step, StubEngine

GRACE = 5  # long enough for the released answer to finish under load; the held ones outlast it
STOP_MESSAGE = "the server is stopping; send the request again in a moment"


def _stream(url: str, path: str, body: dict[str, object]) -> str:
    """The whole body of a streamed answer, as the client got it; on /chat, after its ``started`` event (checked)."""
    with httpx.stream("POST", url + path, json=body, timeout=120) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    if path == "/chat":
        started = json.dumps({"started": {"id": response.headers["x-request-id"]}}, separators=(",", ":"))
        assert text.startswith(f"data: {started}\n\n")
        text = text.removeprefix(f"data: {started}\n\n")
    return text


def _wait_stopping(url: str, proc: subprocess.Popen[str], timeout: float = 60.0) -> httpx.Response:
    """Until the backend refuses requests (its stop has begun): that refusal."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "edubot serve exited before refusing anything"
        reply = httpx.get(url + "/health", timeout=10)
        if reply.status_code == 503:
            return reply
        time.sleep(0.05)
    raise AssertionError("the backend never began to stop")


def test_sigterm_refuses_new_requests_lets_answers_finish_and_ends_the_rest(tmp_path: Path) -> None:
    port = free_port()
    # no system prompt, so no warm-up request: it would take a scripted step
    env = serve_env(tmp_path, EDUBOT_SHUTDOWN_GRACE=str(GRACE), EDUBOT_SYSTEM_PROMPT="")
    output = tmp_path / "serve.out"
    url = f"http://127.0.0.1:{port}"
    held, released = threading.Event(), threading.Event()
    chunks = ["One", " two", " three."]
    with StubEngine() as stub, output.open("w") as sink, ThreadPoolExecutor(4) as pool:
        stub.script(
            Step(chunks=chunks, gate=released, gate_after=1),
            Step(chunks=chunks, gate=held, gate_after=1),
            Step(chunks=chunks, gate=held, gate_after=1),
            Step(chunks=chunks, gate=held, gate_after=1),
        )
        proc = start_serve(port, "--engine-url", stub.url + "/v1", cwd=tmp_path, env=env, sink=sink)
        try:
            wait_healthy(url, proc, timeout=60)
            chat = {"message": "count", "stream": True}
            streams: list[Future[str]] = []
            for _ in range(3):
                streams.append(pool.submit(_stream, url, "/chat", chat))
                assert stub.wait_held(len(streams), timeout=60)  # one at a time: each takes the next step
            openai = {"messages": [{"role": "user", "content": "count"}], "stream": True}
            streams.append(pool.submit(_stream, url, "/v1/chat/completions", openai))
            assert stub.wait_held(4, timeout=60)

            proc.send_signal(signal.SIGTERM)
            refused = _wait_stopping(url, proc)
            assert refused.json() == {"error": {"code": "stopping", "message": STOP_MESSAGE}}
            assert refused.headers["retry-after"] == "5"
            chat_refused = httpx.post(url + "/chat", json={"message": "hi"}, timeout=10)
            assert chat_refused.status_code == 503
            assert chat_refused.json() == {"error": {"code": "stopping", "message": STOP_MESSAGE}}
            released.set()  # the first answer may finish within the grace

            finished, *ended_chats, ended_openai = (f.result(timeout=120) for f in streams)
            assert proc.wait(timeout=60) == 0
        finally:
            held.set()
            released.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert stub.wait_cancelled(3, timeout=10)  # the engine's work on the ended answers was stopped

    events = [e for e in finished.split("\n\n") if e]
    assert [json.loads(e.removeprefix("data: ")).get("delta") for e in events[:3]] == chunks
    assert json.loads(events[-1].removeprefix("data: "))["done"] is True
    stopped_chat = 'event: error\ndata: {"error":{"code":"stopping","message":"' + STOP_MESSAGE + '"}}\n\n'
    for body in ended_chats:
        assert body == 'data: {"delta":"One"}\n\n' + stopped_chat
    stopped_openai = {
        "error": {"message": STOP_MESSAGE, "type": "server_error", "param": None, "code": "stopping"}
    }
    *relayed, last_event, done = [e for e in ended_openai.split("\n\n") if e]
    assert '"content": "One"' in relayed[-1]
    assert json.loads(last_event.removeprefix("data: ")) == stopped_openai
    assert done == "data: [DONE]"
    text = output.read_text()
    assert "Traceback" not in text
    assert "CancelledError" not in text
    assert "timeout graceful shutdown exceeded" not in text
    assert "Stopping: 4 answer(s) running get up to 5 s to finish" in text
    assert "Stopping: ended 3 answer(s) still running after 5 s" in text
    assert text.rstrip().endswith("edubot stopped (terminated); no engine process left running")
