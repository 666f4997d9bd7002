"""The classroom in the real headless Chromium: issue 25's story from `edubot class create` to the teacher's live
view, export and purge; a nickname that is an XSS payload stays text on the teacher's page; the student's join
form (its errors, in English and Spanish, on a phone), their conversations from the server, leaving, and a class
that closes under them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.grounding.conftest import PLANTS, age, write
from tests.support.classroom import Room, make_room
from tests.support.live_backend import LiveBackend
from tests.support.poll import eventually
from tests.support.serve_process import EDUBOT
from tests.support.stub_engine import Step, StubEngine

from .conftest import PHONE, OpenPage, Session, load, screenshot, send, wait_answer

LEAF = "knowledge/botany/plants/qna.yaml"
TITLE = "Botany: Roots take up water and minerals from the…"


def edubot(tmp_path: Path, *args: str) -> str:
    """``edubot ARGS`` as a teacher types it in the project folder (``tmp_path``, its store in ``data``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUBOT_")}
    env |= {"EDUBOT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    done = subprocess.run(
        [str(EDUBOT), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def grounded_backend(tmp_path: Path, stub: StubEngine, monkeypatch: pytest.MonkeyPatch) -> LiveBackend:
    """A backend on the store in ``tmp_path/data``, grounded on a taxonomy with one knowledge leaf (PLANTS)."""
    root = tmp_path / "taxonomy"
    write(root, LEAF, PLANTS)
    age(root)
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    settings = {
        "data_dir": tmp_path / "data",
        "taxonomy_path": root,
        "grounding": None,
        "grounding_answer": "check",
    }
    return LiveBackend(settings, [stub.url], health_interval=0.2)


def open_teacher(open_page: OpenPage, base: str, key: str, **options: Any) -> Session:
    """The teacher's page, logged in with ``key``, its first class shown and followed live."""
    s = open_page(base, **options)
    page = s.page
    page.goto(f"{base}/teacher")
    page.wait_for_selector("body[data-ready='true']")
    expect(page.locator("#login-form")).to_be_visible()
    page.fill("#key", key)
    page.press("#key", "Enter")
    page.wait_for_selector("body[data-view='board'][data-live='live']")
    return s


def join_as(s: Session, code: str, nickname: str) -> None:
    """Join on the student's page (the join form is shown), as a student types: code, then nickname, then Enter."""
    page = s.page
    page.wait_for_selector("body[data-classroom='joining']")
    page.fill("#join-code", code)
    page.press("#join-code", "Enter")  # on to the nickname
    expect(page.locator("#join-nickname")).to_be_focused()
    page.fill("#join-nickname", nickname)
    page.press("#join-nickname", "Enter")
    page.wait_for_selector("body[data-classroom='joined']")
    expect(page.locator("#student-name")).to_have_text(nickname)


def test_a_class_from_its_code_to_the_teachers_live_view_then_export_and_purge(
    open_page: OpenPage, stub: StubEngine, engine: StubEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1. The teacher creates a class, and the key of the teacher's page.
    made = json.loads(edubot(tmp_path, "class", "create", "7B science", "--format", "json"))
    code = made["class"]["code"]
    key = json.loads(edubot(tmp_path, "class", "teacher-key", "--format", "json"))["key"]
    with grounded_backend(tmp_path, stub, monkeypatch) as live:
        teacher = open_teacher(open_page, live.url, key)
        tpage = teacher.page
        expect(tpage.locator("#classes .class-open")).to_have_count(1)
        expect(tpage.locator("#classes .class-code")).to_have_text(f"code {code}")
        expect(tpage.locator("#classes .badge")).to_have_text("open")
        expect(tpage.locator("#no-conversations")).to_be_visible()

        # 2. Two students join with the code, each in a browser of their own, and ask.
        ana = open_page(live.url)
        join_as(ana, code.lower().replace("-", " "), "Ana")  # typed as it comes: any case, a space
        ben = open_page(live.url, viewport=PHONE, expect_statuses=(404,))
        join_as(ben, code, "Ben")
        asked = {
            "Ana": "What do roots take up from the soil?",
            "Ben": "Which tubes carry water to the leaves?",
        }
        engine.script(
            Step(chunks=["Roots take up ", "water [1]."]),
            Step(chunks=["Xylem tubes carry water ", "to the leaves [1]."]),
        )
        shown: dict[str, str] = {}
        for student, s in (("Ana", ana), ("Ben", ben)):
            send(s.page, asked[student])
            answer = wait_answer(s.page, 1)
            expect(answer.locator(".sources li summary").first).to_be_visible()
            shown[student] = answer.locator(".body").inner_text()

            # 3. The teacher's page shows each conversation as it is stored, without a reload.
            expect(tpage.locator("#conversations .conv-open")).to_have_count(1 if student == "Ana" else 2)
        expect(tpage.locator("#stats [data-stat='questions_today'] dd")).to_have_text("2")
        expect(tpage.locator("#stats [data-stat='active_students'] dd")).to_have_text("2")
        expect(tpage.locator("#students tr th")).to_have_text(["Ana", "Ben"])
        for student in ("Ana", "Ben"):
            tpage.locator("#conversations .conv-open", has_text=asked[student]).click()
            messages = tpage.locator("#conversation-messages .msg")
            expect(messages).to_have_count(2)
            expect(messages.nth(0).locator(".body")).to_have_text(asked[student])
            expect(messages.nth(1).locator(".body")).to_have_text(shown[student])
            expect(messages.nth(1).locator(".sources summary").first).to_contain_text("[1] Botany:")
            expect(tpage.locator("#conversation-meta")).to_contain_text(f"{student} · started")
        # and a conversation open on the teacher's page grows while the student asks on
        engine.script(Step(chunks=["Phloem carries sugar [1]."]))
        send(ben.page, "What does phloem carry?")
        wait_answer(ben.page, 2)
        expect(tpage.locator("#conversation-messages .msg")).to_have_count(4)
        screenshot(tpage, "teacher-view.png")

        # 4. One student cannot read the other's conversations.
        ana_id = ana.page.evaluate("fetch('class/conversations').then(r => r.json()).then(l => l[0].id)")
        status = ben.page.evaluate(f"fetch('class/conversations/{ana_id}').then(r => r.status)")
        assert status == 404
        load(ben)
        ben.page.wait_for_selector("body[data-classroom='joined'][data-conversations='1']")
        expect(ben.page.locator("#convs .conv-open")).to_have_text(["New conversation", asked["Ben"]])

        # 5. The export holds exactly the messages asked and answered.
        rows = [json.loads(line) for line in edubot(tmp_path, "class", "export", "7B science").splitlines()]
        assert [(r["student"], r["role"], r["text"]) for r in rows] == [
            ("Ana", "user", asked["Ana"]),
            ("Ana", "assistant", shown["Ana"]),
            ("Ben", "user", asked["Ben"]),
            ("Ben", "assistant", shown["Ben"]),
            ("Ben", "user", "What does phloem carry?"),
            ("Ben", "assistant", "Phloem carries sugar [1]."),
        ]
        assert all(r["sources"] for r in rows if r["role"] == "assistant")
        assert {r["finish_reason"] for r in rows if r["role"] == "assistant"} == {"stop"}

        # 6. A purge removes them.
        assert edubot(tmp_path, "class", "purge", "7B science", "--yes").strip() == (
            "Removed 6 messages from 7B science."
        )
        assert edubot(tmp_path, "class", "export", "7B science") == ""
        tpage.reload()
        tpage.wait_for_selector("body[data-view='board'][data-conversations='0']")
        expect(tpage.locator("#no-conversations")).to_be_visible()
        for s in (teacher, ana, ben):
            s.context.close()  # before the server stops: the pages would see its 503s


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    made = make_room(tmp_path)
    yield made
    made.store.close()


@pytest.fixture
def classroom(room: Room, stub: StubEngine, engine: StubEngine) -> Iterator[LiveBackend]:
    with LiveBackend(room.settings(), [stub.url], health_interval=0.2) as live:
        yield live


def test_an_xss_nickname_and_question_stay_text_on_the_teachers_page(
    open_page: OpenPage, room: Room, classroom: LiveBackend
) -> None:
    nickname = "<svg onload=__x=1>"
    question = '<img src=x onerror="__y=1"> what is <b>this</b>?'
    student = open_page(classroom.url)
    join_as(student, room.klass.code, nickname)
    send(student.page, question)
    wait_answer(student.page, 1)
    expect(student.page.locator(".msg.user .body")).to_have_text(question)

    teacher = open_teacher(open_page, classroom.url, room.teacher_key)
    page = teacher.page
    page.wait_for_selector("body[data-conversations='1']")
    expect(page.locator("#students tr th")).to_have_text(nickname)
    page.locator("#conversations .conv-open").click()
    expect(page.locator("#conversation-messages .msg.user .body")).to_have_text(question)
    expect(page.locator("#conversation-meta")).to_contain_text(nickname)
    assert page.locator("#board svg, #board img, #board b").count() == 0  # nothing became markup
    assert page.evaluate("[window.__x, window.__y]") == [None, None]  # nor ran
    for s in (student, teacher):
        assert s.page.evaluate("[window.__x, window.__y]") == [None, None]
        s.context.close()


def test_the_join_form_says_what_went_wrong_on_a_phone(
    open_page: OpenPage, room: Room, classroom: LiveBackend, engine: StubEngine
) -> None:
    httpx.post(f"{classroom.url}/class/join", json={"code": room.klass.code, "nickname": "Ana"})  # Ana is in
    s = open_page(classroom.url, viewport=PHONE, expect_statuses=(404, 409))
    page = s.page
    page.wait_for_selector("body[data-classroom='joining']")
    expect(page.locator("#composer")).to_be_hidden()
    expect(page.get_by_role("heading", name="Join your class")).to_be_visible()
    expect(page.locator("#join-code")).to_be_focused()
    code = page.locator("#join-code")
    assert code.get_attribute("autocapitalize") == "characters"
    assert float(code.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 16  # no zoom on focus
    error = page.locator("#join-error")
    page.click("#join-submit")
    expect(error).to_have_text("Type the class code your teacher gave you.")
    page.fill("#join-code", "ZZZZ-ZZZZ")
    page.fill("#join-nickname", "Ana")
    page.click("#join-submit")
    expect(error).to_have_text("That code is not known: check it with your teacher.")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_be_focused()
    page.fill("#join-code", room.klass.code)
    page.click("#join-submit")
    expect(error).to_have_text("That nickname is taken in this class: choose another.")
    expect(page.locator("#join-nickname")).to_be_focused()
    expect(code).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, "join-phone.png")
    page.fill("#join-nickname", "Bea")
    page.click("#join-submit")
    page.wait_for_selector("body[data-classroom='joined']")
    expect(page.locator("#student-name")).to_have_text("Bea")
    expect(page.locator("#student-class")).to_be_hidden()  # a phone shows the nickname only
    expect(page.locator("#join")).to_be_hidden()
    expect(page.locator("#prompt")).to_be_focused()
    s.context.close()


def test_the_join_form_in_spanish(open_page: OpenPage, room: Room, classroom: LiveBackend) -> None:
    httpx.post(f"{classroom.url}/class/join", json={"code": room.klass.code, "nickname": "Ana"})
    s = open_page(classroom.url, locale="es-ES", expect_statuses=(404, 409))
    page = s.page
    page.wait_for_selector("body[data-classroom='joining']")
    expect(page.get_by_role("heading", name="Únete a tu clase")).to_be_visible()
    expect(page.get_by_label("Código de la clase")).to_be_visible()
    expect(page.get_by_label("Apodo")).to_be_visible()
    page.fill("#join-code", "ZZZZ-ZZZZ")
    page.fill("#join-nickname", "Ana")
    page.click("#join-submit")
    expect(page.locator("#join-error")).to_have_text("Ese código no existe: compruébalo con tu profesor.")
    page.fill("#join-code", room.klass.code)
    page.click("#join-submit")
    expect(page.locator("#join-error")).to_have_text("Ese apodo ya está en uso en esta clase: elige otro.")
    page.fill("#join-nickname", "Bea")
    page.click("#join-submit")
    page.wait_for_selector("body[data-classroom='joined']")
    expect(page.locator("#leave")).to_have_text("Salir")
    page.click("#leave")
    page.wait_for_selector("body[data-classroom='joining']")
    expect(page.locator("#join-note")).to_have_text("Has salido de la clase.")
    s.context.close()


def test_a_student_sees_their_earlier_conversations_from_the_server_and_can_leave(
    open_page: OpenPage, room: Room, classroom: LiveBackend, engine: StubEngine
) -> None:
    s = open_page(classroom.url)
    page = s.page
    join_as(s, room.klass.code, "Ana")
    expect(page.locator("#student-class")).to_have_text("7B science")
    expect(page.locator("#import")).to_be_hidden()
    engine.script(
        Step(chunks=["A cell is ", "the unit of life."]), Step(chunks=["Tissues are ", "groups of cells."])
    )
    send(page, "What is a cell?")
    wait_answer(page, 1)
    send(page, "And a tissue?")
    wait_answer(page, 2)
    assert (
        page.evaluate("localStorage.getItem('edubot.conversations')") is None
    )  # nothing kept in this browser

    load(s)  # a new visit: the conversation comes back from the server
    page.wait_for_selector("body[data-classroom='joined'][data-conversations='1']")
    expect(page.locator("#convs .conv-open")).to_have_text(["New conversation", "What is a cell?"])
    expect(page.locator("#convs .conv-rename, #convs .conv-delete")).to_have_count(0)
    page.locator("#convs .conv-open", has_text="What is a cell?").click()
    expect(page.locator("#messages .msg .body")).to_have_text(
        ["What is a cell?", "A cell is the unit of life.", "And a tissue?", "Tissues are groups of cells."]
    )
    expect(page.locator("#messages .msg.assistant .meta .stats").first).to_contain_text("first token")
    screenshot(page, "student-class.png")
    # asking on goes on in the same conversation of the record
    engine.script(Step(chunks=["Organs are made of tissues."]))
    send(page, "And an organ?")
    wait_answer(page, 3)
    [conversation] = room.store.conversations(student_id=room.store.students(room.klass.id)[0].student.id)
    assert conversation.title == "What is a cell?"

    page.click("#leave")
    page.wait_for_selector("body[data-classroom='joining']")
    expect(page.locator("#join-note")).to_have_text("You left the class.")
    expect(page.locator("#student")).to_be_hidden()
    assert page.evaluate("fetch('class/me').then(r => r.json())")["student"] is None
    s.context.close()


def test_a_class_closed_under_a_student_sends_them_back_to_the_join_form(
    open_page: OpenPage, room: Room, classroom: LiveBackend, engine: StubEngine
) -> None:
    s = open_page(classroom.url, expect_statuses=(401,))
    page = s.page
    join_as(s, room.klass.code, "Ana")
    room.store.set_open(room.klass.name, False)  # `edubot class close`
    # the server sees it within a second (its cache of sessions)
    assert eventually(lambda: page.evaluate("fetch('class/me').then(r => r.json())")["student"] is None)
    send(page, "Still there?")
    page.wait_for_selector("body[data-classroom='joining']")
    expect(page.locator("#join-note")).to_have_text(
        "Your class session has ended (the class may be closed). Join again with the code."
    )
    assert engine.requests == []
    s.context.close()
