"""What the engine says about an error reaches clients sanitised (no paths, URLs, tracebacks), a 4xx the client
caused stays a 4xx, an error the engine reports as the first event of a stream is still an HTTP error, and inside
a stream /v1 ends with an OpenAI error object and ``data: [DONE]`` while /chat ends with ``event: error``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from edubot_cli.server.engine.engine_errors import sanitise
from tests.server.helpers import chat_events, iter_sse_events
from tests.support.canned_engine import CannedEngine
from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING, eventually
from tests.support.stub_engine import Step, StubEngine

MakeBackend = Callable[..., LiveBackend]
V1 = {"messages": [{"role": "user", "content": "hi"}]}
CHAT = {"message": "hi"}
OVERFLOW = "request (6420 tokens) exceeds the available context size (2048 tokens), try increasing it"


@pytest.mark.parametrize(
    ("message", "clean"),
    [
        (OVERFLOW, OVERFLOW),
        (
            "[json.exception.parse_error.101] parse error at line 1, column 69: syntax error while parsing value"
            " - invalid literal; last read: '\"top_p\":N'",
            "[json.exception.parse_error.101] parse error at line 1, column 69: syntax error while parsing value"
            " - invalid literal; last read: '\"top_p\":N'",
        ),
        ("failed at /home/ci/llama.cpp/tools/server/server.cpp:1234", "failed at [path]"),
        ("cannot open '/models/x.gguf': no such file", "cannot open '[path]': no such file"),
        ("loading ~/models/a/x.gguf failed", "loading [path] failed"),
        ("GGML_ASSERT(n < 5) failed in ggml.c:9876", "GGML_ASSERT(n < 5) failed in [source]"),
        ("error in llama-grammar.cpp:12:5: expecting ')'", "error in [source]: expecting ')'"),
        ('File "/usr/lib/python3/site-packages/vllm/x.py", line 12, in f', "[source], in f"),
        ("cannot open C:\\models\\x.gguf now", "cannot open [path] now"),
        ("see https://10.0.0.5:8001/docs?k=1 for help", "see [url] for help"),
        ("segfault at 0x7ffd1234abcd", "segfault at [address]"),
        (
            "Traceback (most recent call last):\n"
            '  File "/srv/app/engine.py", line 3, in <module>\n'
            "    run()\n"
            "ValueError: bad value in /srv/app/conf/x.yaml",
            "ValueError: bad value in [path]",
        ),
        ("first line\n#0 0x0000555 in main () at /src/main.cpp:10\n#1 ...", "first line"),
        ("  spaced \t out  ", "spaced out"),
        ("no route POST /v1/chat/completions", "no route POST [path]"),
        ("and/or 1/2 text/plain", "and/or 1/2 text/plain"),
        ("x" * 1000, "x" * 299 + "…"),
        ("", "no details"),
        ("\n \n", "no details"),
    ],
)
def test_sanitise(message: str, clean: str) -> None:
    assert sanitise(message) == clean


PATHS = "failed to parse grammar at /home/ci/llama.cpp/src/llama-grammar.cpp:321\n#0 0x7f00aa in parse()"
TRACE = 'Traceback (most recent call last):\n  File "/opt/vllm/x.py", line 3, in f\nRuntimeError: CUDA error in /opt/k.cu:7'


@pytest.fixture
def backend(stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    return live_backend({}, [stub_engine.url])


def _post(url: str, body: dict[str, Any], stream: bool) -> tuple[int, dict[str, str], Any]:
    with httpx.stream("POST", url, json={**body, "stream": stream}, timeout=30) as r:
        r.read()
        return r.status_code, dict(r.headers), r.json()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("engine_status", "message", "status", "answer"),
    [
        (
            400,
            PATHS,
            400,
            {
                "message": "failed to parse grammar at [path]",
                "type": "invalid_request_error",
                "param": None,
                "code": 400,
            },
        ),
        (
            404,
            "model x not found",
            404,
            {"message": "model x not found", "type": "invalid_request_error", "param": None, "code": 404},
        ),
        (
            413,
            "too big",
            413,
            {"message": "too big", "type": "invalid_request_error", "param": None, "code": 413},
        ),
        (
            429,
            "slow down",
            429,
            {"message": "slow down", "type": "invalid_request_error", "param": None, "code": 429},
        ),
        (
            401,
            "invalid api key",
            502,
            {"code": "bad_gateway", "message": "engine 1 answered 401: invalid api key"},
        ),
        (
            500,
            TRACE,
            502,
            {"code": "bad_gateway", "message": "engine 1 answered 500: RuntimeError: CUDA error in [path]"},
        ),
        (
            503,
            "loading model",
            503,
            {"code": "engine_unavailable", "message": "engine 1 answered 503: loading model"},
        ),
    ],
)
def test_v1_engine_errors(
    backend: LiveBackend,
    stub_engine: StubEngine,
    stream: bool,
    engine_status: int,
    message: str,
    status: int,
    answer: dict[str, Any],
) -> None:
    stub_engine.script(Step(status=engine_status, error_message=message))
    got_status, headers, body = _post(f"{backend.url}/v1/chat/completions", V1, stream)
    assert (got_status, body) == (status, {"error": answer})
    assert headers.get("retry-after") == ("1" if status == 429 else None)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("engine_status", "message", "status", "answer"),
    [
        (
            400,
            PATHS,
            400,
            {"code": "bad_request", "message": "engine 1 answered 400: failed to parse grammar at [path]"},
        ),
        (400, OVERFLOW, 400, {"code": "bad_request", "message": f"engine 1 answered 400: {OVERFLOW}"}),
        (429, "slow down", 429, {"code": "rate_limited", "message": "engine 1 answered 429: slow down"}),
        (
            401,
            "invalid api key",
            502,
            {"code": "bad_gateway", "message": "engine 1 answered 401: invalid api key"},
        ),
        (404, "no route", 502, {"code": "bad_gateway", "message": "engine 1 answered 404: no route"}),
        (
            500,
            TRACE,
            502,
            {"code": "bad_gateway", "message": "engine 1 answered 500: RuntimeError: CUDA error in [path]"},
        ),
    ],
)
def test_chat_engine_errors(
    backend: LiveBackend,
    stub_engine: StubEngine,
    stream: bool,
    engine_status: int,
    message: str,
    status: int,
    answer: dict[str, Any],
) -> None:
    stub_engine.script(Step(status=engine_status, error_message=message))
    r = httpx.post(f"{backend.url}/chat", json={**CHAT, "stream": stream}, timeout=30)
    if stream:  # the engine had the question, so the stream had started: its error event says what went wrong
        assert (r.status_code, chat_events(r)) == (200, [("error", {"error": answer})])
    else:
        assert (r.status_code, r.json()) == (status, {"error": answer})
        assert r.headers.get("retry-after") == ("1" if status == 429 else None)


# ---- errors inside an engine's 200 stream ------------------------------------------------------------------------
@pytest.fixture
def canned() -> Iterator[tuple[CannedEngine, str]]:
    """An engine answering every POST with 200 and ``answer`` as an event stream, and a backend on it."""
    with CannedEngine(content_type="text/event-stream") as engine, LiveBackend({}, [engine.url]) as live:
        yield engine, live.url


def chunk(content: str) -> bytes:
    return (
        b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]}).encode() + b"\n\n"
    )


# llama.cpp reports an error found after its stream started as an `error:` line (its error object, unwrapped)
LLAMA_OVERFLOW = (
    b'error: {"code":400,"message":"'
    + OVERFLOW.encode()
    + b'","type":"exceed_context_size_error"}\n\ndata: [DONE]\n\n'
)
LLAMA_500 = b'error: {"code":500,"message":"decode failed at /src/llama.cpp:77","type":"server_error"}\n\n'
# vLLM and others: a data event holding an error object
DATA_ERROR = b'data: {"error": {"message": "boom in /opt/vllm/worker.py", "code": 500}}\n\n'


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (LLAMA_OVERFLOW, {"code": "bad_request", "message": f"engine 1 answered 400: {OVERFLOW}"}),
        (LLAMA_500, {"code": "bad_gateway", "message": "engine 1 answered 500: decode failed at [path]"}),
        (DATA_ERROR, {"code": "bad_gateway", "message": "engine 1 answered 500: boom in [path]"}),
        (b"data: not json\n\n", {"code": "bad_gateway", "message": "engine 1 sent a malformed stream event"}),
        (b"", {"code": "bad_gateway", "message": "engine 1 ended the stream before the answer was complete"}),
    ],
)
def test_chat_stream_error_before_any_delta_is_its_error_event(
    canned: tuple[CannedEngine, str], answer: bytes, error: dict[str, str]
) -> None:
    engine, url = canned
    engine.answer = answer
    r = httpx.post(f"{url}/chat", json={**CHAT, "stream": True}, timeout=30)
    assert (r.status_code, r.headers["content-type"]) == (200, "text/event-stream; charset=utf-8")
    assert chat_events(r) == [("error", {"error": error})]


@pytest.mark.parametrize(
    ("tail", "error"),
    [
        (LLAMA_OVERFLOW, {"code": "bad_request", "message": f"engine 1 answered 400: {OVERFLOW}"}),
        (LLAMA_500, {"code": "bad_gateway", "message": "engine 1 answered 500: decode failed at [path]"}),
        (DATA_ERROR, {"code": "bad_gateway", "message": "engine 1 answered 500: boom in [path]"}),
    ],
)
def test_chat_stream_error_after_a_delta_ends_with_an_error_event(
    canned: tuple[CannedEngine, str], tail: bytes, error: dict[str, str]
) -> None:
    engine, url = canned
    engine.answer = chunk("half") + tail
    with httpx.stream("POST", f"{url}/chat", json={**CHAT, "stream": True}, timeout=30) as r:
        assert r.status_code == 200
        events = chat_events(r)
    assert events == [("message", {"delta": "half"}), ("error", {"error": error})]


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (
            LLAMA_OVERFLOW,
            400,
            {"message": OVERFLOW, "type": "exceed_context_size_error", "param": None, "code": 400},
        ),
        (
            LLAMA_500,
            502,
            {"code": "bad_gateway", "message": "engine 1 answered 500: decode failed at [path]"},
        ),
        (DATA_ERROR, 502, {"code": "bad_gateway", "message": "engine 1 answered 500: boom in [path]"}),
    ],
)
def test_v1_stream_error_before_any_event_is_an_http_error(
    canned: tuple[CannedEngine, str], answer: bytes, status: int, error: dict[str, Any]
) -> None:
    engine, url = canned
    engine.answer = answer
    r = httpx.post(f"{url}/v1/chat/completions", json={**V1, "stream": True}, timeout=30)
    assert (r.status_code, r.headers["content-type"], r.json()) == (
        status,
        "application/json",
        {"error": error},
    )


@pytest.mark.parametrize(
    ("tail", "error"),
    [
        (
            LLAMA_OVERFLOW,
            {"message": OVERFLOW, "type": "exceed_context_size_error", "param": None, "code": 400},
        ),
        (
            LLAMA_500,
            {
                "message": "engine 1 answered 500: decode failed at [path]",
                "type": "server_error",
                "param": None,
                "code": "bad_gateway",
            },
        ),
        (
            DATA_ERROR,
            {
                "message": "engine 1 answered 500: boom in [path]",
                "type": "server_error",
                "param": None,
                "code": "bad_gateway",
            },
        ),
    ],
)
def test_v1_stream_error_after_an_event_ends_with_an_openai_error_and_done(
    canned: tuple[CannedEngine, str], tail: bytes, error: dict[str, Any]
) -> None:
    engine, url = canned
    engine.answer = chunk("half") + tail
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={**V1, "stream": True}, timeout=30) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line]
    assert lines == [
        "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": "half"}}]}),
        "data: " + json.dumps({"error": error}, separators=(",", ":")),
        "data: [DONE]",
    ]


def test_v1_empty_engine_stream_stays_an_empty_stream(canned: tuple[CannedEngine, str]) -> None:
    # llama.cpp builds that fail after starting a stream may send nothing at all; `edubot chat` then asks again
    # without streaming to learn why, so the pass-through keeps it.
    engine, url = canned
    engine.answer = b""
    r = httpx.post(f"{url}/v1/chat/completions", json={**V1, "stream": True}, timeout=30)
    assert (r.status_code, r.headers["content-type"], r.content) == (200, "text/event-stream", b"")


# ---- a request that waited in line: its stream has started, so an engine refusal is an error event ----------------
def _hold_the_slot(backend: LiveBackend) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: httpx.post(backend.url + "/chat", json={"message": "first"}, timeout=CEILING),
        daemon=True,
    )
    thread.start()
    assert eventually(lambda: httpx.get(backend.url + "/health", timeout=10).json()["queue"]["active"] == 1)
    return thread


@pytest.mark.timeout(120)
def test_after_waiting_in_line_an_engine_refusal_ends_the_stream(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"max_queue": 4}, [stub_engine.url], capacity=1)
    gate = threading.Event()  # the held slot is given back once the next request is told its place
    hold = Step(chunks=["held"], gate=gate)
    stub_engine.script(hold, Step(status=400, error_message=OVERFLOW))
    holder = _hold_the_slot(backend)
    lines = []
    with httpx.stream(
        "POST", backend.url + "/v1/chat/completions", json={**V1, "stream": True}, timeout=CEILING
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line:
                lines.append(line)
                gate.set()
    holder.join()
    error = {"message": OVERFLOW, "type": "invalid_request_error", "param": None, "code": 400}
    assert lines == [
        ': queued {"ahead": 0}',
        "data: " + json.dumps({"error": error}, separators=(",", ":")),
        "data: [DONE]",
    ]

    gate = threading.Event()
    stub_engine.script(Step(chunks=["held"], gate=gate), Step(status=400, error_message=OVERFLOW))
    holder = _hold_the_slot(backend)
    with httpx.stream("POST", backend.url + "/chat", json={**CHAT, "stream": True}, timeout=CEILING) as r:
        assert r.status_code == 200
        events = []
        for event in iter_sse_events(r):
            events.append(event)
            if "queued" in event[1]:
                gate.set()
    holder.join()
    assert events == [
        ("message", {"started": {"id": r.headers["x-request-id"]}}),
        ("message", {"queued": {"ahead": 0}}),
        ("message", {"stage": "writing"}),  # out of the line, in the engine
        ("error", {"error": {"code": "bad_request", "message": f"engine 1 answered 400: {OVERFLOW}"}}),
    ]
