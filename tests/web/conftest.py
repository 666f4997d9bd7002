"""Chromium (Debian's, through Playwright) driving the web page served by a live backend on the stub engine.

One browser, one stub engine and one backend per test module keep the suite fast; every test gets a fresh
browser context (empty localStorage) and its page is checked on teardown: no console error but those the test
announced, and no request to any host but the backend.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.live_backend import LiveBackend
from tests.support.poll import eventually
from tests.support.stub_engine import StubEngine

CHROMIUM = os.environ.get("EDUBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 60_000
"""The page's and ``expect``'s ceiling for anything the stub answers at once: a bound for a failing test only,
far above what it takes even with every core busy (``make test-under-load``)."""
ENGINE_WAIT_MS = 240_000
"""The ceiling for an answer from the real engine, which shares the CPUs with the browser and the test."""
HEALTH_CHECKS = """
(() => {
  // The page's own health checks (GET health, no query), seen from the page: how many are in flight, and the
  // page's (fake) time at which each was asked. The count drops only once the answer has been handled: the
  // page's code that reads it runs in the same turn, right after this.
  const checks = { inflight: 0, asked: [] };
  Object.defineProperty(window, "__healthChecks", { value: checks });
  const realFetch = window.fetch;
  window.fetch = function (input, init) {
    const promise = realFetch.call(this, input, init);
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    if (!url.pathname.endsWith("/health") || url.search) return promise;
    checks.inflight += 1;
    checks.asked.push(Date.now());
    let counted = false;
    const done = () => { if (!counted) { counted = true; checks.inflight -= 1; } };
    return promise.then(
      (response) => {
        const json = response.json.bind(response);
        response.json = () => { const read = json(); read.then(done, done); return read; };
        return response;
      },
      (error) => { done(); throw error; },
    );
  };
})();
"""


expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` or set EDUBOT_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def stub() -> Iterator[StubEngine]:
    with StubEngine() as engine:
        yield engine


@pytest.fixture
def engine(stub: StubEngine) -> StubEngine:
    """The module's stub, reset: default reply, empty request log, healthy."""
    stub.script()
    stub.requests.clear()
    stub.healthy = True
    return stub


@pytest.fixture(scope="module")
def shared_backend(stub: StubEngine) -> Iterator[LiveBackend]:
    with LiveBackend({"rate_limit_per_minute": 0}, [stub.url], health_interval=0.2) as live:
        yield live


@pytest.fixture
def backend(shared_backend: LiveBackend, engine: StubEngine) -> LiveBackend:
    """The module's backend once it sees the reset stub as healthy: a test that took the stub down leaves the
    backend's cached view of it "unreachable" (its /health a 503) until the next probe."""
    import httpx

    def healthy() -> bool:
        try:
            return httpx.get(f"{shared_backend.url}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    assert eventually(healthy), f"{shared_backend.url}/health stayed unhealthy"
    return shared_backend


@dataclass
class Session:
    """One browser context and its page, with everything it requested and logged."""

    base: str
    context: Any
    page: Any
    requests: list[Any] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    expected_statuses: tuple[int, ...] = ()
    expected_console: tuple[str, ...] = ()  # further console errors the test causes on purpose (prefixes)

    def problems(self) -> list[str]:
        out = []
        allowed = {
            f"Failed to load resource: the server responded with a status of {code}"
            for code in self.expected_statuses
        } | set(self.expected_console)
        for text in self.console_errors:
            if not any(text.startswith(prefix) for prefix in allowed):
                out.append(f"console error: {text}")
        origin = urlsplit(self.base)
        for request in self.requests:
            url = request.url
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss"):
                if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                    out.append(f"request to another host: {url}")
            elif parts.scheme == "blob":
                if not url.startswith(f"blob:{self.base}/"):
                    out.append(f"blob from another origin: {url}")
            elif parts.scheme != "data":
                out.append(f"unexpected request: {url}")
        return out


OpenPage = Callable[..., Session]


@pytest.fixture
def open_page(browser: Any) -> Iterator[OpenPage]:
    """``open_page(base_url, viewport=, locale=, color_scheme=, expect_statuses=, expect_console=, fake_clock=)``."""
    sessions: list[Session] = []

    def factory(
        base: str,
        *,
        viewport: dict[str, int] = DESKTOP,
        locale: str = "en-US",
        color_scheme: str = "light",
        expect_statuses: tuple[int, ...] = (),
        expect_console: tuple[str, ...] = (),
        fake_clock: bool = False,
    ) -> Session:
        context = browser.new_context(
            viewport=viewport, locale=locale, color_scheme=color_scheme, accept_downloads=True
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        if fake_clock:  # timers the test moves on with page.clock (health checks: 30 s, 2 s while not ok)
            page.clock.install()
            context.add_init_script(HEALTH_CHECKS)  # what run_clock_until needs
        session = Session(
            base, context, page, expected_statuses=expect_statuses, expected_console=expect_console
        )
        context.on("request", lambda r: session.requests.append(r))
        page.on("console", lambda m: m.type == "error" and session.console_errors.append(m.text))
        page.on("pageerror", lambda e: session.console_errors.append(f"uncaught: {e}"))
        sessions.append(session)
        load(session)
        return session

    yield factory
    problems = []
    for session in sessions:
        problems += session.problems()
        session.context.close()
    assert problems == []


def load(session: Session) -> None:
    """(Re)load the page and wait until app.js has finished starting."""
    session.page.goto(f"{session.base}/")
    session.page.wait_for_selector("body[data-ready='true']")


def close_settings(page: Any, how: str = "button") -> None:
    """Close the settings dialog (its Close button, or ``how="escape"``) and wait until the page has read them: its
    ``close`` handler, which runs a moment later, also moves the focus back to the settings button, and a question
    typed before that would lose its focus half-way."""
    if how == "escape":
        page.keyboard.press("Escape")
    else:
        page.click("#settings-form button[type=submit]")
    expect(page.locator("#open-settings")).to_be_focused()


def send(page: Any, text: str) -> None:
    page.fill("#prompt", text)
    page.press("#prompt", "Enter")


def wait_answer(page: Any, count: int, timeout: float = WAIT_MS) -> Any:
    """Wait for the ``count``-th finished answer (its figures shown) and return its article locator; ``timeout``
    in ms (``ENGINE_WAIT_MS`` for the real engine)."""
    page.wait_for_function(
        """n => {
          const done = [...document.querySelectorAll('#messages .msg.assistant:not(.streaming)')];
          return done.length >= n && !document.querySelector('.streaming');
        }""",
        arg=count,
        timeout=timeout,
    )
    return page.locator("#messages .msg.assistant").nth(count - 1)


def wait_backend_health(page: Any, engine: str | None = None, waiting: int | None = None) -> None:
    """Wait until the backend's own ``GET /health`` says ``engine`` (its "engine" state) and ``waiting`` (its
    "queue"."waiting"), those given. Asked from the page itself, so that the page's clock (real or fake) plays
    no part: the backend's view of the engine is cached, and a change the test makes shows there a moment later.
    Bounded by the page's default timeout."""
    page.wait_for_function(
        """([engine, waiting, probe]) => {
          const state = (window[probe] ??= { asking: false, passed: false });
          if (!state.asking && !state.passed) {
            state.asking = true;
            fetch("health?probe", { cache: "no-store" }).then((r) => r.json())
              .then((h) => {
                state.passed = (engine === null || h.engine === engine)
                  && (waiting === null || h.queue.waiting === waiting);
              })
              .catch(() => {})
              .finally(() => { state.asking = false; });
          }
          return state.passed;
        }""",
        arg=[engine, waiting, f"__probe{next(_probes)}"],
        polling=50,
    )


_probes = itertools.count()


def pause_clock(page: Any) -> None:
    """Stop the page's fake clock (``open_page(fake_clock=True)``): from here its timers run only when
    ``run_clock_until`` moves it. Returns once no health check is in flight."""
    page.clock.pause_at(pause_time(page))
    _settled(page)


def pause_time(page: Any) -> float:
    """For ``page.clock.pause_at``: a minute ahead of the page's clock, in seconds (Playwright's Python API
    takes seconds), still in the future however slow the machine; timers due before then run on the way."""
    return float(page.evaluate("Date.now()")) / 1000 + 60


def run_clock_until(page: Any, condition: str, step_ms: int = 1000, ceiling_ms: int = 120_000) -> int:
    """Move the page's paused fake clock on ``step_ms`` at a time until the JavaScript expression ``condition``
    holds; return the fake milliseconds that took. The clock never moves while one of the page's health checks is
    in flight: its answer is handled first, at the fake time it was asked, so the next check's timer starts
    from there however long the real answer took, and the fake times in ``health_checks`` are exact. Fails once
    the clock has moved ``ceiling_ms`` without the condition holding."""
    moved = 0
    while True:
        _settled(page)
        if page.evaluate(condition):
            return moved
        assert moved < ceiling_ms, f"still not {condition} after {moved} ms of page time"
        page.clock.run_for(step_ms)
        moved += step_ms


def health_checks(page: Any) -> list[int]:
    """The page's fake time at which each of its own health checks was asked (``open_page(fake_clock=True)``)."""
    _settled(page)
    return list(page.evaluate("window.__healthChecks.asked"))


def _settled(page: Any) -> None:
    """Until none of the page's health checks is in flight (its answer read and shown)."""
    page.wait_for_function("() => window.__healthChecks.inflight === 0", polling=20)


def health_is(state: str) -> str:
    """The ``run_clock_until`` condition: the health indicator shows ``state``."""
    return f"document.querySelector('#health').dataset.state === {state!r}"


STATS = re.compile(r"^(\d+) tokens? · (\d+\.\d) tokens/s · first token (\d+\.\d\d) s · total (\d+\.\d\d) s$")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
