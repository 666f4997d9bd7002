"""End to end: the page in Chromium, the backend, and the real embedded llama-cpp engine (SmolLM2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edubot_cli.engines.base import Engine
from edubot_cli.serving import running_engine
from tests.support.live_backend import LiveBackend, isolated_settings

from .conftest import STATS, OpenPage, screenshot, send, wait_answer

pytestmark = [pytest.mark.engine, pytest.mark.browser]


@pytest.fixture(scope="module")
def real_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    settings = isolated_settings({"logs_dir": tmp_path_factory.mktemp("logs")})
    engine: Engine
    with (
        running_engine(settings) as engine,
        LiveBackend({"max_tokens": 48, "temperature": 0.0}, engine.urls, engine.name) as live,
    ):
        yield live


def test_a_real_question_gets_a_real_streamed_answer(open_page: OpenPage, real_backend: LiveBackend) -> None:
    s = open_page(real_backend.url)
    page = s.page
    page.wait_for_selector("#health[data-state='ok']")
    send(page, "What is photosynthesis?")
    page.wait_for_selector(".msg.assistant.streaming")
    answer = wait_answer(page, 1)
    text = answer.locator(".body").inner_text().strip()
    assert len(text.split()) >= 3, text
    stats = STATS.match(answer.locator(".meta .stats").inner_text())
    assert stats is not None, answer.locator(".meta").inner_text()
    assert 0 < int(stats.group(1)) <= 48
    assert float(stats.group(2)) > 0
    screenshot(page, "chat-desktop-embedded-model.png")
