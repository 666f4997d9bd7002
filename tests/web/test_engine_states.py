"""The page while its question waits for an engine slot or the engine restarts: the words for what is happening
("Writing…"), the place in the backend's line, the health indicator's busy and restarting states, and answers a
restart cut short.

Slots are held by questions sent straight to the backend and never read (``hold``): each keeps its slot, or its
place in line, until the test closes its connection, so nothing depends on how long anything takes.
"""

from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.fake_watch import FakeWatch
from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING
from tests.support.stub_engine import Step, StubEngine

from .conftest import (
    STATS,
    OpenPage,
    health_checks,
    health_is,
    pause_clock,
    run_clock_until,
    send,
    wait_answer,
    wait_backend_health,
)

pytestmark = pytest.mark.browser

HOLD = Step(chunks=["held"], first_byte_delay=60)  # the engine's answer to a held question: never in time
SAID = "the engine is restarting after it was killed by SIGKILL; try again in a few seconds"  # by the backend
RESTARTING = "The engine is restarting after it was killed by SIGKILL; try again in a few seconds."  # shown
STORE = "localStorage.getItem('edubot.conversations')"


def hold(base: str) -> http.client.HTTPConnection:
    """A question sent to the backend whose answer is never read; closing the connection gives up its place."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=CEILING)
    body = json.dumps({"message": "hold the slot"})
    conn.request("POST", "/chat", body=body, headers={"Content-Type": "application/json"})
    return conn


def test_words_say_the_engine_is_writing_until_the_first_token(open_page: OpenPage, backend, engine) -> None:
    answer_now = threading.Event()  # the engine thinks until the test has looked, then 1.5 s more
    engine.script(Step(chunks=["Roots ", "drink."], first_byte_delay=1.5, gate=answer_now))
    page = open_page(backend.url).page
    send(page, "What do roots do?")
    typing = page.locator(".msg.assistant.streaming .body .typing")
    expect(typing.locator(".status")).to_have_text("Writing…")  # the question is in the engine
    assert typing.get_attribute("aria-live") == "polite"
    assert typing.locator(".elapsed").get_attribute("aria-hidden") == "true"  # the seconds are not announced
    assert page.get_attribute("#messages", "aria-busy") == "false"  # not busy yet: the status is announced
    assert page.is_visible("#stop")
    assert page.locator(".msg.assistant .copy-msg").count() == 0  # no Copy before there is text

    answer_now.set()
    answer = wait_answer(page, 1)
    assert answer.locator(".body").inner_text() == "Roots drink."
    assert page.locator(".typing").count() == 0
    stats = STATS.match(answer.locator(".meta").inner_text())
    assert stats is not None
    assert float(stats.group(3)) >= 1.45  # the first token came after the engine's wait
    assert "Writing" not in page.evaluate(STORE)


def test_a_queued_question_shows_its_place_then_its_answer(open_page: OpenPage, engine: StubEngine) -> None:
    turn = threading.Event()  # the page's question, once in the engine, is answered when the test has looked
    engine.script(HOLD, HOLD, Step(chunks=["Your ", "turn."], gate=turn))
    held = engine.held
    cancelled = engine.cancelled
    with LiveBackend({"max_queue": 4}, [engine.url], capacity=1) as live:
        page = open_page(live.url).page
        health = page.locator("#health")
        expect(health).to_have_attribute("data-state", "ok")
        first = hold(live.url)
        assert engine.wait_requests(1)  # in the one slot
        second = hold(live.url)
        wait_backend_health(page, engine="busy", waiting=1)  # in line

        send(page, "Is it my turn?")
        typing = page.locator(".msg.assistant.streaming .typing")
        expect(typing.locator(".status")).to_have_text("Waiting, 1 ahead")
        assert typing.get_attribute("aria-live") == "polite"
        # Told it is queued, the page asks /health at once: the indicator says how busy the engine is.
        expect(health).to_have_attribute("data-state", "busy")
        expect(page.locator("#health-text")).to_have_text("Busy: 2 waiting")

        first.close()
        assert engine.wait_cancelled(cancelled + 1)
        assert engine.wait_requests(2)  # the second question has the slot
        expect(typing.locator(".status")).to_have_text("Waiting for a free slot")
        expect(page.locator("#health-text")).to_have_text("Busy: 1 waiting")
        assert len(engine.requests) == 2  # the page's question waits in the backend, not in the engine

        second.close()
        assert engine.wait_held(held + 1)  # out of the line, in the engine
        expect(typing.locator(".status")).to_have_text("Writing…")
        turn.set()
        answer = wait_answer(page, 1)
        assert answer.locator(".body").inner_text() == "Your turn."
        assert page.locator(".typing").count() == 0
        assert [m["content"] for m in engine.requests[2]["messages"] if m["role"] == "user"] == [
            "Is it my turn?"
        ]
        stored = page.evaluate(STORE)
        assert "Waiting" not in stored and "Writing" not in stored and "Your turn." in stored
        # Not ok is checked again every 2 s: the indicator comes back by itself.
        expect(health).to_have_attribute("data-state", "ok")
        expect(page.locator("#health-text")).to_have_text("Connected")

        page.select_option("#lang", "es")  # the place in line in Spanish too
        engine.script(HOLD, Step(chunks=["Tu turno."]))
        third = hold(live.url)
        assert engine.wait_requests(4)
        send(page, "¿Me toca?")
        expect(page.locator(".msg.assistant.streaming .typing .status")).to_have_text(
            "Esperando un hueco libre"
        )
        expect(page.locator("#health-text")).to_have_text("Ocupado: 1 en espera")
        third.close()
        assert wait_answer(page, 2).locator(".body").inner_text() == "Tu turno."


def test_health_shows_a_restart_and_recovers_without_a_reload(
    open_page: OpenPage, engine: StubEngine
) -> None:
    watch = FakeWatch()
    with LiveBackend({}, [engine.url], watch=watch) as live:
        page = open_page(live.url, fake_clock=True).page
        page.evaluate("window.sameDocument = true")
        health = page.locator("#health")
        text = page.locator("#health-text")
        expect(health).to_have_attribute("data-state", "ok")
        expect(text).to_have_text("Connected")
        pause_clock(page)  # the page's checks run only when the test moves its clock
        before = health_checks(page)

        watch.killed()
        run_clock_until(page, health_is("restarting"))
        checks = health_checks(page)
        assert (
            len(checks) == len(before) + 1
        )  # one check, asked 30 s after the last: every 30 s while all is well
        assert checks[-1] - before[-1] >= 30_000
        expect(text).to_have_text("Engine restarting…")
        assert health.get_attribute("title") == (
            "The model engine stopped and is being restarted; it comes back by itself."
        )
        assert (
            page.evaluate("getComputedStyle(document.querySelector('#health .dot')).backgroundColor")
            == "rgb(217, 119, 6)"
        )  # amber

        run_clock_until(page, f"window.__healthChecks.asked.length === {len(checks) + 1}")
        again = health_checks(page)
        assert again[-1] - checks[-1] == 2_000  # checked every 2 s while it restarts
        expect(health).to_have_attribute("data-state", "restarting")  # still restarting
        expect(text).to_have_text("Engine restarting…")

        watch.back()
        run_clock_until(page, health_is("ok"))
        back = health_checks(page)
        assert (len(back), back[-1] - again[-1]) == (len(again) + 1, 2_000)  # the next check saw it back
        expect(text).to_have_text("Connected")
        assert page.evaluate("window.sameDocument") is True  # no reload


def test_a_restart_mid_answer_is_said_in_the_answer_with_a_retry(
    open_page: OpenPage, engine: StubEngine
) -> None:
    going_on = threading.Event()  # after its first word the engine waits until the test has killed it
    engine.script(
        Step(chunks=["Cells ", "divide ", "never shown"], fail_after=2, gate=going_on, gate_after=1),
        Step(chunks=["Cells divide in two."]),
    )
    watch = FakeWatch()
    with LiveBackend({}, [engine.url], watch=watch) as live:
        s = open_page(live.url, expect_statuses=(503,))
        page = s.page
        health = page.locator("#health")
        expect(health).to_have_attribute("data-state", "ok")
        send(page, "How do cells divide?")
        page.wait_for_function(
            "() => document.querySelector('.streaming .body')?.textContent.includes('Cells')"
        )
        watch.killed()  # the engine dies before its next token; the backend ends the stream with the reason
        going_on.set()  # one more word, then the connection drops

        answer = wait_answer(page, 1)
        assert answer.locator(".body").inner_text() == "Cells divide"  # the part received stays
        expect(answer.locator(".failure")).to_have_text(RESTARTING)
        assert answer.locator(".failure").get_attribute("role") == "alert"
        assert answer.locator(".meta .stats").count() == 0
        assert page.is_hidden("#notice")  # said where the answer is, not as a generic failure
        expect(health).to_have_attribute("data-state", "restarting")  # checked at once
        assert "restarting" not in page.evaluate(STORE)

        # Tried again at once: the backend answers 503 + Retry-After without asking the engine.
        with page.expect_response(lambda r: r.url.endswith("/chat")) as info:
            answer.locator(".regenerate").click()
        assert info.value.status == 503
        assert info.value.headers["retry-after"] == "5"
        assert info.value.json() == {"error": {"code": "engine_unavailable", "message": SAID}}
        failed = page.locator(".msg.assistant.failed")
        expect(failed.locator(".failure")).to_have_text(RESTARTING)
        assert page.locator(".msg.assistant").count() == 1  # the cut answer was given up for the new try
        assert page.locator(".msg.user .regenerate").count() == 1
        assert len(engine.requests) == 1

        watch.back()
        expect(health).to_have_attribute("data-state", "ok")  # checked every 2 s while not ok
        failed.get_by_role("button", name="Try again", exact=True).click()
        answer = wait_answer(page, 1)
        assert answer.locator(".body").inner_text() == "Cells divide in two."
        assert page.locator(".failure").count() == 0
        assert [m["content"] for m in engine.requests[1]["messages"] if m["role"] == "user"] == [
            "How do cells divide?"
        ]
