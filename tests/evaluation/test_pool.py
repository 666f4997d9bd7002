"""`pool.run_jobs`: results by job index whatever order they finish in, at most N at once, an error stopping the
run, and Ctrl-C (a KeyboardInterrupt in the calling thread) keeping what was finished and closing what is open."""

from __future__ import annotations

import threading

import pytest

from edubot_cli.evaluation.pool import Stop, run_jobs

CEILING = 30.0
"""Seconds a test waits for a condition before it gives up (never reached when the code is right)."""


def test_results_come_back_by_index_whatever_order_they_finish_in() -> None:
    last_may_finish = threading.Event()

    def work(job: int, stop: Stop) -> int:
        if job == 0:  # the first job finishes last
            assert last_may_finish.wait(CEILING)
        return job * 10

    seen: list[int] = []

    def done(index: int, result: int) -> None:
        seen.append(index)
        if len(seen) == 3:
            last_may_finish.set()

    finished = run_jobs([0, 1, 2, 3], work, concurrency=2, on_done=done)
    assert finished.results == {0: 0, 1: 10, 2: 20, 3: 30}
    assert not finished.interrupted
    assert seen[-1] == 0 and sorted(seen) == [0, 1, 2, 3]


def test_no_more_than_n_at_once_and_n_reached() -> None:
    lock = threading.Lock()
    running = [0]
    most = [0]
    all_in = threading.Event()

    def work(job: int, stop: Stop) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            if running[0] == 3:
                all_in.set()
        all_in.wait(CEILING)  # the first three wait for each other: 3 at once is reached
        with lock:
            running[0] -= 1
        return job

    finished = run_jobs(list(range(7)), work, concurrency=3)
    assert sorted(finished.results) == list(range(7))
    assert most[0] == 3


def test_an_error_stops_the_run_and_is_raised() -> None:
    def work(job: int, stop: Stop) -> int:
        if job == 1:
            raise ValueError("job 1 failed")
        return job

    with pytest.raises(ValueError, match="job 1 failed"):
        run_jobs([0, 1, 2], work, concurrency=1)


class Stream:
    def __init__(self) -> None:
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()


def test_ctrl_c_keeps_what_was_finished_and_closes_what_is_open() -> None:
    streams: dict[int, Stream] = {}
    opened = threading.Event()
    started: list[int] = []

    def work(job: int, stop: Stop) -> int:
        started.append(job)
        if job == 0:
            return 0
        stream = streams.setdefault(job, Stream())
        with stop.closing(stream):
            opened.set()
            assert stream.closed.wait(CEILING)  # an open answer, ended only by Ctrl-C
        return job

    def done(index: int, result: int) -> None:
        assert opened.wait(CEILING)
        raise KeyboardInterrupt  # Ctrl-C as the first answer comes in

    finished = run_jobs([0, 1, 2, 3], work, concurrency=2, on_done=done)
    assert finished.interrupted
    assert finished.results == {0: 0}
    assert streams[1].closed.is_set()
    assert 3 not in started  # nothing new starts once stopped (2 may have started before the stop)


def test_a_stream_registered_after_the_stop_is_closed_at_once() -> None:
    stop = Stop()
    stop.set()
    stream = Stream()
    with stop.closing(stream):
        assert stream.closed.is_set()
