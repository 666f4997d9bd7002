"""`edubot class ...` through the CLI: exact output, JSON, exit codes, and the one error path."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from edubot_cli.classroom.store import Store
from edubot_cli.config import load_settings
from edubot_cli.main import app

T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with a taxonomy that has knowledge/science, and no EDUBOT_* variables."""
    for name in list(os.environ):
        if name.startswith("EDUBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taxonomy" / "knowledge" / "science").mkdir(parents=True)
    monkeypatch.setattr("edubot_cli.serving.network_urls", _network_urls)
    return tmp_path


def _network_urls(host: str, port: int) -> list[str]:
    """This machine's addresses, fixed for the tests: one for a wildcard host, none for loopback."""
    return [f"http://192.168.1.20:{port}"] if host in ("0.0.0.0", "::") else []


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["class", *args], prog_name="edubot", input=input)


def store() -> Store:
    return Store.open(load_settings())


def code_of(name: str) -> str:
    with store() as s:
        return s.get_class(name).code


def seat_of(token: str) -> object:
    with store() as s:
        return s.seat(token)


def test_create_prints_the_code_and_the_address(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_HOST", "0.0.0.0")
    r = invoke(
        "create", "7B science", "--mode", "hints", "--scope", "knowledge/science", "--daily-limit", "30"
    )
    assert (r.exit_code, r.stderr) == (0, "")
    code = code_of("7b science")
    assert r.stdout == (
        "7B science (open) · mode hints · scope knowledge/science · 30 questions a day\n"
        f"Join code: {code}\n"
        "Students open: http://192.168.1.20:8000\n"
    )
    assert (here / "data" / "edubot.sqlite3").is_file()


def test_create_on_loopback_says_how_students_reach_it(here: Path) -> None:
    r = invoke("create", "7B")
    assert r.exit_code == 0
    assert r.stdout == (
        f"7B (open) · mode answer · scope the whole taxonomy · no daily limit\nJoin code: {code_of('7B')}\n"
    )
    assert r.stderr == (
        "note: the backend listens on 127.0.0.1 only (this machine): students need `edubot serve --host 0.0.0.0`, "
        "then they open http://192.168.1.20:8000\n"
    )


def test_create_json(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_PORT", "9000")
    r = invoke("create", "7B", "--format", "json")
    assert r.exit_code == 0
    with store() as s:
        info = s.get_class("7B")
    assert json.loads(r.stdout) == {
        "class": {
            "id": info.id,
            "name": "7B",
            "code": info.code,
            "mode": "answer",
            "scope": [],
            "daily_limit": None,
            "open": True,
            "created": info.created.isoformat(),
        },
        "urls": [],
        "note": "the backend listens on 127.0.0.1 only (this machine): students need `edubot serve --host "
        "0.0.0.0`, then they open http://192.168.1.20:9000",
    }


def test_create_errors(here: Path) -> None:
    assert invoke("create", "7B").exit_code == 0
    r = invoke("create", "7b")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (
        "error: a class named '7b' already exists\nhint: pick another name; `edubot class list` shows the classes\n"
    )
    r = invoke("create", "8C", "--scope", "knowledge/history")
    assert r.exit_code == 1
    assert r.stderr == (
        "error: scope 'knowledge/history' is not a folder of the taxonomy at taxonomy\n"
        "hint: `edubot taxonomy list` shows its folders; or set taxonomy_path\n"
    )
    r = invoke("create", "8C", "--mode", "lecture")
    assert r.exit_code == 2 and "Invalid value for '--mode'" in r.stderr
    r = invoke("create", "8C", "--daily-limit", "0")
    assert r.exit_code == 2 and "Invalid value for '--daily-limit'" in r.stderr
    with store() as s:
        assert [c.name for c in s.classes()] == ["7B"]


def test_list(here: Path) -> None:
    r = invoke("list")
    assert (r.exit_code, r.stdout) == (0, 'No classes yet: `edubot class create "7B science"` makes one.\n')
    assert json.loads(invoke("list", "-f", "json").stdout) == {"classes": []}
    invoke("create", "7B", "--daily-limit", "5")
    invoke("create", "8C", "--scope", "knowledge/science")
    invoke("close", "8C")
    with store() as s:
        s.join(s.get_class("7B").code, "Ana")
        infos = s.classes()
    r = invoke("list")
    assert r.exit_code == 0
    rows = [[cell.strip() for cell in line.split("│")] for line in r.stdout.splitlines()[2:]]
    created = [info.created.astimezone().strftime("%Y-%m-%d %H:%M") for info in infos]
    assert rows == [
        ["7B", infos[0].code, "open", "answer", "1", "5", "-", created[0]],
        ["8C", infos[1].code, "closed", "answer", "0", "-", "knowledge/science", created[1]],
    ]
    listed = json.loads(invoke("list", "--format", "json").stdout)["classes"]
    assert [(c["name"], c["open"], c["students"], c["scope"]) for c in listed] == [
        ("7B", True, 1, []),
        ("8C", False, 0, ["knowledge/science"]),
    ]


def _history() -> dict[str, Any]:
    """Class 7B: Ana asked and got an answer (on T0), Bo asked two days later; class 8C has Zoe."""
    with store() as s:
        klass = s.create_class("7B")
        other = s.create_class("8C")
        ana, _ = s.join(klass.code, "Ana")
        bo, _ = s.join(klass.code, "Bo")
        zoe, _ = s.join(other.code, "Zoe")
        a = s.new_conversation(ana.student.id)
        s.add_message(a, "user", 'Why is the sky "blue"?', mode="answer", created=T0)
        s.add_message(
            a,
            "assistant",
            "Light scatters,\nblue most.",
            sources=[{"path": "knowledge/science/light/qna.yaml"}],
            mode="answer",
            grounded=True,
            prompt_tokens=40,
            completion_tokens=6,
            first_token_s=0.2,
            latency_s=0.8,
            finish_reason="stop",
            flags=["a", "b"],
            created=T0 + timedelta(seconds=2),
        )
        b = s.new_conversation(bo.student.id)
        s.add_message(b, "user", "2+2?", created=T0 + timedelta(days=2))
        z = s.new_conversation(zoe.student.id)
        s.add_message(z, "user", "not 7B", created=T0)
        return {"a": a, "b": b, "ids": [r["id"] for r in s.export("7B")]}


def test_show(here: Path) -> None:
    made = _history()
    with store() as s:
        info = s.get_class("7B")
        ana, bo = s.students(info.id)
    r = invoke("show", "7b")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[:3] == [
        "7B (open) · mode answer · scope the whole taxonomy · no daily limit",
        f"Join code: {info.code}",
        "Today: 0 questions from 0 students, 0 answers without grounding, 0 refusals",
    ]

    def local(moment: datetime) -> str:
        return moment.astimezone().strftime("%Y-%m-%d %H:%M")

    rows = [[cell.strip() for cell in line.split("│")] for line in lines[5:]]
    assert rows == [
        ["Ana", local(ana.student.created), local(T0 + timedelta(seconds=2)), "2", "1"],
        ["Bo", local(bo.student.created), local(T0 + timedelta(days=2)), "1", "0"],
    ]
    shown = json.loads(invoke("show", "7B", "--format", "json").stdout)
    assert shown["students"][0] == {
        "id": ana.student.id,
        "nickname": "Ana",
        "joined": ana.student.created.isoformat(),
        "last_active": (T0 + timedelta(seconds=2)).isoformat(),
        "messages": 2,
        "flags": 1,
    }
    assert shown["today"] == {
        "questions_today": 0,
        "active_students": 0,
        "ungrounded_answers": 0,
        "refusals": 0,
    }
    assert len(made["ids"]) == 3


def test_close_reopen_rotate(here: Path) -> None:
    invoke("create", "7B")
    code = code_of("7B")
    with store() as s:
        _, token = s.join(code, "Ana")
    r = invoke("close", "7b")
    assert (r.exit_code, r.stdout) == (
        0,
        "Closed 7B: students can no longer join or chat, and every session ended.\n",
    )
    assert seat_of(token) is None
    r = invoke("reopen", "7B")
    assert (r.exit_code, r.stdout) == (0, f"Reopened 7B: students join with code {code}.\n")
    r = invoke("rotate-code", "7B")
    new = code_of("7B")
    assert new != code
    assert (r.exit_code, r.stdout) == (0, f"New join code for 7B: {new} (the old code no longer works).\n")
    for command, is_open in (("close", False), ("reopen", True), ("rotate-code", True)):
        r = invoke(command, "7B", "--format", "json")
        shown = json.loads(r.stdout)["class"]
        assert (shown["name"], shown["open"], shown["code"]) == ("7B", is_open, code_of("7B"))


@pytest.mark.parametrize(
    "args",
    [
        ["show", "9Z"],
        ["close", "9Z"],
        ["reopen", "9Z"],
        ["rotate-code", "9Z"],
        ["export", "9Z"],
        ["purge", "9Z", "--yes"],
        ["show", "9Z", "--format", "json"],
    ],
)
def test_an_unknown_class_is_one_error(here: Path, args: list[str]) -> None:
    r = invoke(*args)
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == "error: no class named '9Z'\nhint: `edubot class list` shows the classes\n"


def test_teacher_key(here: Path) -> None:
    r = invoke("teacher-key")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "Teacher key (shown only now: keep it somewhere safe):"
    key = lines[1]
    assert len(key) == 43
    assert lines[2:] == ["Open http://127.0.0.1:8000/teacher and type it."]
    with store() as s:
        assert s.teacher_login(key) is not None
        made = s.teacher_key_info()
    assert made is not None
    r = invoke("teacher-key")
    assert (r.exit_code, r.stdout) == (
        0,
        f"A teacher key exists (made {made.astimezone().strftime('%Y-%m-%d %H:%M')}); it is stored hashed and "
        "cannot be shown again.\n`edubot class teacher-key --rotate` makes a new one (the old one stops working).\n",
    )
    assert key not in (here / "data" / "edubot.sqlite3").read_bytes().decode("latin-1")
    r = invoke("teacher-key", "--rotate", "--format", "json")
    shown = json.loads(r.stdout)
    assert shown["key"] != key and len(shown["key"]) == 43
    assert shown["page"] == "http://127.0.0.1:8000/teacher"
    with store() as s:
        assert s.teacher_login(key) is None
        assert s.teacher_login(shown["key"]) is not None
        assert shown["created"] == s.teacher_key_info().isoformat()  # type: ignore[union-attr]
    assert json.loads(invoke("teacher-key", "-f", "json").stdout)["key"] is None


def _expected_rows(made: dict[str, Any]) -> list[dict[str, Any]]:
    empty = {
        "sources": [],
        "mode": None,
        "grounded": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "first_token_s": None,
        "latency_s": None,
        "finish_reason": None,
        "flags": [],
    }
    q, r, s = made["ids"]
    return [
        {
            "id": q,
            "class": "7B",
            "student": "Ana",
            "conversation": made["a"],
            "role": "user",
            "text": 'Why is the sky "blue"?',
            **empty,
            "mode": "answer",
            "time": "2026-03-02T08:30:00+00:00",
        },
        {
            "id": r,
            "class": "7B",
            "student": "Ana",
            "conversation": made["a"],
            "role": "assistant",
            "text": "Light scatters,\nblue most.",
            "sources": [{"path": "knowledge/science/light/qna.yaml"}],
            "mode": "answer",
            "grounded": True,
            "prompt_tokens": 40,
            "completion_tokens": 6,
            "first_token_s": 0.2,
            "latency_s": 0.8,
            "finish_reason": "stop",
            "flags": ["a", "b"],
            "time": "2026-03-02T08:30:02+00:00",
        },
        {
            "id": s,
            "class": "7B",
            "student": "Bo",
            "conversation": made["b"],
            "role": "user",
            "text": "2+2?",
            **empty,
            "time": "2026-03-04T08:30:00+00:00",
        },
    ]


def test_export_jsonl_to_stdout(here: Path) -> None:
    made = _history()
    r = invoke("export", "7B")
    assert (r.exit_code, r.stderr) == (0, "")
    assert [json.loads(line) for line in r.stdout.splitlines()] == _expected_rows(made)
    r = invoke("export", "7B", "--since", "2026-03-03T00:00Z")
    assert [json.loads(line) for line in r.stdout.splitlines()] == _expected_rows(made)[2:]


def test_export_csv(here: Path) -> None:
    made = _history()
    r = invoke("export", "7B", "--format", "csv")
    assert r.exit_code == 0
    q, a, s = made["ids"]
    conv_a, conv_b = made["a"], made["b"]
    assert r.stdout == (
        "id,class,student,conversation,role,text,sources,mode,grounded,prompt_tokens,completion_tokens,"
        "first_token_s,latency_s,finish_reason,flags,time\n"
        f'{q},7B,Ana,{conv_a},user,"Why is the sky ""blue""?",,answer,,,,,,,,2026-03-02T08:30:00+00:00\n'
        f'{a},7B,Ana,{conv_a},assistant,"Light scatters,\nblue most.","[{{""path"": '
        f'""knowledge/science/light/qna.yaml""}}]",answer,true,40,6,0.2,0.8,stop,a;b,2026-03-02T08:30:02+00:00\n'
        f"{s},7B,Bo,{conv_b},user,2+2?,,,,,,,,,,2026-03-04T08:30:00+00:00\n"
    )
    parsed = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["text"] for row in parsed] == [
        'Why is the sky "blue"?',
        "Light scatters,\nblue most.",
        "2+2?",
    ]


def test_export_to_a_file(here: Path) -> None:
    made = _history()
    r = invoke("export", "7B", "-o", "out.jsonl")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "wrote 3 messages to out.jsonl\n")
    target = here / "out.jsonl"
    assert [json.loads(line) for line in target.read_text().splitlines()] == _expected_rows(made)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    r = invoke("export", "7B", "-o", "out.jsonl", "--format", "csv")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (
        "error: out.jsonl: already exists\nhint: pass --force to replace it, or choose another -o FILE\n"
    )
    assert target.read_text().startswith("{")  # untouched
    r = invoke("export", "7B", "-o", "out.jsonl", "--format", "csv", "--force", "--since", "2026-03-04")
    assert r.exit_code == 0
    assert target.read_text().splitlines()[1].endswith(",2026-03-04T08:30:00+00:00")
    r = invoke("export", "9Z", "-o", "other.jsonl")
    assert r.exit_code == 1 and not (here / "other.jsonl").exists()
    assert sorted(p.name for p in here.iterdir()) == ["data", "out.jsonl", "taxonomy"]  # no temp file left
    r = invoke("export", "7B", "-o", "missing/out.jsonl")
    assert r.stderr == "error: missing: no such folder\nhint: create it first, or choose another -o FILE\n"


def test_export_bad_since(here: Path) -> None:
    _history()
    r = invoke("export", "7B", "--since", "last week")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "error: invalid date 'last week' for --since\nhint: write a date as YYYY-MM-DD, or a time as "
        "YYYY-MM-DDTHH:MM\n"
    )


def _texts() -> list[str]:
    with store() as s:
        return [r["text"] for r in s.export("7B")]


def test_purge_needs_a_confirmation(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _history()
    r = invoke("purge", "7B")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "error: purge would delete every message in 7B: confirm with --yes\n"
        "hint: nothing was deleted; run it on a terminal to be asked, or add --yes\n"
    )
    monkeypatch.setattr("edubot_cli.commands.classroom._interactive", lambda: True)
    r = invoke("purge", "7B", "--student", "ana", input="n\n")
    assert r.exit_code == 1
    assert (
        r.stdout == "Delete every message of 'ana' in 7B? This cannot be undone. [y/N]: n\n"
    )  # input echoed
    assert r.stderr == "nothing deleted\n"
    assert len(_texts()) == 3
    r = invoke("purge", "7B", "--student", "ana", input="y\n")
    assert r.exit_code == 0
    assert r.stdout.endswith("[y/N]: y\nRemoved 2 messages from 7B.\n")
    assert _texts() == ["2+2?"]


def test_purge_by_age_student_and_all(here: Path) -> None:
    _history()
    r = invoke("purge", "7B", "--older-than", "100000d", "--yes")
    assert (r.exit_code, r.stdout) == (0, "Removed 0 messages from 7B.\n")
    r = invoke("purge", "7B", "--older-than", "1d", "--yes")  # T0 is long ago
    assert (r.exit_code, r.stdout) == (0, "Removed 3 messages from 7B.\n")
    with store() as s:
        for summary in _students("7B"):
            s.add_message(s.new_conversation(summary.student.id), "user", "hi")
    r = invoke("purge", "7B", "--student", "Zed", "--yes")
    assert (r.exit_code, r.stderr) == (
        1,
        "error: no student 'Zed' in class '7B'\nhint: `edubot class show 7B` lists its students\n",
    )
    r = invoke("purge", "7B", "--student", "BO", "-y")
    assert (r.exit_code, r.stdout) == (0, "Removed 1 message from 7B.\n")
    assert [s.student.nickname for s in _students("7B")] == ["Ana"]
    r = invoke("purge", "7B", "--yes")
    assert (r.exit_code, r.stdout) == (0, "Removed 1 message from 7B.\n")
    with store() as s:
        assert [r["text"] for r in s.export("8C")] == ["not 7B"]


def _students(name: str) -> list[Any]:
    with store() as s:
        return s.students(s.get_class(name).id)


def test_purge_bad_duration(here: Path) -> None:
    _history()
    r = invoke("purge", "7B", "--older-than", "3 fortnights", "--yes")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == (
        "error: invalid duration '3 fortnights' for --older-than\n"
        "hint: write a number and a unit: 30d, 12h, 2w or 90m\n"
    )
    assert len(_texts()) == 3


def test_the_commands_on_postgresql(here: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_DATABASE_URL", postgres_url)
    assert invoke("create", "6A").exit_code == 0
    assert [c["name"] for c in json.loads(invoke("list", "-f", "json").stdout)["classes"]] == ["6A"]
    made = _history()
    r = invoke("export", "7B")
    assert [json.loads(line) for line in r.stdout.splitlines()] == _expected_rows(made)
    assert invoke("purge", "7B", "--yes").stdout == "Removed 3 messages from 7B.\n"
    assert not (here / "data").exists()  # nothing written beside: the record is in PostgreSQL
