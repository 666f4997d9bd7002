"""The passage budget (``grounding.budget``): the whole budget while the class is quiet, ``BUSY_TOKENS`` from the
``BUSY_QUESTIONS``-th question within ``BUSY_WINDOW`` seconds on, and the whole one again once they have passed."""

from __future__ import annotations

import threading

from edubot_cli.grounding.budget import BUSY_QUESTIONS, BUSY_TOKENS, BUSY_WINDOW, PassageBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_gets_the_small_budget_after_the_first_questions() -> None:
    clock = Clock()
    budget = PassageBudget(341, clock)
    assert [budget.take() for _ in range(BUSY_QUESTIONS + 2)] == [341] * BUSY_QUESTIONS + [BUSY_TOKENS] * 2


def test_the_budget_comes_back_when_the_class_is_quiet_again() -> None:
    clock = Clock()
    budget = PassageBudget(341, clock)
    for _ in range(BUSY_QUESTIONS):
        budget.take()
    clock.now += BUSY_WINDOW - 0.5
    assert budget.take() == BUSY_TOKENS  # the first four still count
    clock.now += 0.5  # they have left the window: one remains in it
    assert [budget.take() for _ in range(BUSY_QUESTIONS)] == [341] * (BUSY_QUESTIONS - 1) + [BUSY_TOKENS]


def test_questions_spread_out_keep_the_whole_budget() -> None:
    clock = Clock()
    budget = PassageBudget(341, clock)
    found = []
    for _ in range(20):
        found.append(budget.take())
        clock.now += BUSY_WINDOW / (BUSY_QUESTIONS - 1)  # three in any window
    assert found == [341] * 20


def test_a_whole_budget_below_the_busy_one_stays_as_it_is() -> None:
    budget = PassageBudget(50, Clock())
    assert [budget.take() for _ in range(BUSY_QUESTIONS + 1)] == [50] * (BUSY_QUESTIONS + 1)


def test_questions_from_many_threads_are_each_counted_once() -> None:
    budget = PassageBudget(341, Clock())
    found: list[int] = []
    lock = threading.Lock()

    def ask() -> None:
        value = budget.take()
        with lock:
            found.append(value)

    threads = [threading.Thread(target=ask) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found) == [BUSY_TOKENS] * (32 - BUSY_QUESTIONS) + [341] * BUSY_QUESTIONS
