"""``sse``: the events the backend writes, and the one splitter of an engine's stream into its lines."""

from __future__ import annotations

from edubot_cli.server.engine.sse import EventLines, event


def test_event_is_compact_json_with_an_optional_name() -> None:
    assert event({"delta": "é"}) == 'data: {"delta":"é"}\n\n'.encode()
    assert event("[DONE]") == b"data: [DONE]\n\n"
    assert event({"error": {}}, "error") == b'event: error\ndata: {"error":{}}\n\n'


def test_lines_split_across_chunks_come_out_whole_with_their_field() -> None:
    lines = EventLines()
    assert lines.feed(b'data: {"a"') == []
    assert lines.feed(b':1}\r\n\r\n: keep-alive\nevent: x\nid: 3\nerror: {"message":"boom"}\ndata:[DO') == [
        (b"data", b'{"a":1}'),
        (b"error", b'{"message":"boom"}'),
    ]
    assert lines.feed(b"NE]\n") == [(b"data", b"[DONE]")]
    assert lines.feed(b"data: unfinished") == []
