"""``errorbody``: every error body shape the chat and the backend meet, read one way."""

from __future__ import annotations

import pytest

from edubot_cli.errorbody import error_fields, error_object, message_and_code


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"error": {"message": "too long", "type": "invalid_request_error", "code": 400}}',
            {"message": "too long", "type": "invalid_request_error", "code": 400},
        ),
        (b'{"error": "engine is busy"}', {"message": "engine is busy"}),
        (b'{"detail": "Not Found"}', {"message": "Not Found"}),
        (b'{"detail": [{"loc": ["body"], "msg": "bad"}]}', {"message": '[{"loc": ["body"], "msg": "bad"}]'}),
        (
            b'{"code": 400, "message": "the prompt exceeds the context"}',
            {"code": 400, "message": "the prompt exceeds the context"},
        ),
        (b"<html>Bad Gateway</html>\n", {"message": "<html>Bad Gateway</html>"}),
        (b'{"choices": []}', {"message": '{"choices": []}'}),
        (b"", {"message": ""}),
    ],
)
def test_each_shape_gives_its_error_object(body: bytes, expected: dict[str, object]) -> None:
    assert error_object(body) == expected


def test_a_text_body_is_cut_to_the_limit() -> None:
    assert error_object(b"x" * 50, limit=10) == {"message": "x" * 10}


def test_parsed_json_without_an_error_is_none() -> None:
    assert (error_fields([1]), error_fields({"choices": []}), error_fields({"error": None})) == (
        None,
        None,
        None,
    )


def test_message_and_code_as_text_or_none() -> None:
    assert message_and_code({"message": "too long", "code": 400}) == ("too long", "400")
    assert message_and_code({"message": "", "code": "context_length_exceeded"}) == (
        None,
        "context_length_exceeded",
    )
    assert message_and_code({}) == (None, None)
