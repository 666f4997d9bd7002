"""The conversation state and the shared edubot-conversation JSON format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.chat.session import AnswerStats, Conversation, Message, make_title
from edubot_cli.errors import ChatError

STATS = AnswerStats(completion_tokens=4, tokens_per_second=12.5, ttft_seconds=0.25, latency_seconds=0.57)


def sample() -> Conversation:
    conversation = Conversation(system="Be brief.", temperature=0.3, max_tokens=64)
    conversation.add("user", "What is a noun?")
    conversation.add("assistant", "A **naming** word.", stats=STATS)
    conversation.add("user", "And a verb?")
    conversation.add("assistant", "An action", stopped=True)
    return conversation


def test_document_has_every_field_of_the_format() -> None:
    doc = sample().to_json()
    assert list(doc) == [
        "format",
        "version",
        "title",
        "created_at",
        "updated_at",
        "system",
        "settings",
        "messages",
    ]
    assert doc["format"] == "edubot-conversation"
    assert doc["version"] == 1
    assert doc["title"] == "What is a noun?"
    assert doc["system"] == "Be brief."
    assert doc["settings"] == {"temperature": 0.3, "max_tokens": 64}
    assert [(m["role"], m["content"]) for m in doc["messages"]] == [
        ("user", "What is a noun?"),
        ("assistant", "A **naming** word."),
        ("user", "And a verb?"),
        ("assistant", "An action"),
    ]
    assert doc["messages"][1]["stats"] == {
        "completion_tokens": 4,
        "tokens_per_second": 12.5,
        "ttft_seconds": 0.25,
        "latency_seconds": 0.57,
    }
    assert "stats" not in doc["messages"][0]
    assert doc["messages"][3]["stopped"] is True
    assert "stopped" not in doc["messages"][1]
    for stamp in [doc["created_at"], doc["updated_at"], *(m["created_at"] for m in doc["messages"])]:
        assert stamp.endswith("Z") and len(stamp) == len("2026-11-24T07:30:00.000Z")


def test_save_then_load_gives_the_same_document(tmp_path: Path) -> None:
    original = sample()
    path = tmp_path / "lesson.json"
    original.save(path)
    assert json.loads(path.read_text(encoding="utf-8")) == original.to_json()
    assert Conversation.load(path).to_json() == original.to_json()
    assert [p.name for p in tmp_path.iterdir()] == ["lesson.json"]  # no temp file left behind


def test_reads_a_document_written_by_the_web_page() -> None:
    doc = {
        "format": "edubot-conversation",
        "version": 1,
        "title": "Fractions",
        "created_at": "2026-11-24T07:30:00.000Z",
        "updated_at": "2026-11-24T07:31:00.000Z",
        "system": None,
        "settings": {"temperature": 1, "max_tokens": None},
        "messages": [
            {"role": "user", "content": "½ + ¼?", "created_at": "2026-11-24T07:30:05.000Z", "id": "m1"},
            {
                "role": "assistant",
                "content": "¾",
                "created_at": "2026-11-24T07:30:06.000Z",
                "stats": {"completion_tokens": 2, "tokens_per_second": None},
            },
        ],
        "web_only_field": {"pinned": True},
    }
    conversation = Conversation.from_json(doc)
    assert conversation.temperature == 1.0
    assert conversation.max_tokens is None
    assert conversation.system is None
    assert conversation.messages[1].stats == AnswerStats(completion_tokens=2)
    assert conversation.to_json()["messages"][0] == {
        "role": "user",
        "content": "½ + ¼?",
        "created_at": "2026-11-24T07:30:05.000Z",
    }


def _valid() -> dict[str, Any]:
    return sample().to_json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="chat"), "x.json: 'format' must be \"edubot-conversation\""),
        (lambda d: d.pop("title"), "x.json: 'title' must be a string"),
        (lambda d: d.update(system=3), "x.json: 'system' must be a string or null"),
        (lambda d: d.update(settings=[]), "x.json: 'settings' must be an object"),
        (
            lambda d: d["settings"].update(temperature=2.5),
            "x.json: 'settings.temperature' must be a number from 0 to 2 or null",
        ),
        (
            lambda d: d["settings"].update(max_tokens=1.5),
            "x.json: 'settings.max_tokens' must be an integer from 1 to 4096 or null",
        ),
        (lambda d: d.update(messages={}), "x.json: 'messages' must be an array"),
        (lambda d: d["messages"].append("hi"), "x.json: messages[4] must be an object"),
        (
            lambda d: d["messages"][0].update(role="system"),
            'x.json: messages[0].role must be "user" or "assistant"',
        ),
        (lambda d: d["messages"][1].pop("content"), "x.json: messages[1].content must be a string"),
        (
            lambda d: d["messages"][1]["stats"].update(ttft_seconds="fast"),
            "x.json: messages[1].stats.ttft_seconds must be a number or null",
        ),
        (
            lambda d: d["messages"][3].update(stopped="yes"),
            "x.json: messages[3].stopped must be true or false",
        ),
    ],
)
def test_a_malformed_document_is_refused_naming_the_field(change: Any, message: str) -> None:
    doc = _valid()
    change(doc)
    with pytest.raises(ChatError) as caught:
        Conversation.from_json(doc, "x.json")
    assert caught.value.message == message
    assert caught.value.hint == "see docs/conversation-format.md for the edubot-conversation format"


def test_an_unknown_version_is_refused() -> None:
    doc = _valid()
    doc["version"] = 2
    with pytest.raises(ChatError) as caught:
        Conversation.from_json(doc, "x.json")
    assert caught.value.message == "x.json: unsupported version 2 (this edubot reads version 1)"


def test_unreadable_files_are_refused_with_where(tmp_path: Path) -> None:
    with pytest.raises(ChatError) as caught:
        Conversation.load(tmp_path / "missing.json")
    assert caught.value.message == f"cannot read {tmp_path / 'missing.json'}: no such file"

    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "format": "edubot-conversation",\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(ChatError) as caught:
        Conversation.load(broken)
    assert (
        caught.value.message
        == f"{broken}:3:3: invalid JSON: Expecting property name enclosed in double quotes"
    )

    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ChatError) as caught:
        Conversation.load(binary)
    assert caught.value.message == f"cannot read {binary}: not UTF-8 text"

    with pytest.raises(ChatError) as caught:
        Conversation.load(tmp_path)
    assert caught.value.message == f"cannot read {tmp_path}: Is a directory"


def test_save_into_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(ChatError) as caught:
        sample().save(tmp_path / "nope" / "x.json")
    assert caught.value.message == f"cannot write {tmp_path / 'nope' / 'x.json'}: No such file or directory"


def _roles(conversation: Conversation) -> list[str]:
    return [f"{m.role}:{m.content}" for m in conversation.messages]


def test_undo_removes_the_last_exchange_or_an_unanswered_question() -> None:
    conversation = sample()
    assert conversation.undo() == 2
    assert _roles(conversation) == ["user:What is a noun?", "assistant:A **naming** word."]
    conversation.add("user", "pending")
    assert conversation.undo() == 1
    assert conversation.undo() == 2
    assert conversation.undo() == 0


def test_retry_drops_the_answer_and_keeps_the_question() -> None:
    conversation = sample()
    assert conversation.question_to_retry() == "And a verb?"
    assert _roles(conversation)[-1] == "user:And a verb?"
    assert conversation.question_to_retry() == "And a verb?"  # still pending: retried again as is
    assert Conversation().question_to_retry() is None


def test_dropping_the_oldest_turns_keeps_the_pending_question() -> None:
    conversation = Conversation()
    for i in range(1, 4):
        conversation.add("user", f"q{i}")
        conversation.add("assistant", f"a{i}")
    conversation.add("user", "q4")
    assert conversation.drop_oldest_turns() == 4  # two of three earlier turns (half, rounded up)
    assert _roles(conversation) == ["user:q3", "assistant:a3", "user:q4"]
    assert conversation.drop_oldest_turns() == 2
    assert _roles(conversation) == ["user:q4"]
    assert conversation.drop_oldest_turns() == 0
    assert _roles(conversation) == ["user:q4"]


def test_system_prompt_in_api_messages() -> None:
    conversation = Conversation()
    conversation.add("user", "hi")
    assert conversation.api_messages("Default.") == [
        {"role": "system", "content": "Default."},
        {"role": "user", "content": "hi"},
    ]
    assert conversation.api_messages(None) == [{"role": "user", "content": "hi"}]
    conversation.system = "Custom."
    assert conversation.api_messages("Default.")[0] == {"role": "system", "content": "Custom."}


def test_clear_keeps_settings_and_titles_follow_the_first_question() -> None:
    conversation = sample()
    conversation.clear()
    assert conversation.messages == []
    assert (conversation.system, conversation.temperature, conversation.max_tokens) == ("Be brief.", 0.3, 64)
    assert conversation.title == "New conversation"
    conversation.add("user", "  Why   is the\nsky blue? " + "x" * 80)
    assert conversation.title == "Why is the sky blue? " + "x" * 38 + "…"
    assert len(conversation.title) == 60
    assert make_title("   ") == "New conversation"
    assert Message("user", "x").to_json()["created_at"].endswith("Z")
