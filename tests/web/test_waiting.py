"""The page while an answer is on its way: words for what is happening ("Reading your notes…", "Writing…"), the
seconds waited after 3 s, a gentle message when an answer is slow (``slow_answer_seconds``), Copy only once there
is text; and the settings a class cannot change (``client_sampling`` off: no temperature or max tokens fields).

The seconds are checked on the page's fake clock (``open_page(fake_clock=True)``), moved by the test: nothing
depends on how long anything takes. A question is held before it reaches the backend (a routed request the test
lets go) or in the stub engine (a gated step).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.grounding.conftest import PLANTS, age, write
from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING
from tests.support.stub_engine import Step, StubEngine

from .conftest import OpenPage, close_settings, load, pause_clock, run_clock_until, send, wait_answer

pytestmark = pytest.mark.browser

LEAF = "knowledge/botany/plants/qna.yaml"
SLOW = (
    "This is taking longer than usual: the computer is busy. You can wait, or press Stop and ask again later."
)
STATUS = ".msg.assistant.streaming .typing .status"
ELAPSED = ".msg.assistant.streaming .typing .elapsed"
STORE = "localStorage.getItem('edubot.conversations')"


@pytest.fixture(scope="module")
def grounded(stub: StubEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    """A backend that grounds questions in a temp taxonomy (PLANTS); the stub engine writes the answers."""
    root = tmp_path_factory.mktemp("grounded") / "taxonomy"
    write(root, LEAF, PLANTS)
    age(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDUBOT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        with LiveBackend(
            {"taxonomy_path": root, "grounding": None, "grounding_answer": "check"}, [stub.url]
        ) as live:
            yield live


def hold_chat(page: Any) -> list[Any]:
    """Hold the page's POST /chat requests before they leave the browser; ``route.continue_()`` lets one go."""
    held: list[Any] = []

    def keep(route: Any) -> None:
        held.append(route)

    page.route("**/chat", keep)
    return held


def test_a_grounded_question_reads_the_notes_then_the_engine_writes(
    open_page: OpenPage, grounded: LiveBackend, engine: StubEngine
) -> None:
    gate = threading.Event()
    engine.script(Step(chunks=["Roots take up ", "water [1]."], gate=gate))
    held_before = engine.held  # the module's stub counts every hold
    page = open_page(grounded.url).page
    held = hold_chat(page)
    send(page, "What do roots take up from the soil?")
    # until the backend says the question is in the engine
    expect(page.locator(STATUS)).to_have_text("Reading your notes…")
    assert page.get_attribute(".msg.assistant.streaming .typing", "aria-live") == "polite"
    expect(page.locator(".msg.assistant .copy-msg")).to_have_count(0)  # nothing to copy yet
    assert len(held) == 1
    held[0].continue_()
    assert engine.wait_held(held_before + 1)
    expect(page.locator(STATUS)).to_have_text("Writing…")
    expect(page.locator(".msg.assistant .copy-msg")).to_have_count(0)
    gate.set()
    answer = wait_answer(page, 1)
    expect(answer.locator(".body")).to_have_text("Roots take up water [1].")
    expect(answer.locator(".copy-msg")).to_have_count(1)
    assert page.locator(".typing").count() == 0
    stored = page.evaluate(STORE)
    assert "Reading your notes" not in stored and "Writing…" not in stored

    page.select_option("#lang", "es")  # the same words in Spanish
    gate = threading.Event()
    engine.script(Step(chunks=["Agua [1]."], gate=gate))
    send(page, "¿Qué toman las raíces del suelo?")
    expect(page.locator(STATUS)).to_have_text("Leyendo tus apuntes…")
    assert len(held) == 2
    held[1].continue_()
    assert engine.wait_held(held_before + 2)
    expect(page.locator(STATUS)).to_have_text("Escribiendo…")
    gate.set()
    expect(wait_answer(page, 2).locator(".body")).to_have_text("Agua [1].")


def test_seconds_waited_and_a_slow_answer_are_said_until_the_first_words(
    open_page: OpenPage, engine: StubEngine
) -> None:
    gate = threading.Event()
    # The first words come once the test lets them; the rest would take a minute (the test stops it before).
    engine.script(Step(chunks=["Roots ", "drink."], gate=gate, delay=CEILING))
    cancelled, held = engine.cancelled, engine.held
    with LiveBackend({"slow_answer_seconds": 5}, [engine.url]) as live:
        s = open_page(live.url, fake_clock=True)
        page = s.page
        pause_clock(page)  # from here the page's time moves only when the test moves it
        send(page, "What do roots do?")
        status, elapsed = page.locator(STATUS), page.locator(ELAPSED)
        expect(status).to_have_text("Writing…")
        assert engine.wait_held(held + 1)
        expect(elapsed).to_be_hidden()
        expect(page.locator(".msg.assistant .copy-msg")).to_have_count(0)

        shown = "!document.querySelector('.typing .elapsed').hidden"
        assert run_clock_until(page, shown, step_ms=500) == 3000  # the seconds show after 3 s
        expect(elapsed).to_have_text("3 s")
        assert page.inner_text(".msg.assistant.streaming .typing") == "Writing… 3 s"
        page.clock.run_for(1000)  # and count each second
        expect(elapsed).to_have_text("4 s")
        assert page.locator(".slow").count() == 0
        page.clock.run_for(1000)  # slow_answer_seconds (5, from the server)
        expect(page.locator(".msg.assistant.streaming .slow")).to_have_text(SLOW)
        assert page.get_attribute(".slow", "role") == "status"
        expect(elapsed).to_have_text("5 s")

        gate.set()  # the first words arrive; the page paints them at its next frame
        page.wait_for_function("() => document.querySelector('#messages').ariaBusy === 'true'", polling=20)
        page.clock.run_for(100)
        answer = page.locator(".msg.assistant.streaming")
        expect(answer.locator(".body")).to_have_text("Roots")
        expect(answer.locator(".typing")).to_have_count(0)  # words and seconds go with the first paint
        copy = answer.locator(".copy-msg")
        expect(copy).to_have_count(1)  # Copy comes with the text
        assert copy.get_attribute("aria-label") == "Copy answer 1"
        expect(answer.locator(".slow")).to_have_text(SLOW)  # the answer is still not finished

        page.click("#stop")
        stopped = page.locator(".msg.assistant").last
        expect(stopped.locator(".stopped")).to_have_text("Stopped before the end.")
        expect(page.locator(".slow")).to_have_count(0)
        assert engine.wait_cancelled(cancelled + 1)
        assert SLOW not in page.evaluate(STORE)
        s.context.close()  # before the server stops (a stopping server answers the page's health check 503)


def test_the_slow_message_is_in_spanish_too(open_page: OpenPage, engine: StubEngine) -> None:
    gate = threading.Event()
    engine.script(Step(chunks=["Sí."], gate=gate))
    held = engine.held
    with LiveBackend({"slow_answer_seconds": 2}, [engine.url]) as live:
        s = open_page(live.url, locale="es-ES", fake_clock=True)
        page = s.page
        pause_clock(page)
        send(page, "¿Qué hacen las raíces?")
        expect(page.locator(STATUS)).to_have_text("Escribiendo…")
        assert engine.wait_held(held + 1)
        run_clock_until(page, "document.querySelector('.slow') !== null", step_ms=500)
        expect(page.locator(".slow")).to_have_text(
            "Está tardando más de lo normal: el ordenador está ocupado. Puedes esperar, o pulsar Detener y volver "
            "a preguntar más tarde."
        )
        gate.set()
        expect(wait_answer(page, 1).locator(".body")).to_have_text("Sí.")
        expect(page.locator(".slow")).to_have_count(0)
        s.context.close()


def test_a_class_server_hides_temperature_and_max_tokens(open_page: OpenPage, engine: StubEngine) -> None:
    with LiveBackend({"client_sampling": False, "temperature": 0.4, "max_tokens": 99}, [engine.url]) as live:
        s = open_page(live.url)
        page = s.page
        # Values a student set earlier (or an imported conversation holds) are neither shown nor sent.
        page.evaluate("localStorage.setItem('edubot.prefs', JSON.stringify({temperature: 2, max_tokens: 5}))")
        load(s)
        page.click("#open-settings")
        expect(page.locator("#sampling-note")).to_have_text(
            "This server sets the temperature and the length of answers."
        )
        expect(page.locator("#sampling-note")).to_be_visible()
        expect(page.locator("#temperature")).to_be_hidden()
        expect(page.locator("#max-tokens")).to_be_hidden()
        expect(page.locator("#settings-hint")).to_be_hidden()  # no field left to leave empty
        close_settings(page)
        sent: list[dict[str, Any]] = []
        page.on("request", lambda r: r.method == "POST" and sent.append(json.loads(r.post_data or "{}")))
        send(page, "Hi")
        wait_answer(page, 1)
        assert "temperature" not in sent[0] and "max_tokens" not in sent[0]
        assert (engine.requests[-1]["temperature"], engine.requests[-1]["max_tokens"]) == (0.4, 99)
        s.context.close()


def test_a_server_that_allows_it_shows_temperature_and_max_tokens(
    open_page: OpenPage, engine: StubEngine
) -> None:
    with LiveBackend({"client_sampling": True}, [engine.url]) as live:
        s = open_page(live.url)
        page = s.page
        page.click("#open-settings")
        expect(page.locator("#temperature")).to_be_visible()
        expect(page.locator("#max-tokens")).to_be_visible()
        expect(page.locator("#settings-hint")).to_be_visible()
        expect(page.locator("#sampling-note")).to_be_hidden()
        page.get_by_label("Temperature (0–2)").fill("1.5")
        page.get_by_label("Maximum tokens per answer (1–4096)").fill("33")
        close_settings(page)
        send(page, "Hi")
        wait_answer(page, 1)
        assert (engine.requests[-1]["temperature"], engine.requests[-1]["max_tokens"]) == (1.5, 33)
        s.context.close()
