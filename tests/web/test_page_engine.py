"""End to end: the page in Chromium, the backend, and the real embedded llama-cpp engine (SmolLM2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live_backend import LiveBackend, served_embedded

from .conftest import ENGINE_WAIT_MS, STATS, OpenPage, screenshot, send, wait_answer

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def real_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    # Started and supervised the way `edubot serve` does it (the backend knows its slots and its supervisor).
    with served_embedded(tmp_path_factory.mktemp("logs"), {"max_tokens": 48, "temperature": 0.0}) as (
        _,
        live,
    ):
        yield live


def test_a_real_question_gets_a_real_streamed_answer(open_page: OpenPage, real_backend: LiveBackend) -> None:
    s = open_page(real_backend.url)
    page = s.page
    page.wait_for_selector("#health[data-state='ok']", timeout=ENGINE_WAIT_MS)
    send(page, "What is photosynthesis?")
    page.wait_for_selector(".msg.assistant.streaming")
    answer = wait_answer(page, 1, timeout=ENGINE_WAIT_MS)
    text = answer.locator(".body").inner_text().strip()
    assert len(text.split()) >= 3, text
    stats = STATS.match(answer.locator(".meta .stats").inner_text())
    assert stats is not None, answer.locator(".meta").inner_text()
    assert 0 < int(stats.group(1)) <= 48
    assert float(stats.group(2)) > 0
    screenshot(page, "chat-desktop-embedded-model.png")
