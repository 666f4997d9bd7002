"""The sources of a grounded answer on the web page: a numbered list under the answer, [n] markers that open
their passage, kept with the conversation (reload, export, import)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.grounding.conftest import PLANTS, age, write
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

from .conftest import OpenPage, load, screenshot, send, wait_answer
from .test_chat_page import unnamed_controls

LEAF = "knowledge/botany/plants/qna.yaml"
WHERE = f"{LEAF}:7"  # the line of seed_examples[0].context (the roots passage) in PLANTS
ROOTS = "Roots take up water and minerals from the soil."
TITLE = "Botany: Roots take up water and minerals from the…"  # the leaf's domain, then the passage's opening


@pytest.fixture(scope="module")
def grounded(stub: StubEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    """A backend grounded on a temp taxonomy with one knowledge leaf (PLANTS), its index cache in a temp dir."""
    root = tmp_path_factory.mktemp("grounded") / "taxonomy"
    write(root, LEAF, PLANTS)
    age(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDUBOT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        # ``check``: the stub engine writes the answers, which the backend checks against the passage
        with LiveBackend(
            {"taxonomy_path": root, "grounding": None, "grounding_answer": "check"}, [stub.url]
        ) as live:
            yield live


def test_a_grounded_answer_lists_its_sources_and_keeps_them(
    open_page: OpenPage, grounded: LiveBackend, engine: StubEngine, tmp_path: Path
) -> None:
    engine.script(Step(chunks=["Roots take up ", "water [1]."]))
    s = open_page(grounded.url)
    page = s.page
    send(page, "What do roots take up from the soil?")
    answer = wait_answer(page, 1)

    def check() -> None:
        sources = answer.locator(".sources")
        expect(sources.get_by_role("heading", name="Sources")).to_be_visible()
        summary = sources.locator("li summary")
        expect(summary).to_have_count(1)
        expect(summary).to_have_text(f"[1] {TITLE}")
        snippet = sources.locator("blockquote")
        expect(snippet).to_be_hidden()
        cite = answer.locator(".body button.cite")
        expect(cite).to_have_text("[1]")
        expect(cite).to_have_accessible_name(f"Source 1: {TITLE}")
        expect(answer.locator(".body")).to_have_text("Roots take up water [1].")
        cite.click()
        expect(snippet).to_be_visible()
        expect(snippet).to_contain_text(ROOTS)
        expect(sources.locator(".where")).to_have_text(f"{WHERE} · seed_examples[0].context")
        expect(summary).to_be_focused()  # the marker moves focus to its source
        page.keyboard.press("Enter")  # a keyboard closes it again
        expect(snippet).to_be_hidden()

    check()
    load(s)  # saved with the conversation
    answer = wait_answer(page, 1)
    check()

    with page.expect_download() as info:
        page.click("#export-json")
    exported = tmp_path / "grounded.json"
    info.value.save_as(exported)
    doc = json.loads(exported.read_text())
    assert "sources" not in doc["messages"][0]
    [saved] = doc["messages"][1]["sources"]
    assert saved == {
        "n": 1, "line": 7, "file": LEAF, "yaml_path": "seed_examples[0].context",
        "title": TITLE, "snippet": saved["snippet"],
    }  # fmt: skip
    assert saved["snippet"].startswith(ROOTS)

    with page.expect_download() as md:
        page.click("#export-md")
    assert f"Sources:\n\n- [1] {TITLE} — {WHERE}\n" in Path(md.value.path()).read_text()

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#convs .conv-delete")
    page.set_input_files("#import-file", str(exported))
    answer = wait_answer(page, 1)
    check()


def test_markers_without_a_source_or_in_code_stay_text(
    open_page: OpenPage, grounded: LiveBackend, engine: StubEngine
) -> None:
    engine.script(Step(chunks=["Roots [1], not [7]; `a[1]` and <b>[1]</b>"]))
    s = open_page(grounded.url)
    page = s.page
    send(page, "What do roots take up from the soil?")
    answer = wait_answer(page, 1)
    expect(answer.locator(".body button.cite")).to_have_count(2)  # raw HTML is text: its [1] is a marker too
    # the backend removes a marker beyond the sources ([7]); the others are the page's to render
    expect(answer.locator(".body")).to_have_text("Roots [1], not; a[1] and <b>[1]</b>")
    expect(answer.locator(".body b")).to_have_count(0)

    # Keyboard and assistive technology: a region named by its heading, a list, markers that are buttons.
    region = page.get_by_role("region", name="Sources")
    expect(region.get_by_role("list").get_by_role("listitem")).to_have_count(1)
    answer.locator("button.cite").first.focus()
    page.keyboard.press("Enter")
    expect(region.locator("summary")).to_be_focused()
    expect(region.locator("blockquote")).to_contain_text(ROOTS)
    assert unnamed_controls(s) == []
    screenshot(page, "sources.png")


def test_an_ungrounded_answer_has_no_sources(open_page: OpenPage, backend, engine: StubEngine) -> None:
    engine.script(Step(chunks=["Roots take up water [1]."]))
    s = open_page(backend.url)
    page = s.page
    send(page, "What do roots take up from the soil?")
    answer = wait_answer(page, 1)
    expect(answer.locator(".body")).to_have_text("Roots take up water [1].")
    expect(page.locator(".sources")).to_have_count(0)
    expect(page.locator("button.cite")).to_have_count(0)
    load(s)
    expect(page.locator(".msg.assistant")).to_have_count(1)
    expect(page.locator(".sources")).to_have_count(0)


def test_an_answer_quoted_from_the_notes_says_so_instead_of_a_speed(
    open_page: OpenPage, stub: StubEngine, engine: StubEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "taxonomy"
    write(root, LEAF, PLANTS)
    age(root)
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    with LiveBackend(
        {"taxonomy_path": root, "grounding": None, "grounding_answer": "quote"}, [stub.url]
    ) as live:
        s = open_page(live.url)
        send(s.page, "What do roots take up from the soil?")
        answer = wait_answer(s.page, 1)
        expect(answer.locator(".body")).to_have_text(f"From your class notes: “{ROOTS}” [1]")
        stats = answer.locator(".meta .stats").inner_text()
        assert re.fullmatch(r"quoted from your notes · total \d+\.\d\d s", stats), stats
        assert engine.requests == []  # the engine was not asked
        s.context.close()  # before the server stops (a stopping server answers the page's health check 503)
