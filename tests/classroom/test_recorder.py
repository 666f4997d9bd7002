"""The recorder (``classroom.recorder``): ``record`` returns at once, one thread writes; ``flush`` waits for what
is pending; a write that fails is tried again, then given up with a log line; the teacher's feed hears of each
exchange once it is stored."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edubot_cli.classroom import recorder as recorder_module
from edubot_cli.classroom.recorder import Exchange, Recorder, Stored, write_exchanges
from edubot_cli.classroom.store import Store, new_conversation_id
from edubot_cli.errors import ClassroomError
from tests.support.poll import CEILING, eventually

ASKED = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ANSWERED = datetime(2026, 3, 2, 8, 30, 2, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.connect(f"sqlite:///{tmp_path / 'edubot.sqlite3'}")
    yield opened
    opened.close()


def exchange(store: Store, **fields: Any) -> Exchange:
    klass = store.create_class(f"class {len(store.classes())}")
    seat, _ = store.join(klass.code, "Ana")
    values: dict[str, Any] = {
        "conversation_id": store.new_conversation(seat.student.id),
        "class_id": klass.id,
        "student_id": seat.student.id,
        "nickname": "Ana",
        "question": "What is a cell?",
        "asked": ASKED,
        "answer": "The unit of life [1].",
        "finish_reason": "stop",
        "sources": [{"n": 1, "title": "Cells"}],
        "mode": "answer",
        "grounded": True,
        "prompt_tokens": 40,
        "completion_tokens": 7,
        "first_token_s": 0.25,
        "latency_s": 1.5,
        "flags": ("refused",),
        "answered": ANSWERED,
    }
    return Exchange(**(values | fields))


class Gated:
    """A store whose writes wait for ``gate`` (and fail ``failures`` times first, or every write of more than one
    exchange with ``fail_batches``); ``calls`` holds the number of messages of each write tried."""

    def __init__(self, store: Store, failures: int = 0, fail_batches: bool = False) -> None:
        self.store = store
        self.gate = threading.Event()
        self.failures = failures
        self.fail_batches = fail_batches
        self.calls: list[int] = []

    def add_messages(self, owners: Any, rows: Any) -> list[int]:
        self.calls.append(len(rows))
        assert self.gate.wait(CEILING)
        if self.failures:
            self.failures -= 1
            raise OSError("disk I/O error")
        if self.fail_batches and len(rows) > 2:
            raise OSError("database is locked")
        return self.store.add_messages(owners, rows)


def test_an_exchange_is_written_as_a_question_and_its_answer(store: Store) -> None:
    heard: list[Stored] = []
    recorder = Recorder(store, on_stored=heard.append)
    x = exchange(store)
    recorder.record(x)
    assert recorder.flush(CEILING)
    asked, answered = store.messages(x.conversation_id)
    assert (asked.role, asked.text, asked.created, asked.mode, asked.sources, asked.finish_reason) == (
        "user",
        "What is a cell?",
        ASKED,
        "answer",
        [],
        None,
    )
    assert answered.role == "assistant"
    assert (answered.text, answered.sources, answered.mode, answered.grounded) == (
        "The unit of life [1].",
        [{"n": 1, "title": "Cells"}],
        "answer",
        True,
    )
    assert (
        answered.prompt_tokens,
        answered.completion_tokens,
        answered.first_token_s,
        answered.latency_s,
    ) == (
        40,
        7,
        0.25,
        1.5,
    )
    assert (answered.finish_reason, answered.flags, answered.created) == ("stop", ["refused"], ANSWERED)
    assert heard == [Stored(x, asked.id, answered.id)]
    assert (recorder.written, recorder.lost, recorder.pending) == (1, 0, 0)
    assert recorder.close(CEILING)


def test_record_returns_at_once_and_flush_waits_for_the_writes(store: Store) -> None:
    gated = Gated(store)
    recorder = Recorder(gated)  # type: ignore[arg-type]
    x = exchange(store)
    recorder.record(x)  # the store is stuck: record does not wait for it
    recorder.record(x)
    assert recorder.pending == 2
    assert recorder.flush(0) is False
    gated.gate.set()
    assert recorder.flush(CEILING)
    assert [m.role for m in store.messages(x.conversation_id)] == ["user", "assistant"] * 2
    assert recorder.close(CEILING)


def test_a_failed_write_is_tried_again(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "RETRY_DELAY", 0.0)
    gated = Gated(store, failures=2)
    gated.gate.set()
    recorder = Recorder(gated)  # type: ignore[arg-type]
    x = exchange(store)
    recorder.record(x)
    assert recorder.flush(CEILING)
    assert len(store.messages(x.conversation_id)) == 2
    assert (gated.calls, recorder.written, recorder.lost) == (
        [2, 2, 2],
        1,
        0,
    )  # two failed tries, then stored


def test_a_write_that_keeps_failing_is_logged_and_counted(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(recorder_module, "RETRY_DELAY", 0.0)
    gated = Gated(store, failures=3)
    gated.gate.set()
    heard: list[Stored] = []
    recorder = Recorder(gated, on_stored=heard.append)  # type: ignore[arg-type]
    x = exchange(store)
    with caplog.at_level(logging.ERROR, logger="edubot.server.classroom"):
        recorder.record(x)
        assert recorder.flush(CEILING)
        recorder.record(x)  # the next one is written: the record goes on
        assert recorder.flush(CEILING)
    assert (recorder.written, recorder.lost, len(heard)) == (1, 1, 1)
    assert [r.getMessage() for r in caplog.records] == [
        f"classroom: could not store a message of conversation {x.conversation_id} after 3 tries: disk I/O error"
    ]


def test_a_failing_listener_does_not_stop_the_record(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_: Stored) -> None:
        raise RuntimeError("listener bug")

    recorder = Recorder(store, on_stored=broken)
    x = exchange(store)
    with caplog.at_level(logging.ERROR, logger="edubot.server.classroom"):
        recorder.record(x)
        recorder.record(x)
        assert recorder.flush(CEILING)
    assert len(store.messages(x.conversation_id)) == 4
    assert [r.getMessage() for r in caplog.records] == [
        "classroom: a listener failed on a stored message"
    ] * 2


def test_close_writes_what_is_pending_first(store: Store) -> None:
    gated = Gated(store)
    recorder = Recorder(gated)  # type: ignore[arg-type]
    x = exchange(store)
    recorder.record(x)
    threading.Timer(0, gated.gate.set).start()  # the store comes back while close waits
    assert recorder.close(CEILING)
    assert len(store.messages(x.conversation_id)) == 2


def test_exchanges_that_wait_together_are_written_in_one_statement(store: Store) -> None:
    gated = Gated(store)
    recorder = Recorder(gated)  # type: ignore[arg-type]
    x = exchange(store)
    recorder.record(x)
    assert eventually(lambda: gated.calls == [2])  # the writer holds the first, stuck on the gate
    recorder.record(x)
    recorder.record(x)
    gated.gate.set()
    assert recorder.flush(CEILING)
    assert [m.role for m in store.messages(x.conversation_id)] == ["user", "assistant"] * 3
    assert (gated.calls, recorder.written, recorder.lost) == ([2, 4], 3, 0)
    assert recorder.close(CEILING)


def test_a_batch_that_fails_is_written_one_by_one(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "RETRY_DELAY", 0.0)
    gated = Gated(store, fail_batches=True)
    heard: list[Stored] = []
    recorder = Recorder(gated, on_stored=heard.append)  # type: ignore[arg-type]
    x = exchange(store)
    recorder.record(x)
    assert eventually(lambda: gated.calls == [2])
    recorder.record(x)
    recorder.record(x)
    gated.gate.set()
    assert recorder.flush(CEILING)
    assert gated.calls == [2, 4, 2, 2]  # the batch of two failed whole, then each on its own
    assert [m.role for m in store.messages(x.conversation_id)] == ["user", "assistant"] * 3
    assert (recorder.written, recorder.lost, len(heard)) == (3, 0, 3)
    assert recorder.close(CEILING)


def test_a_batch_of_several_conversations_makes_each_once(store: Store) -> None:
    klass = store.create_class("batch")
    seats = [store.join(klass.code, name)[0] for name in ("ana", "ben")]
    fresh = [new_conversation_id(), new_conversation_id()]
    exchanges = [
        exchange(store, conversation_id=fresh[i % 2], student_id=seats[i % 2].student.id, question=f"q{i}")
        for i in range(4)
    ]
    stored = write_exchanges(store, exchanges)
    assert [(s.question_id, s.answer_id) for s in stored] == [(1, 2), (3, 4), (5, 6), (7, 8)]
    for i, seat in enumerate(seats):
        assert [c.id for c in store.conversations(student_id=seat.student.id)] == [fresh[i]]
        assert [m.text for m in store.messages(fresh[i]) if m.role == "user"] == [f"q{i}", f"q{i + 2}"]


def test_a_batch_with_another_students_conversation_stores_nothing(store: Store) -> None:
    x = exchange(store)
    klass = store.create_class("other")
    intruder = store.join(klass.code, "eve")[0]
    before = len(store.messages(x.conversation_id))
    with pytest.raises(ClassroomError, match="is another student's"):
        write_exchanges(store, [exchange(store), replace(x, student_id=intruder.student.id)])
    assert len(store.messages(x.conversation_id)) == before


def test_a_batch_for_a_student_purged_meanwhile_stores_nothing(store: Store) -> None:
    x = exchange(store)
    name = store.classes()[0].name
    store.purge(
        name, student="Ana"
    )  # the student and their conversations are gone before the answer is written
    with pytest.raises(ClassroomError, match="no longer in the record"):
        write_exchanges(store, [replace(x, conversation_id=new_conversation_id())])
    assert store.conversations(student_id=x.student_id) == []
