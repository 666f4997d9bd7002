"""Issue 26 in the real headless Chromium: a student writes something a school must hear of; they get the support
message, not the model's answer; the flag reaches the teacher's page live (severity, category, the message), the
teacher opens its conversation and marks it reviewed."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from edubot_cli.safety.moderation import DEFAULT_SUPPORT_MESSAGE
from tests.support.classroom import make_room
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine

from .conftest import OpenPage, send, wait_answer
from .test_classroom import join_as, open_teacher


def test_a_flagged_message_reaches_the_teachers_page(
    open_page: OpenPage, engine: StubEngine, tmp_path: Path
) -> None:
    room = make_room(tmp_path)
    room.store.close()
    with LiveBackend(room.settings(moderation=True), [engine.url], health_interval=0.2) as live:
        teacher = open_teacher(open_page, live.url, room.teacher_key)
        tpage = teacher.page
        expect(tpage.locator("#no-flags")).to_be_visible()

        student = open_page(live.url)
        join_as(student, room.klass.code, "Ana")
        send(student.page, "i dont want to be alive anymore, my number is 07700 900123")
        answer = wait_answer(student.page, 1)
        expect(answer.locator(".body")).to_have_text(DEFAULT_SUPPORT_MESSAGE)
        assert engine.requests == []  # the model was not asked

        # the flag is on the teacher's page without a reload: severity, categories, the message as stored
        flag = tpage.locator("#flags .flag")
        expect(flag).to_have_count(1)
        expect(flag).to_have_attribute("data-severity", "high")
        expect(flag).to_have_attribute("data-reviewed", "false")
        expect(flag.locator(".flag-severity")).to_have_text("high")
        expect(flag.locator(".flag-categories")).to_have_text("self-harm, personal data")
        expect(flag.locator(".flag-text")).to_have_text(
            "i dont want to be alive anymore, my number is [phone]"
        )
        expect(tpage.locator("#no-flags")).to_be_hidden()

        # its conversation, then "Mark reviewed"
        flag.locator(".flag-open").click()
        expect(tpage.locator("#conversation-messages .msg.user .body")).to_have_text(
            "i dont want to be alive anymore, my number is [phone]"
        )
        expect(tpage.locator("#conversation-messages .msg.assistant .body")).to_have_text(
            DEFAULT_SUPPORT_MESSAGE
        )
        flag.locator(".flag-review").click()
        expect(flag).to_have_attribute("data-reviewed", "true")
        expect(flag.locator(".flag-done")).to_have_text("Reviewed")
        expect(flag.locator(".flag-review")).to_have_count(0)
