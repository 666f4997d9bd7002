"""The chat page in real Chromium against a live backend on the scripted stub engine."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.stub_engine import Step, StubEngine

from .conftest import (
    PHONE,
    STATS,
    OpenPage,
    close_settings,
    health_checks,
    health_is,
    load,
    pause_clock,
    pause_time,
    run_clock_until,
    screenshot,
    send,
    wait_answer,
    wait_backend_health,
)

pytestmark = pytest.mark.browser

ANSWER = ["Photosynthesis ", "is **how plants** ", "make food.\n\n```python\n", "print('leaf')\n", "```\n"]


def user_turns(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


def test_send_streams_markdown_with_copy_buttons_and_figures(open_page: OpenPage, backend, engine) -> None:
    rest = threading.Event()  # the answer pauses after its bold text until the test has looked at it
    engine.script(Step(chunks=ANSWER, delay=0.3, first_byte_delay=0.2, gate=rest, gate_after=2))
    s = open_page(backend.url)
    page = s.page
    assert page.get_attribute("#messages", "aria-live") == "polite"
    send(page, "What is photosynthesis?")

    # Rendered as markdown while it streams: bold text is there before the end, the Stop button is shown.
    page.wait_for_selector(".msg.assistant.streaming .body strong")
    assert page.inner_text(".msg.assistant.streaming .body strong") == "how plants"
    assert page.is_visible("#stop")
    assert page.is_hidden("#send")
    assert page.get_attribute("#messages", "aria-busy") == "true"

    rest.set()
    answer = wait_answer(page, 1)
    assert page.is_visible("#send")
    assert page.is_hidden("#stop")
    assert page.get_attribute("#messages", "aria-busy") == "false"
    assert answer.locator(".body p").first.inner_text() == "Photosynthesis is how plants make food."
    assert answer.locator("pre code").inner_text() == "print('leaf')\n"
    stats = STATS.match(answer.locator(".meta").inner_text())
    assert stats is not None, answer.locator(".meta").inner_text()
    assert stats.group(1) == "5"  # the stub counts one token per chunk
    # The figures come from the backend: the first token after the stub's 0.2 s wait, the last 4 x 0.3 s later
    # (lower bounds only, less a little for timer granularity and rounding).
    assert float(stats.group(3)) >= 0.19
    assert float(stats.group(4)) >= 1.35
    assert page.inner_text(".msg.user .body") == "What is photosynthesis?"
    assert user_turns(engine.requests[-1]) == ["What is photosynthesis?"]
    assert engine.requests[-1]["stream"] is True

    answer.get_by_role("button", name="Copy code", exact=True).click()
    expect(answer.locator(".copy-code")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "print('leaf')\n"
    answer.locator(".copy-msg").click()
    expect(answer.locator(".copy-msg")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "".join(ANSWER)
    # Served over plain http to other machines, the page has no navigator.clipboard: copying still works.
    page.evaluate(
        "() => { window.realClipboard = navigator.clipboard;"
        " Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true}); }"
    )
    page.locator(".msg.user .copy-msg").click()
    expect(page.locator(".msg.user .copy-msg")).to_have_text("Copied")
    assert page.evaluate("window.realClipboard.readText()") == "What is photosynthesis?"
    screenshot(page, "chat-desktop.png")


def test_copy_buttons_say_what_they_copy(open_page: OpenPage, backend, engine: StubEngine) -> None:
    engine.script(Step(chunks=["Roots hold the plant."]), Step(chunks=["Like this:\n\n```\nroot()\n```\n"]))
    s = open_page(backend.url)
    page = s.page
    send(page, "What do roots do?")
    wait_answer(page, 1)
    send(page, "Show me")
    wait_answer(page, 2)
    names = ["Copy question 1", "Copy answer 1", "Copy question 2", "Copy answer 2"]
    copy_msg = page.locator(".copy-msg")
    assert [copy_msg.nth(i).get_attribute("aria-label") for i in range(4)] == names
    assert copy_msg.all_inner_texts() == ["Copy"] * 4  # the visible word is part of each name
    for name, text in [
        ("Copy question 1", "What do roots do?"),
        ("Copy answer 1", "Roots hold the plant."),
        ("Copy question 2", "Show me"),
    ]:
        page.get_by_role("button", name=name, exact=True).click()
        assert page.evaluate("navigator.clipboard.readText()") == text
    page.get_by_role("button", name="Copy answer 2", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == "Like this:\n\n```\nroot()\n```\n"
    page.get_by_role("button", name="Copy code", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == "root()\n"
    expect(page.get_by_role("button", name="Copy code", exact=True)).to_have_text("Copied")
    assert page.get_by_role("button", name="Copy", exact=True).count() == 0

    page.select_option("#lang", "es")
    assert [copy_msg.nth(i).get_attribute("aria-label") for i in range(4)] == [
        "Copiar pregunta 1", "Copiar respuesta 1", "Copiar pregunta 2", "Copiar respuesta 2"
    ]  # fmt: skip
    assert copy_msg.all_inner_texts() == ["Copiar"] * 4
    expect(page.get_by_role("button", name="Copiar código", exact=True)).to_have_text("Copiar código")
    page.get_by_role("button", name="Copiar pregunta 2", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == "Show me"


def test_stop_button_and_escape_cancel_the_engine(open_page: OpenPage, backend, engine: StubEngine) -> None:
    # Each answer pauses after 3 words, for as long as it takes the test to stop it.
    engine.script(*[Step(chunks=[f"word{i} " for i in range(60)], gate=threading.Event(), gate_after=3)] * 2)
    s = open_page(backend.url)
    page = s.page
    before = engine.cancelled

    send(page, "Count slowly")
    page.wait_for_function("() => document.querySelector('.streaming .body')?.textContent.includes('word2')")
    page.click("#stop")
    assert engine.wait_cancelled(before + 1)
    answer = wait_answer(page, 1)
    text = answer.locator(".body").inner_text()
    assert text.startswith("word0 word1 word2")
    assert "word59" not in text
    assert answer.locator(".stopped").inner_text() == "Stopped before the end."
    assert page.evaluate("document.activeElement.id") == "prompt"

    send(page, "Again")
    page.wait_for_function("() => document.querySelector('.streaming .body')?.textContent.includes('word1')")
    page.keyboard.press("Escape")
    assert engine.wait_cancelled(before + 2)
    second = wait_answer(page, 2)
    assert second.locator(".stopped").count() == 1
    assert "word59" not in second.locator(".body").inner_text()

    load(s)  # the partial answers were saved as stopped
    assert page.locator(".msg.assistant .stopped").count() == 2


def test_regenerate_replaces_the_last_answer(open_page: OpenPage, backend, engine: StubEngine) -> None:
    engine.script(Step(chunks=["First answer."]), Step(chunks=["Second answer."]))
    page = open_page(backend.url).page
    send(page, "Tell me about cells")
    wait_answer(page, 1)
    page.click(".msg.assistant .regenerate")
    page.wait_for_function(
        "() => document.querySelector('.msg.assistant .body')?.textContent.trim() === 'Second answer.'"
    )
    wait_answer(page, 1)
    assert page.locator(".msg").count() == 2
    assert len(engine.requests) == 2
    assert engine.requests[0]["messages"][1:] == engine.requests[1]["messages"][1:]
    assert user_turns(engine.requests[1]) == ["Tell me about cells"]


def test_edit_and_resend_the_last_question(open_page: OpenPage, backend, engine: StubEngine) -> None:
    engine.script(Step(chunks=["One."]), Step(chunks=["Two."]), Step(chunks=["Three."]))
    page = open_page(backend.url).page
    send(page, "What is a plant?")
    wait_answer(page, 1)
    send(page, "Waht is a cel?")
    wait_answer(page, 2)
    assert page.locator(".msg.user .edit").count() == 1  # only the last question can be edited

    page.click(".msg.user .edit")
    box = page.get_by_label("Edit your question")
    assert box.input_value() == "Waht is a cel?"
    box.fill("What is a cell?")
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelectorAll('.msg.assistant .body')[1]?.textContent.trim() === 'Three.'"
    )
    wait_answer(page, 2)
    users = page.locator(".msg.user .body").all_inner_texts()
    assert users == ["What is a plant?", "What is a cell?"]
    assert page.locator(".msg.assistant .body").all_inner_texts() == ["One.", "Three."]
    history = [(m["role"], m["content"]) for m in engine.requests[2]["messages"] if m["role"] != "system"]
    assert history == [("user", "What is a plant?"), ("assistant", "One."), ("user", "What is a cell?")]


def test_conversations_survive_a_reload_and_can_be_renamed_and_deleted(
    open_page: OpenPage, backend, engine: StubEngine
) -> None:
    engine.script(Step(chunks=["About leaves."]), Step(chunks=["About roots."]))
    s = open_page(backend.url)
    page = s.page
    page.on("dialog", lambda dialog: dialog.accept())
    send(page, "Leaves")
    wait_answer(page, 1)
    page.click("#new")
    assert page.locator(".msg").count() == 0
    send(page, "Roots")
    wait_answer(page, 1)

    load(s)
    assert page.locator("#convs .conv-open").all_inner_texts() == ["Roots", "Leaves"]
    assert page.get_attribute("#convs li:first-child .conv-open", "aria-current") == "true"
    assert page.locator(".msg .body").all_inner_texts() == ["Roots", "About roots."]
    page.click("#convs .conv-open >> text=Leaves")
    assert page.locator(".msg .body").all_inner_texts() == ["Leaves", "About leaves."]

    page.click("#convs li:has-text('Leaves') .conv-rename")
    name = page.get_by_label("New name")
    name.fill("Plant leaves")
    name.press("Enter")
    load(s)  # renaming keeps the order: latest activity first
    assert page.locator("#convs .conv-open").all_inner_texts() == ["Roots", "Plant leaves"]
    assert page.inner_text("#conv-title") == "Plant leaves"

    page.click("#convs li:has-text('Roots') .conv-delete")
    assert page.locator("#convs .conv-open").all_inner_texts() == ["Plant leaves"]
    load(s)
    assert page.locator("#convs .conv-open").all_inner_texts() == ["Plant leaves"]
    assert page.locator(".msg .body").all_inner_texts() == ["Leaves", "About leaves."]


def test_export_then_import_round_trips(
    open_page: OpenPage, backend, engine: StubEngine, tmp_path: Path
) -> None:
    engine.script(Step(chunks=["Green ", "leaves."]), Step(chunks=["Sunlight."]))
    s = open_page(backend.url)
    page = s.page
    page.on("dialog", lambda dialog: dialog.accept())
    send(page, "Why are leaves green?")
    wait_answer(page, 1)
    send(page, "What do they need?")
    wait_answer(page, 2)

    with page.expect_download() as info:
        page.click("#export-json")
    assert info.value.suggested_filename == "why-are-leaves-green.json"
    exported = tmp_path / "exported.json"
    info.value.save_as(exported)
    doc = json.loads(exported.read_text())
    assert list(doc) == [
        "format", "version", "title", "created_at", "updated_at", "system", "settings", "messages"
    ]  # fmt: skip
    assert (doc["format"], doc["version"], doc["title"]) == (
        "edubot-conversation",
        1,
        "Why are leaves green?",
    )
    assert doc["system"] is None
    assert doc["settings"] == {"temperature": None, "max_tokens": None}
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    assert stamp.match(doc["created_at"]) and stamp.match(doc["updated_at"])
    assert [(m["role"], m["content"]) for m in doc["messages"]] == [
        ("user", "Why are leaves green?"),
        ("assistant", "Green leaves."),
        ("user", "What do they need?"),
        ("assistant", "Sunlight."),
    ]
    assert all(stamp.match(m["created_at"]) for m in doc["messages"])
    assert "stats" not in doc["messages"][0]
    stats = doc["messages"][1]["stats"]
    assert list(stats) == ["completion_tokens", "tokens_per_second", "ttft_seconds", "latency_seconds"]
    assert stats["completion_tokens"] == 2

    with page.expect_download() as md_info:
        page.click("#export-md")
    assert md_info.value.suggested_filename == "why-are-leaves-green.md"
    markdown = Path(md_info.value.path()).read_text()
    assert markdown.startswith(
        "# Why are leaves green?\n\n## You\n\nWhy are leaves green?\n\n## edubot\n\nGreen leaves.\n\n*2 tokens"
    )

    page.click("#convs li:has-text('Why are leaves green?') .conv-delete")
    assert page.locator(".msg").count() == 0
    page.set_input_files("#import-file", str(exported))
    expect(page.locator("#notice-text")).to_have_text("Imported “Why are leaves green?”.")
    # The empty conversation left after the delete was replaced by the import, not kept beside it.
    assert page.locator("#convs li").count() == 1
    assert page.locator(".msg .body").all_inner_texts() == [
        "Why are leaves green?", "Green leaves.", "What do they need?", "Sunlight."
    ]  # fmt: skip
    load(s)  # imported conversations are stored like the others
    with page.expect_download() as again:
        page.click("#export-json")
    assert json.loads(Path(again.value.path()).read_text()) == doc


def test_import_refuses_a_bad_document_and_keeps_everything(
    open_page: OpenPage, backend, tmp_path: Path
) -> None:
    page = open_page(backend.url).page
    bad_version = tmp_path / "future.json"
    bad_version.write_text(json.dumps({"format": "edubot-conversation", "version": 2}))
    page.set_input_files("#import-file", str(bad_version))
    expect(page.locator("#notice-text")).to_have_text(
        'Could not import future.json: "version" 2 is not a version this page reads (1)'
    )
    bad_role = tmp_path / "role.json"
    bad_role.write_text(json.dumps({
        "format": "edubot-conversation", "version": 1, "title": "t", "created_at": "2026-11-24T07:30:00.000Z",
        "updated_at": "2026-11-24T07:30:00+01:00", "system": None, "settings": {"temperature": 0.5, "max_tokens": None},
        "messages": [{"role": "user", "content": "hi", "created_at": "2026-11-24T07:30:00Z"},
                     {"role": "system", "content": "x", "created_at": "2026-11-24T07:30:00Z"}],
    }))  # fmt: skip
    page.set_input_files("#import-file", str(bad_role))
    expect(page.locator("#notice-text")).to_have_text(
        'Could not import role.json: "messages[1].role" must be "user" or "assistant"'
    )
    not_json = tmp_path / "notes.json"
    not_json.write_text("{oops")
    page.set_input_files("#import-file", str(not_json))
    expect(page.locator("#notice-text")).to_have_text(
        re.compile(r"^Could not import notes\.json: it is not valid JSON \(.+\)$")
    )
    assert page.locator("#convs li").count() == 1


def test_answer_markup_is_inert(open_page: OpenPage, backend, engine: StubEngine) -> None:
    engine.script(
        Step(
            chunks=[
                "Look: <img src=x onerror=\"window.__pwned='img'\"> and ",
                "[click me](javascript:window.__pwned='link') and ",
                "<script>window.__pwned='script'</script> and ",
                "![a diagram](http://example.invalid/diagram.png) and ",
                '<a href="javascript:window.__pwned=1" onclick="window.__pwned=2">raw</a>',
            ]
        )
    )
    s = open_page(backend.url)
    page = s.page
    send(page, "Show me HTML")
    answer = wait_answer(page, 1)
    body = answer.locator(".body")
    assert body.locator("img, script, iframe, [onerror], [onclick]").count() == 0
    assert "<img src=x onerror=" in body.inner_text()  # shown as text, never as markup
    link = body.get_by_text("click me")
    assert link.get_attribute("href") is None
    link.click()
    diagram = body.get_by_text("a diagram")
    assert diagram.get_attribute("href") == "http://example.invalid/diagram.png"
    assert diagram.get_attribute("rel") == "noopener noreferrer"
    assert page.evaluate("window.__pwned") is None
    assert [r.url for r in s.requests if "example.invalid" in r.url] == []


def test_engine_down_shows_a_human_message(open_page: OpenPage, engine: StubEngine) -> None:
    from tests.support.live_backend import LiveBackend

    with LiveBackend({}, ["http://127.0.0.1:9"]) as down:
        s = open_page(down.url, expect_statuses=(503,))
        page = s.page
        page.wait_for_selector("#health[data-state='down']")
        assert page.inner_text("#health-text") == "Engine down"
        send(page, "Are you there?")
        # The backend's 503 says why, in the answer's place (not saved), with a way to try again.
        failed = page.locator(".msg.assistant.failed")
        expect(failed.locator(".failure")).to_have_text("Engine 1 cannot be reached; is it running?")
        assert failed.get_by_role("button", name="Try again", exact=True).is_enabled()
        assert page.is_hidden("#notice")
        assert page.locator(".msg.user .body").all_inner_texts() == ["Are you there?"]
        assert page.locator(".msg.assistant").count() == 1
        assert page.locator(".msg.user .regenerate").count() == 1  # the question can be sent again later
        assert "cannot be reached" not in page.evaluate("localStorage.getItem('edubot.conversations')")


def test_an_engine_failing_mid_answer_keeps_the_part_received(open_page: OpenPage, backend, engine) -> None:
    engine.script(Step(chunks=["Mitochondria ", "are ", "never shown"], fail_after=2, delay=0.1))
    page = open_page(backend.url).page
    send(page, "What are mitochondria?")
    page.wait_for_selector("#notice:not([hidden])")
    assert page.inner_text("#notice-text").startswith("The answer was cut off: ")
    answer = wait_answer(page, 1)
    assert answer.locator(".body").inner_text() == "Mitochondria are"
    assert answer.locator(".meta .stats").count() == 0  # no figures for an answer that did not finish
    answer.locator(".regenerate").click()
    again = wait_answer(page, 1)
    expect(again.locator(".body")).to_have_text("Hello from the stub.")
    assert page.is_hidden("#notice")
    assert page.locator(".msg.assistant").count() == 1


def test_server_gone_shows_a_human_message(open_page: OpenPage, engine: StubEngine) -> None:
    from tests.support.live_backend import LiveBackend

    refused = "Failed to load resource: net::ERR_CONNECTION_REFUSED"
    live = LiveBackend({}, [engine.url]).start()
    try:
        s = open_page(live.url, expect_console=(refused,), fake_clock=True)
        page = s.page
        page.wait_for_selector("#health[data-state='ok']")
    finally:
        live.stop()
    send(page, "Still there?")
    expect(page.locator("#notice-text")).to_have_text(
        "Cannot reach the edubot server. Check that it is running, then try again."
    )
    assert page.locator(".msg.user .body").all_inner_texts() == ["Still there?"]
    run_clock_until(page, health_is("offline"))  # at the next check, 30 s after the last at most
    assert page.inner_text("#health-text") == "Server unreachable"


def test_health_indicator_follows_the_engine(open_page: OpenPage, engine: StubEngine) -> None:
    from tests.support.live_backend import LiveBackend

    with LiveBackend({}, [engine.url], health_interval=0.1) as live:
        s = open_page(live.url, expect_statuses=(503,), fake_clock=True)
        page = s.page
        page.wait_for_selector("#health[data-state='ok']")
        assert page.inner_text("#health-text") == "Connected"
        pause_clock(page)  # the page's checks run only when the test moves its clock
        before = health_checks(page)
        engine.healthy = False
        wait_backend_health(page, engine="unreachable")  # the backend's probe has seen it
        run_clock_until(page, health_is("down"))
        down = health_checks(page)
        assert (
            len(down) == len(before) + 1
        )  # one check, asked 30 s after the last: every 30 s while all is well
        assert down[-1] - before[-1] >= 30_000
        assert page.inner_text("#health-text") == "Engine down"
        engine.healthy = True
        wait_backend_health(page, engine="ok")
        run_clock_until(page, health_is("ok"))
        back = health_checks(page)
        assert (len(back), back[-1] - down[-1]) == (len(down) + 1, 2_000)  # and every 2 s while it is not
        assert page.inner_text("#health-text") == "Connected"


def test_rate_limit_counts_the_wait_down_then_allows_sending(open_page: OpenPage, engine: StubEngine) -> None:
    from tests.support.live_backend import LiveBackend

    with LiveBackend({"rate_limit_per_minute": 1}, [engine.url]) as limited:
        s = open_page(limited.url, expect_statuses=(429,), fake_clock=True)
        page = s.page
        send(page, "First")
        wait_answer(page, 1)
        # From here the page's time moves only when the test moves it.
        page.clock.pause_at(pause_time(page))
        send(page, "Second")
        notice = page.locator("#notice-text")
        expect(notice).to_have_text(re.compile(r"^Too many requests — try again in \d+ s$"))
        shown = re.fullmatch(r"Too many requests — try again in (\d+) s", notice.inner_text())
        assert shown is not None
        wait = int(shown.group(1))
        assert 3 <= wait <= 60  # Retry-After from the backend's limiter: up to a minute at 1 request/minute
        assert page.get_attribute("#notice", "aria-live") == "off"  # the seconds are shown, not announced
        regenerate = page.locator(".msg.user .regenerate")
        expect(page.locator("#send")).to_be_disabled()
        expect(regenerate).to_be_disabled()

        page.fill("#prompt", "Third")
        page.press("#prompt", "Enter")  # refused while the wait runs: the question stays in the box
        assert page.input_value("#prompt") == "Third"
        page.clock.run_for(1000)
        expect(notice).to_have_text(f"Too many requests — try again in {wait - 1} s")
        page.clock.run_for(1000)
        expect(notice).to_have_text(f"Too many requests — try again in {wait - 2} s")
        page.select_option("#lang", "es")  # the next second speaks the new language
        page.clock.run_for(1000)
        expect(notice).to_have_text(f"Demasiadas solicitudes — inténtalo de nuevo en {wait - 3} s")
        page.select_option("#lang", "en")
        page.clock.run_for((wait - 4) * 1000)
        expect(notice).to_have_text("Too many requests — try again in 1 s")
        expect(page.locator("#send")).to_be_disabled()
        expect(page.locator(".msg.user .regenerate")).to_be_disabled()

        page.clock.run_for(1000)
        expect(notice).to_have_text("You can send again.")
        expect(page.locator("#send")).to_be_enabled()
        expect(page.locator(".msg.user .regenerate")).to_be_enabled()
        assert page.get_attribute("#notice", "aria-live") is None
        page.clock.run_for(5000)
        expect(notice).to_have_text("You can send again.")  # the countdown is over for good
        chats = [r for r in s.requests if r.url.endswith("/chat")]
        assert len(chats) == 2
        assert len(engine.requests) == 1
        assert page.locator(".msg.user .body").all_inner_texts() == ["First", "Second"]


def test_unauthorised_asks_for_the_api_key(open_page: OpenPage, engine: StubEngine) -> None:
    from tests.support.live_backend import LiveBackend

    with LiveBackend({"api_key": "s3cret"}, [engine.url]) as locked:
        s = open_page(locked.url, expect_statuses=(401,))
        page = s.page
        # Asked at start-up; the question is sent without the key all the same.
        page.wait_for_selector("#key-form:not([hidden])")
        send(page, "Hello?")
        page.wait_for_function("() => document.querySelectorAll('.msg.user .regenerate').length === 1")
        page.wait_for_selector("#key-form:not([hidden])")
        assert page.inner_text("#notice-text") == (
            "This server needs an API key. Enter it below; it is kept only in this browser tab."
        )
        assert page.evaluate("document.activeElement.id") == "api-key"
        page.fill("#api-key", "wrong")
        page.press("#api-key", "Enter")
        page.wait_for_function(
            "() => document.getElementById('notice-text').textContent.startsWith('The server did not accept this API')"
        )
        page.fill("#api-key", "s3cret")
        page.click("#key-form button[type=submit]")
        answer = wait_answer(page, 1)
        assert answer.locator(".body").inner_text() == "Hello from the stub."
        assert page.is_hidden("#notice")
        chats = [r for r in s.requests if r.url.endswith("/chat")]
        assert [r.headers.get("authorization") for r in chats] == [None, "Bearer wrong", "Bearer s3cret"]
        assert page.evaluate("sessionStorage.getItem('edubot.apiKey')") == "s3cret"
        assert "s3cret" not in page.evaluate("JSON.stringify(localStorage)")


def test_a_server_that_needs_a_key_asks_for_it_at_start_up(
    open_page: OpenPage, backend, engine: StubEngine
) -> None:
    from tests.support.live_backend import LiveBackend

    info_read = "#temperature[placeholder='server default: 0.7']"  # set once GET / (JSON) has answered
    with LiveBackend({"api_key": "s3cret"}, [engine.url]) as locked:
        s = open_page(locked.url)
        page = s.page
        expect(page.locator("#key-form")).to_be_visible()
        expect(page.locator("#notice-text")).to_have_text(
            "This server needs an API key. Enter it below; it is kept only in this browser tab."
        )
        assert page.evaluate("document.activeElement.id") == "api-key"
        page.fill("#api-key", "s3cret")
        page.press("#api-key", "Enter")
        expect(page.locator("#notice")).to_be_hidden()
        assert page.evaluate("document.activeElement.id") == "prompt"
        send(page, "Hello?")
        assert wait_answer(page, 1).locator(".body").inner_text() == "Hello from the stub."
        chats = [r for r in s.requests if r.url.endswith("/chat")]
        assert [r.headers.get("authorization") for r in chats] == ["Bearer s3cret"]  # never refused

        load(s)  # the same tab keeps its key: no question asked again
        page.wait_for_selector(info_read, state="attached")
        assert page.is_hidden("#notice")
        problems = s.problems()
        s.context.close()  # before the server stops: a stopping server answers the page's health check 503
        assert problems == []

    page = open_page(backend.url).page  # a server without a key never asks
    page.wait_for_selector(info_read, state="attached")
    assert page.is_hidden("#notice")


def test_bad_request_is_explained(open_page: OpenPage, backend, engine: StubEngine) -> None:
    page = open_page(backend.url, expect_statuses=(422,)).page
    page.click("#open-settings")
    page.get_by_label("Maximum tokens per answer (1–4096)").fill("5000")
    close_settings(page, "escape")  # the Close button would refuse the number
    send(page, "Hi")
    page.wait_for_selector("#notice:not([hidden])")
    assert page.inner_text("#notice-text").startswith("The server did not accept the request: ")
    assert "max_tokens" in page.inner_text("#notice-text")
    assert engine.requests == []


def test_settings_are_sent_and_the_system_prompt_is_hidden_unless_allowed(
    open_page: OpenPage, backend, engine: StubEngine
) -> None:
    page = open_page(backend.url).page
    page.click("#open-settings")
    assert page.is_hidden("#system-field")
    assert page.get_attribute("#temperature", "placeholder") == "server default: 0.7"
    page.get_by_label("Temperature (0–2)").fill("0.2")
    page.get_by_label("Maximum tokens per answer (1–4096)").fill("64")
    close_settings(page)
    send(page, "Hi")
    wait_answer(page, 1)
    assert (engine.requests[-1]["temperature"], engine.requests[-1]["max_tokens"]) == (0.2, 64)
    assert engine.requests[-1]["messages"][0]["role"] == "system"
    assert engine.requests[-1]["messages"][0]["content"] != "Answer like a pirate."


def test_system_prompt_override_when_the_server_allows_it(open_page: OpenPage, engine: StubEngine) -> None:
    from tests.support.live_backend import LiveBackend

    with LiveBackend({"allow_system_prompt_override": True}, [engine.url]) as open_backend:
        page = open_page(open_backend.url).page
        page.click("#open-settings")
        assert page.is_visible("#system-field")
        page.get_by_label("System prompt").fill("Answer like a pirate.")
        close_settings(page)
        send(page, "Hi")
        wait_answer(page, 1)
        assert engine.requests[-1]["messages"][0] == {"role": "system", "content": "Answer like a pirate."}


def test_keyboard_only_conversation(open_page: OpenPage, backend, engine: StubEngine) -> None:
    # The second answer pauses after 2 words, for as long as it takes the test to stop it.
    engine.script(
        Step(chunks=["Sure."]),
        Step(chunks=[f"w{i} " for i in range(60)], gate=threading.Event(), gate_after=2),
    )
    s = open_page(backend.url)
    page = s.page
    keys = page.keyboard
    keys.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    keys.press("Enter")
    assert page.evaluate("document.activeElement.id") == "prompt"
    keys.type("Line one")
    keys.press("Shift+Enter")
    keys.type("line two")
    keys.press("Enter")
    wait_answer(page, 1)
    assert user_turns(engine.requests[-1]) == ["Line one\nline two"]

    # Tab reaches the answer's buttons, focus is visible, Enter activates them.
    page.focus("#prompt")
    keys.press("Shift+Tab")
    focused = page.evaluate(
        "[document.activeElement.textContent, getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == ["Regenerate", "solid"]

    page.focus("#prompt")
    keys.type("Go on")
    before = engine.cancelled
    keys.press("Enter")
    page.wait_for_function("() => document.querySelector('.streaming .body')?.textContent.includes('w1')")
    keys.press("Escape")
    assert engine.wait_cancelled(before + 1)
    second = wait_answer(page, 2)
    assert second.locator(".stopped").count() == 1

    # Settings open and close from the keyboard; focus comes back to the button.
    page.focus("#open-settings")
    keys.press("Enter")
    assert page.is_visible("#settings")
    keys.press("Escape")
    assert page.is_hidden("#settings")
    assert page.evaluate("document.activeElement.id") == "open-settings"


def test_phone_layout(open_page: OpenPage, backend, engine: StubEngine) -> None:
    engine.script(
        Step(chunks=["A short answer with `code` and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"])
    )
    page = open_page(backend.url, viewport=PHONE, color_scheme="dark").page
    assert page.is_visible("#menu")
    assert not page.is_visible("#sidebar")
    send(page, "Hello from a phone")
    wait_answer(page, 1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "chat-phone.png")
    page.click("#menu")
    assert page.get_attribute("#menu", "aria-expanded") == "true"
    page.wait_for_function("() => getComputedStyle(document.getElementById('sidebar')).transform === 'none'")
    assert page.is_visible("#new")
    screenshot(page, "chat-phone-conversations.png")
    page.keyboard.press("Escape")
    assert page.get_attribute("#menu", "aria-expanded") == "false"
    page.click("#menu")
    page.mouse.click(360, 400)  # beside the list
    assert page.get_attribute("#menu", "aria-expanded") == "false"


def test_spanish_from_the_browser_language_with_a_switch(open_page: OpenPage, backend) -> None:
    s = open_page(backend.url, locale="es-ES")
    page = s.page
    assert page.get_attribute("html", "lang") == "es"
    assert page.inner_text("#send") == "Enviar"
    assert page.inner_text("#new") == "Nueva conversación"
    assert page.get_attribute("#prompt", "placeholder").startswith("Haz una pregunta")
    page.select_option("#lang", "en")
    assert page.inner_text("#send") == "Send"
    assert page.get_attribute("html", "lang") == "en"
    load(s)
    assert page.inner_text("#send") == "Send"


def test_theme_follows_the_system_with_a_toggle(open_page: OpenPage, backend) -> None:
    s = open_page(backend.url, color_scheme="dark")
    page = s.page
    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == "rgb(21, 23, 28)"
    assert page.get_attribute("#theme", "aria-label") == "Switch to the light theme"
    page.click("#theme")
    assert page.evaluate(background) == "rgb(247, 247, 249)"
    assert page.get_attribute("#theme", "aria-label") == "Switch to the dark theme"
    load(s)
    assert page.evaluate(background) == "rgb(247, 247, 249)"
    screenshot(page, "chat-desktop-light-toggled.png")


def test_files_move_between_the_page_and_the_terminal_chat(
    open_page: OpenPage, backend, engine: StubEngine, tmp_path: Path
) -> None:
    from edubot_cli.chat.session import AnswerStats, Conversation, make_title

    terminal = Conversation(system="You are a patient tutor.", temperature=0.3, max_tokens=100)
    terminal.add(
        "user", "What is a    volcano, and why does it erupt when the pressure builds up underground?"
    )
    stats = AnswerStats(completion_tokens=12, tokens_per_second=35.1, ttft_seconds=0.21, latency_seconds=0.55)
    terminal.add("assistant", "A **mountain** that lets magma out.", stats=stats)
    terminal.add("user", "Tell me more")
    terminal.add("assistant", "Magma is", stopped=True)
    saved = tmp_path / "volcano.json"
    terminal.save(saved)

    page = open_page(backend.url).page
    page.set_input_files("#import-file", str(saved))
    title = terminal.title
    assert title == "What is a volcano, and why does it erupt when the pressure…"
    expect(page.locator("#notice-text")).to_have_text(f"Imported “{title}”.")
    assert page.locator(".msg.assistant .stopped").count() == 1
    with page.expect_download() as info:
        page.click("#export-json")
    assert json.loads(Path(info.value.path()).read_text()) == terminal.to_json()

    engine.script(Step(chunks=["Lava ", "cools."]))
    send(page, "And lava?")
    wait_answer(page, 3)
    with page.expect_download() as info:
        page.click("#export-json")
    exported = tmp_path / "from-page.json"
    info.value.save_as(exported)
    loaded = Conversation.load(exported)
    assert loaded.to_json() == json.loads(exported.read_text())
    assert [m.content for m in loaded.messages][-2:] == ["And lava?", "Lava cools."]
    assert loaded.messages[-1].stats is not None and loaded.messages[-1].stats.completion_tokens == 2
    assert (loaded.title, loaded.system, loaded.temperature, loaded.max_tokens) == (
        title, "You are a patient tutor.", 0.3, 100
    )  # fmt: skip
    assert engine.requests[-1]["temperature"] == 0.3
    assert engine.requests[-1]["max_tokens"] == 100

    # A question typed in the page gets the title the terminal chat would give it.
    page.click("#new")
    question = "  Why   do some volcanoes sleep for centuries\nand then wake up without any warning at all?"
    send(page, question)
    wait_answer(page, 1)
    assert page.inner_text("#convs li:first-child .conv-open") == make_title(question)


def test_a_second_tab_sees_new_conversations(open_page: OpenPage, backend, engine: StubEngine) -> None:
    s = open_page(backend.url)
    other = s.context.new_page()
    other.goto(f"{backend.url}/")
    other.wait_for_selector("body[data-ready='true']")
    send(s.page, "Asked in the first tab")
    wait_answer(s.page, 1)
    expect(other.locator("#convs .conv-open")).to_have_text(["Asked in the first tab"])
    expect(other.locator(".msg .body")).to_have_text(["Asked in the first tab", "Hello from the stub."])


def test_long_earlier_turns_are_cut_to_what_the_backend_accepts(
    open_page: OpenPage, backend, engine: StubEngine, tmp_path: Path
) -> None:
    from edubot_cli.chat.session import Conversation

    long_answer = "photosynthesis " * 700  # 10,500 characters; the backend takes 8,000 per turn
    terminal = Conversation()
    terminal.add("user", "Tell me everything")
    terminal.add("assistant", long_answer)
    saved = tmp_path / "long.json"
    terminal.save(saved)
    page = open_page(backend.url).page
    page.set_input_files("#import-file", str(saved))
    expect(page.locator(".msg")).to_have_count(2)
    send(page, "Shorter please")
    wait_answer(page, 2)
    turns = [(m["role"], m["content"]) for m in engine.requests[-1]["messages"] if m["role"] != "system"]
    assert turns == [
        ("user", "Tell me everything"),
        ("assistant", long_answer[:8000]),
        ("user", "Shorter please"),
    ]


def unnamed_controls(s) -> list[str]:
    """Interactive nodes of Chromium's accessibility tree that have no accessible name."""
    cdp = s.context.new_cdp_session(s.page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    controls = {"button", "textbox", "combobox", "spinbutton", "link", "checkbox", "slider", "listbox"}
    out = []
    for node in nodes:
        role = node.get("role", {}).get("value")
        if role in controls and not node.get("ignored") and not node.get("name", {}).get("value", "").strip():
            out.append(f"{role} {node.get('backendDOMNodeId')}")
    cdp.detach()
    return out


def test_every_control_has_an_accessible_name(open_page: OpenPage, backend, engine: StubEngine) -> None:
    engine.script(Step(chunks=["See [the notes](https://example.invalid/notes) and:\n\n```\ncode\n```\n"]))
    s = open_page(backend.url)
    page = s.page
    send(page, "Label check")
    wait_answer(page, 1)
    assert unnamed_controls(s) == []
    page.click(".msg.user .edit")
    assert unnamed_controls(s) == []
    page.keyboard.press("Escape")
    page.click("#convs .conv-rename")
    assert unnamed_controls(s) == []
    page.keyboard.press("Escape")
    page.click("#open-settings")
    assert unnamed_controls(s) == []
    roles = {n.get("role", {}).get("value") for n in s.context.new_cdp_session(page).send(
        "Accessibility.getFullAXTree")["nodes"]}  # fmt: skip
    assert {"dialog", "spinbutton", "button"} <= roles
