"""The streaming OpenAI-compatible client against the scripted stub engine."""

from __future__ import annotations

import socket
import threading

import pytest

from edubot_cli.chat.client import ChatClient
from edubot_cli.chat.failures import ContextOverflowError
from edubot_cli.chat.stream import parse_queued
from edubot_cli.errors import ChatError
from tests.chat.conftest import sse_transport
from tests.support.stub_engine import Step, StubEngine

MESSAGES = [{"role": "user", "content": "hi there"}]
OVERFLOW = (
    "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens "
    "(1588 in the messages, 512 in the completion). Please reduce the length of the messages or completion."
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_streams_deltas_and_measures_the_answer(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["Two", " plus", " two", " is", " four."]))
    with ChatClient(stub_engine.url, via_backend=False) as client:
        with client.stream_chat(MESSAGES, model="stub-model", temperature=0.2, max_tokens=30) as stream:
            deltas = list(stream)
        assert deltas == ["Two", " plus", " two", " is", " four."]
        assert stream.text == "Two plus two is four."
        assert stream.finished and not stream.stopped
        stats = stream.stats
    assert stats.completion_tokens == 5  # from the stream's usage chunk
    assert stats.ttft_seconds is not None and stats.latency_seconds is not None
    assert 0 <= stats.ttft_seconds <= stats.latency_seconds
    assert stub_engine.requests == [
        {
            "model": "stub-model",
            "messages": MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.2,
            "max_tokens": 30,
        }
    ]


def test_base_url_may_include_v1_and_lists_models(stub_engine: StubEngine) -> None:
    with ChatClient(stub_engine.url + "/v1/", via_backend=False) as client:
        assert client.api_base == stub_engine.url + "/v1"
        assert client.list_models() == ["stub-model"]


def test_api_key_is_sent_as_bearer(stub_engine: StubEngine) -> None:
    import httpx

    seen: list[str | None] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"data": [{"id": "m"}]})

    with ChatClient("http://backend", api_key="s3cret", transport=httpx.MockTransport(record)) as client:
        assert client.list_models() == ["m"]
    assert seen == ["Bearer s3cret"]


def test_closing_mid_answer_cancels_the_upstream_generation(stub_engine: StubEngine) -> None:
    stub_engine.script(
        Step(chunks=[f" w{i}" for i in range(200)], gate=threading.Event(), gate_after=1)
    )  # paused
    with ChatClient(stub_engine.url, via_backend=False) as client:
        with client.stream_chat(MESSAGES, model="stub-model") as stream:
            for delta in stream:
                assert delta == " w0"
                break
        assert stream.stopped and not stream.finished
        assert stub_engine.wait_cancelled(1)
        assert stub_engine.completed == 0
        assert stream.stats.completion_tokens == 1


def test_nothing_answering_names_the_url_and_the_fix() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with ChatClient(url) as client, pytest.raises(ChatError) as caught:
        client.list_models()
    assert caught.value.message == f"nothing answers at {url}"
    assert (
        caught.value.hint
        == "start the backend with `edubot serve` (or chat with the embedded model: `edubot chat --local`)"
    )
    with ChatClient(url, via_backend=False) as client, pytest.raises(ChatError) as caught:
        client.stream_chat(MESSAGES, model="m").__enter__()
    assert (
        caught.value.hint
        == "check --engine-url, start the backend with `edubot serve`, or use `edubot chat --local`"
    )


@pytest.mark.parametrize(
    ("status", "message", "hint"),
    [
        (
            401,
            "{url} refused the request (401): stub failure",
            "pass the server's key with --api-key (or set EDUBOT_API_KEY)",
        ),
        (429, "{url} is rate limiting this client (429): stub failure", "wait a little and try again"),
        (
            503,
            "{url} answered 503: stub failure",
            "check that the engine behind the backend is running (`edubot serve` logs)",
        ),
        (500, "{url} answered 500: stub failure", "check the server's log"),
    ],
)
def test_http_errors_become_one_clear_error(
    stub_engine: StubEngine, status: int, message: str, hint: str
) -> None:
    stub_engine.script(Step(status=status))
    url = f"{stub_engine.url}/v1/chat/completions"
    with (
        ChatClient(stub_engine.url) as client,
        pytest.raises(ChatError) as caught,
        client.stream_chat(MESSAGES, model="stub-model") as stream,
    ):
        list(stream)
    assert type(caught.value) is ChatError
    assert caught.value.message == message.format(url=url)
    assert caught.value.hint == hint


def test_context_overflow_is_recognised(stub_engine: StubEngine) -> None:
    stub_engine.script(
        Step(status=400, error_message=OVERFLOW), Step(status=400, error_message="bad temperature")
    )
    with ChatClient(stub_engine.url) as client:
        with pytest.raises(ContextOverflowError) as caught:
            client.stream_chat(MESSAGES, model="stub-model").__enter__()
        assert caught.value.message == f"the conversation no longer fits the model's context: {OVERFLOW}"
        with pytest.raises(ChatError) as other:
            client.stream_chat(MESSAGES, model="stub-model").__enter__()
        assert type(other.value) is ChatError
        assert other.value.message.endswith("answered 400: bad temperature")


def test_a_connection_dropped_mid_answer_is_an_error(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["a", "b", "c", "d"], fail_after=2))
    received: list[str] = []
    with (
        ChatClient(stub_engine.url) as client,
        pytest.raises(ChatError) as caught,
        client.stream_chat(MESSAGES, model="stub-model") as stream,
    ):
        received.extend(stream)
    assert received == ["a", "b"]
    assert caught.value.message == f"the connection to {stub_engine.url}/v1/chat/completions broke off"


def test_a_server_that_is_not_openai_compatible_is_named() -> None:
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>hello</html>"))
    with ChatClient("http://web", transport=transport) as client, pytest.raises(ChatError) as caught:
        client.list_models()
    assert caught.value.message == "http://web/v1/models did not answer like an OpenAI-compatible server"


def test_an_error_event_inside_the_stream_is_reported() -> None:

    body = (
        'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        'data: {"error":{"code":"engine_error","message":"engine crashed"}}\n\n'
    )
    transport = sse_transport(body)
    received: list[str] = []
    with (
        ChatClient("http://b", transport=transport) as client,
        pytest.raises(ChatError) as caught,
        client.stream_chat(MESSAGES, model="m") as stream,
    ):
        received.extend(stream)
    assert received == ["Hi"]
    assert caught.value.message == "http://b/v1/chat/completions failed mid-answer: engine crashed"


def test_an_empty_stream_is_explained_by_the_same_request_unstreamed() -> None:
    import json

    import httpx

    overflow = {
        "error": {
            "message": "This model's maximum context length is 2048 tokens.",
            "code": "context_length_exceeded",
        }
    }
    bodies: list[dict[str, object]] = []

    def engine(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if body["stream"]:
            return httpx.Response(200, text="", headers={"content-type": "text/event-stream"})
        return httpx.Response(400, json=overflow)

    with (
        ChatClient("http://e", transport=httpx.MockTransport(engine)) as client,
        pytest.raises(ContextOverflowError),
        client.stream_chat(MESSAGES, model="m", max_tokens=99) as stream,
    ):
        list(stream)
    assert bodies[1] == {"model": "m", "messages": MESSAGES, "stream": False, "max_tokens": 1}

    def silent(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["stream"]:
            return httpx.Response(200, text="", headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json={"choices": [{"message": {"content": "x"}}]})

    with (
        ChatClient("http://e", transport=httpx.MockTransport(silent)) as client,
        pytest.raises(ChatError) as caught,
        client.stream_chat(MESSAGES, model="m") as stream,
    ):
        list(stream)
    assert caught.value.message == "http://e/v1/chat/completions closed the stream without an answer"


def test_finish_reason_tells_an_answer_cut_by_max_tokens() -> None:

    body = (
        'data: {"choices":[{"delta":{"content":"Once upon"},"finish_reason":null}]}\n\n'
        'data: {"choices":[{"delta":{},"finish_reason":"length"}]}\n\n'
        "data: [DONE]\n\n"
    )
    transport = sse_transport(body)
    with (
        ChatClient("http://e", transport=transport) as client,
        client.stream_chat(MESSAGES, model="m") as stream,
    ):
        assert list(stream) == ["Once upon"]
    assert (stream.finish_reason, stream.finished) == ("length", True)
    assert stream.stats.completion_tokens == 1  # no usage sent: the number of content chunks


def test_finish_reason_stop_from_the_stub(stub_engine: StubEngine) -> None:
    with ChatClient(stub_engine.url) as client, client.stream_chat(MESSAGES, model="stub-model") as stream:
        list(stream)
    assert stream.finish_reason == "stop"


@pytest.mark.parametrize(
    ("line", "ahead"),
    [
        (': queued {"ahead": 3}', 3),
        (': queued {"ahead": 0}', 0),
        (':queued {"ahead":12,"more":"ignored"}', 12),
        (': queued  {"ahead": 1} ', 1),
        (': queued {"ahead": -1}', None),
        (': queued {"ahead": true}', None),
        (': queued {"ahead": "2"}', None),
        (': queued {"ahead": 2.0}', None),
        (': queued {"behind": 2}', None),
        (": queued [1]", None),
        (": queued {ahead: 1}", None),
        (": queued", None),
        (': queuedx {"ahead": 1}', None),
        (": keep-alive", None),
        (":", None),
        ('data: {"ahead": 1}', None),
        ('queued {"ahead": 1}', None),
        ("", None),
    ],
)
def test_queued_comments_are_parsed(line: str, ahead: int | None) -> None:
    assert parse_queued(line) == ahead


def test_queued_comments_reach_the_callback_and_never_the_answer() -> None:
    body = (
        ': queued {"ahead": 2}\n\n'
        ": keep-alive\n\n"
        ': queued {"ahead": 1}\n\n'
        ": queued {broken\n\n"
        ': queued {"ahead": 0}\n\n'
        'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        "data: [DONE]\n\n"
    )
    places: list[int] = []
    with (
        ChatClient("http://b", transport=sse_transport(body)) as client,
        client.stream_chat(MESSAGES, model="m", on_queued=places.append) as stream,
    ):
        assert list(stream) == ["Hi"]
    assert places == [2, 1, 0]
    assert (stream.text, stream.queued, stream.finished) == ("Hi", 0, True)
    assert stream.stats.completion_tokens == 1


def test_queued_comments_without_a_callback_are_skipped() -> None:
    body = ': queued {"ahead": 4}\n\ndata: {"choices":[{"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\n'
    with (
        ChatClient("http://b", transport=sse_transport(body)) as client,
        client.stream_chat(MESSAGES, model="m") as stream,
    ):
        assert list(stream) == ["ok"]
    assert stream.queued == 4


def test_an_error_after_waiting_in_line_says_the_answer_had_not_begun() -> None:
    body = (
        ': queued {"ahead": 0}\n\n'
        "event: error\n"
        'data: {"error":{"code":"engine_unavailable","message":"no engine slot became free within 300 s"}}\n\n'
    )
    with (
        ChatClient("http://b", transport=sse_transport(body)) as client,
        pytest.raises(ChatError) as caught,
        client.stream_chat(MESSAGES, model="m") as stream,
    ):
        list(stream)
    assert caught.value.message == (
        "http://b/v1/chat/completions failed before the answer began: no engine slot became free within 300 s"
    )
    assert caught.value.hint == "/retry"


BUSY = "the engine is busy: 16 requests in progress and 64 waiting (max_queue); try again shortly"
RESTARTING = "the engine is restarting after it was killed by SIGKILL; try again in a few seconds"
GAVE_UP = "the engine stopped after it was killed by SIGKILL and edubot gave up restarting it"
ENGINE_HINT = "check that the engine behind the backend is running (`edubot serve` logs)"


@pytest.mark.parametrize(
    ("message", "retry_after", "hint"),
    [
        (BUSY, "2", "wait 2 s and try again"),
        (RESTARTING, "5", "wait 5 s and try again"),
        (RESTARTING, None, "wait a few seconds and try again"),
        (GAVE_UP, None, ENGINE_HINT),
        (
            "engine-0 cannot be reached; is it running?",
            "5",
            f"wait 5 s and try again; if it keeps failing, {ENGINE_HINT}",
        ),
        ("engine is loading", None, ENGINE_HINT),
        (BUSY, "Wed, 21 Oct 2015 07:28:00 GMT", "wait a few seconds and try again"),  # not seconds: not shown
    ],
)
def test_503_says_what_the_server_said_and_when_to_try_again(
    message: str, retry_after: str | None, hint: str
) -> None:
    import httpx

    headers = {"Retry-After": retry_after} if retry_after else {}
    error = {"error": {"code": "engine_unavailable", "message": message}}
    transport = httpx.MockTransport(lambda request: httpx.Response(503, json=error, headers=headers))
    with ChatClient("http://b", transport=transport) as client:
        with pytest.raises(ChatError) as streamed:
            client.stream_chat(MESSAGES, model="m").__enter__()
        with pytest.raises(ChatError) as listed:
            client.list_models()
    assert streamed.value.message == f"http://b/v1/chat/completions answered 503: {message}"
    assert listed.value.message == f"http://b/v1/models answered 503: {message}"
    assert streamed.value.hint == listed.value.hint == hint


def test_429_uses_retry_after_seconds_only() -> None:
    import httpx

    for retry_after, hint in [("7", "wait 7 s and try again"), ("soon", "wait a little and try again")]:
        transport = httpx.MockTransport(
            lambda request, value=retry_after: httpx.Response(
                429, json={"error": {"message": "slow down"}}, headers={"Retry-After": value}
            )
        )
        with ChatClient("http://b", transport=transport) as client, pytest.raises(ChatError) as caught:
            client.list_models()
        assert (caught.value.message, caught.value.hint) == (
            "http://b/v1/models is rate limiting this client (429): slow down",
            hint,
        )


def test_llama_servers_newer_context_overflow_wording_is_recognised() -> None:
    import httpx

    message = "request (3031 tokens) exceeds the available context size (2048 tokens), try increasing it"
    error = {"error": {"code": 400, "message": message, "type": "exceed_context_size_error"}}
    transport = httpx.MockTransport(lambda request: httpx.Response(400, json=error))
    with ChatClient("http://e", transport=transport) as client, pytest.raises(ContextOverflowError) as caught:
        client.stream_chat(MESSAGES, model="m").__enter__()
    assert caught.value.message == f"the conversation no longer fits the model's context: {message}"
