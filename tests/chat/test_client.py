"""The streaming OpenAI-compatible client against the scripted stub engine."""

from __future__ import annotations

import socket

import pytest

from edubot_cli.chat.client import ChatClient, ContextOverflowError
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
    stub_engine.script(Step(chunks=[f" w{i}" for i in range(200)], delay=0.05))
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
