"""``/docs`` in real Chromium: Swagger UI from the vendored files, under its Content-Security-Policy, asking no
other host."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.live_backend import LiveBackend

from .conftest import OpenPage, screenshot

pytestmark = pytest.mark.browser


def open_docs(open_page: OpenPage, backend: LiveBackend) -> Any:
    """The /docs page once Swagger UI has rendered the operations; its failed requests and CSP reports are
    collected on the page object."""
    s = open_page(backend.url)  # the chat page first: the fixture checks every page it opened on teardown
    page = s.page
    # Let the chat page finish its own requests: leaving while one is in flight aborts it (not a /docs failure).
    page.wait_for_load_state("networkidle")
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url}: HTTP {r.status}"))
    response = page.goto(f"{backend.url}/docs")
    assert response is not None and response.status == 200
    page.wait_for_selector(".opblock-summary")
    return s, failed


def test_docs_render_the_operations_from_local_files(open_page: OpenPage, backend: LiveBackend) -> None:
    s, failed = open_docs(open_page, backend)
    page = s.page
    chat = page.locator(".opblock-post", has=page.locator(".opblock-summary-path[data-path='/chat']"))
    expect(chat.locator(".opblock-summary-method")).to_have_text("POST")
    summaries = [
        " ".join(text.split())
        for text in page.locator(".opblock-summary-method, .opblock-summary-path").all_inner_texts()
    ]
    pairs = list(zip(summaries[::2], summaries[1::2], strict=True))
    assert ("POST", "/chat") in pairs
    assert ("POST", "/v1/chat/completions") in pairs
    assert ("GET", "/health") in pairs
    assert page.title() == "edubot - API"
    # The schemas open under the same policy.
    model = page.locator(
        "section.models article[data-json-schema-level='0']",
        has=page.locator(".json-schema-2020-12__title", has_text="ChatRequest"),
    ).first
    model.locator(".json-schema-2020-12-accordion").first.click()
    expect(model.get_by_text("conversation_history").first).to_be_visible()
    # No "valid" badge (it would ask validator.swagger.io), no request but to the backend, nothing failed.
    assert page.locator("img[src*='validator']").count() == 0
    assert failed == []
    assert s.console_errors == []
    paths = {r.url.removeprefix(backend.url) for r in s.requests}
    assert {
        "/docs",
        "/vendor/swagger-ui/swagger-ui-bundle.js",
        "/vendor/swagger-ui/swagger-ui.css",
        "/openapi.json",
    } <= paths
    screenshot(page, "docs-desktop.png")


def test_try_it_out_posts_json_to_the_backend(open_page: OpenPage, backend: LiveBackend, engine) -> None:
    s, failed = open_docs(open_page, backend)
    page = s.page
    health = page.locator(".opblock-get", has=page.locator(".opblock-summary-path[data-path='/health']"))
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    expect(health.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    chat = page.locator(".opblock-post", has=page.locator(".opblock-summary-path[data-path='/chat']"))
    chat.locator(".opblock-summary").click()
    chat.get_by_role("button", name="Try it out").click()
    chat.locator("textarea.body-param__text").fill('{"message": "hello from the docs"}')
    chat.get_by_role("button", name="Execute").click()
    expect(chat.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    assert engine.requests[-1]["messages"][-1] == {"role": "user", "content": "hello from the docs"}
    assert failed == []
    assert s.console_errors == []
