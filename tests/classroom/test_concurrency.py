"""Many threads (and a second process) on one store at once: no message lost, no "database is locked", on SQLite and
on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import date

from edubot_cli.classroom.store import Store

STUDENTS = 32
MESSAGES = 20


def _run_all(workers: list[Callable[[], None]]) -> list[BaseException]:
    """Run ``workers`` in threads released at once; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def wrap(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_32_writers_beside_readers_and_the_teacher_lose_nothing(store: Store) -> None:
    klass = store.create_class("7B")
    seats = [store.join(klass.code, f"student {n}")[0] for n in range(STUDENTS)]
    conversations = [store.new_conversation(seat.student.id) for seat in seats]
    done = threading.Event()
    reads = [0]

    def writer(n: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(MESSAGES):
                store.add_message(conversations[n], "user" if i % 2 == 0 else "assistant", f"{n}:{i}")

        return work

    def reader() -> None:
        while not done.is_set():
            store.conversations(class_id=klass.id)
            store.students(klass.id)
            store.class_stats(klass.id, date.today())
            reads[0] += 1

    def teacher() -> None:  # the other writes a class makes while it runs
        for n in range(10):
            store.rotate_code("7B")
            store.join(store.get_class("7B").code, f"late {n}")
            store.create_class(f"other {n}")

    reader_errors: list[BaseException] = []

    def run_reader() -> None:
        try:
            reader()
        except BaseException as exc:
            reader_errors.append(exc)

    reader_threads = [threading.Thread(target=run_reader) for _ in range(4)]
    for thread in reader_threads:
        thread.start()
    errors = _run_all([*(writer(n) for n in range(STUDENTS)), teacher])
    done.set()
    for thread in reader_threads:
        thread.join()
    assert errors == [] and reader_errors == []
    assert reads[0] >= 4
    for n, conversation in enumerate(conversations):
        assert [m.text for m in store.messages(conversation)] == [f"{n}:{i}" for i in range(MESSAGES)]
    assert len(list(store.export("7B"))) == STUDENTS * MESSAGES
    assert len(store.students(klass.id)) == STUDENTS + 10


CHILD = r"""
import sys
from edubot_cli.classroom.store import Store
store = Store.connect(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    message = store.add_message(sys.argv[2], "user", f"child {i}")
    store.flag_message(message, "seen")  # a read, then a write, in one transaction
store.close()
print("done", flush=True)
"""


def test_a_second_process_writing_at_the_same_time(store: Store, db_url: str) -> None:
    """`edubot class ...` beside the server: two processes write the same database at once."""
    klass = store.create_class("7B")
    seat, _ = store.join(klass.code, "Ana")
    conversation = store.new_conversation(seat.student.id)
    count = 150
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, conversation, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline() == "ready\n"
    child.stdin.write("go\n")
    child.stdin.flush()

    def parent(n: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(count // 3):
                message = store.add_message(conversation, "user", f"parent {n}.{i}")
                store.flag_message(message, "seen")

        return work

    errors = _run_all([parent(n) for n in range(3)])
    out, err = child.communicate(timeout=120)
    assert (child.returncode, out, err) == (0, "done\n", "")
    assert errors == []
    texts = [m.text for m in store.messages(conversation)]
    assert len(texts) == 2 * count
    assert [t for t in texts if t.startswith("child")] == [f"child {i}" for i in range(count)]
    assert {tuple(m.flags) for m in store.messages(conversation)} == {("seen",)}
