"""`edubot eval` against the real backend in front of stub engines: questions asked N at once (a gate engine that
records the most requests in flight), Ctrl-C keeping a partial report, --leaf, --output with html and markdown,
and the backend's faithfulness counted."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edubot_cli.evaluation import run as run_module
from edubot_cli.evaluation.report import Answer, Item
from edubot_cli.evaluation.report import scores as scores_of
from edubot_cli.main import app
from edubot_cli.procgroup import Terminated
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

from .conftest import ROOTS_FILE, SUMS_FILE

MakeBackend = Callable[..., LiveBackend]
CEILING = 60.0
"""Seconds the gate engine holds a request at most (never reached when the client asks N at once)."""
ROOTS_LEAF, SUMS_LEAF = "knowledge/botany/roots", "compositional_skills/maths/sums"


def eval_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["eval", *args])
    return result.exit_code, result.stdout, result.stderr


class GateEngine(StubEngine):
    """Holds every chat request until ``gate`` of them are in flight at once, then lets all through; ``most``
    is the most that were ever in flight together."""

    def __init__(self, gate: int) -> None:
        super().__init__()
        self.gate = gate
        self.in_flight = 0
        self.most = 0
        self.opened = False

    async def _chat(self, receive: Any, send: Any) -> None:
        with self._cond:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.opened = self.opened or self.in_flight >= self.gate
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + CEILING
            while not self.opened and loop.time() < deadline:
                await asyncio.sleep(0.01)
            await super()._chat(receive, send)
        finally:
            with self._cond:
                self.in_flight -= 1


@pytest.mark.parametrize(("flags", "capacity", "expected"), [(["--concurrency", "3"], None, 3), ([], 2, 2)])
def test_questions_are_asked_n_at_once_and_keep_their_order(
    tiny: Path, live_backend: MakeBackend, flags: list[str], capacity: int | None, expected: int
) -> None:
    with GateEngine(gate=expected) as engine:
        engine.default = Step(chunks=["Roots take up water and minerals."])
        backend = live_backend(
            {"taxonomy_path": tiny, "grounding": None, "grounding_answer": "model"},
            [engine.url],
            capacity=capacity,
        )
        code, out, err = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "-f", "json", *flags)
        assert code == 0, err
        assert engine.most == expected  # the default: the backend's capacity from /health
    report = json.loads(out)
    assert report["settings"]["concurrency"] == expected
    assert [item["question"] for item in report["items"]] == [
        "What do roots take up from the soil?",
        "Why do roots have root hairs?",
        "Sam has 2.50 euros.\n\nMaria gives Sam 1.25 euros. How much does Sam have now?",
    ]
    assert [item["results"]["grounded"]["verdict"] for item in report["items"]] == ["right", "wrong", "wrong"]


@pytest.fixture
def backend(tiny: Path, stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    return live_backend(
        {"taxonomy_path": tiny, "grounding": None, "grounding_answer": "model"}, [stub_engine.url]
    )


def interrupt_after(
    monkeypatch: pytest.MonkeyPatch, answers: int, signal: KeyboardInterrupt | None = None
) -> None:
    """Ctrl-C (or ``signal``) in the runner's thread as the ``answers``-th answer comes in."""
    real = run_module.run_jobs

    def run_jobs(jobs: Any, work: Any, *, concurrency: int, on_done: Any = None) -> Any:
        def done(index: int, result: Any) -> None:
            on_done(index, result)
            if len(seen) + 1 == answers:
                raise signal or KeyboardInterrupt()
            seen.append(index)

        seen: list[int] = []
        return real(jobs, work, concurrency=concurrency, on_done=done)

    monkeypatch.setattr(run_module, "run_jobs", run_jobs)


def test_ctrl_c_reports_what_was_finished(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_engine.default = Step(chunks=["Roots take up water and minerals."])
    interrupt_after(monkeypatch, 3)  # the first question in both modes, the second in one
    code, out, err = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--concurrency", "1")
    assert code == 130
    lines = out.splitlines()
    assert lines[:2] == [
        "Partial report: interrupted after 1 of 3 questions (answered in every mode).",
        "Right answers: 100% grounded (1 of 1), 100% ungrounded (1 of 1)",
    ]
    [record] = sorted(Path("datasets").glob("edubot-run-eval-*.json"))
    assert lines[-1] == f"run record: {record.absolute()}"
    stored = json.loads(record.read_text(encoding="utf-8"))
    assert (stored["partial"], stored["asked"], stored["total"]) == (True, 1, 3)
    assert [item["question"] for item in stored["items"]] == ["What do roots take up from the soil?"]
    assert stored["overall"]["grounded"]["questions"] == 1
    assert "Traceback" not in out + err


@pytest.mark.parametrize(("stop", "status"), [(KeyboardInterrupt(), 130), (Terminated(signal.SIGTERM), 143)])
def test_an_interruption_in_json(
    tiny: Path,
    backend: LiveBackend,
    stub_engine: StubEngine,
    monkeypatch: pytest.MonkeyPatch,
    stop: KeyboardInterrupt,
    status: int,
) -> None:
    interrupt_after(monkeypatch, 1, stop)
    code, out, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--concurrency", "1", "-f", "json")
    assert code == status
    report = json.loads(out)
    assert (report["partial"], report["asked"], report["total"], report["items"]) == (True, 0, 3, [])
    assert report["overall"]["grounded"]["right"] is None


@pytest.mark.parametrize(
    ("leaves", "files"),
    [
        (["knowledge/botany/roots"], [ROOTS_FILE, ROOTS_FILE]),
        (["knowledge/botany/"], [ROOTS_FILE, ROOTS_FILE]),
        (["knowledge"], [ROOTS_FILE, ROOTS_FILE]),
        (["compositional_skills/maths/sums/qna.yaml"], [SUMS_FILE]),
        ([SUMS_LEAF, ROOTS_LEAF], [ROOTS_FILE, ROOTS_FILE, SUMS_FILE]),
    ],
)
def test_leaf_asks_only_those_leaves(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine, leaves: list[str], files: list[str]
) -> None:
    flags = [part for leaf in leaves for part in ("--leaf", leaf)]
    code, out, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--grounded", "-f", "json", *flags)
    assert code == 0
    report = json.loads(out)
    assert [item["file"] for item in report["items"]] == files
    assert report["settings"]["leaves"] == leaves
    assert len(stub_engine.requests) == len(files)


def test_leaf_as_a_path_from_the_working_folder(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tiny.parent)
    code, out, _ = eval_cli(
        "--url",
        backend.url,
        "--taxonomy",
        "taxonomy",
        "--grounded",
        "-f",
        "json",
        "--leaf",
        "taxonomy/knowledge",
    )
    assert code == 0
    assert [item["file"] for item in json.loads(out)["items"]] == [ROOTS_FILE, ROOTS_FILE]


@pytest.mark.parametrize(
    ("leaf", "hint"),
    [
        ("knowledge/botany/root", "hint: close matches: knowledge/botany/roots, knowledge/botany, knowledge"),
        ("knowledge/bot", "hint: close matches: knowledge/botany, knowledge, knowledge/botany/roots"),
        (
            "history",
            "hint: leaves with questions: compositional_skills/maths/sums, knowledge/botany/roots",
        ),
    ],
)
def test_an_unknown_leaf_is_one_error_before_anything_is_asked(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine, leaf: str, hint: str
) -> None:
    code, out, err = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--leaf", leaf)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: --leaf '{leaf}' matches no leaf with questions to ask in {tiny}",
        hint,
    ]
    assert stub_engine.requests == []


def test_a_skill_leaf_has_no_held_out_questions(tiny: Path) -> None:
    code, _, err = eval_cli("--local", "--holdout", "1", "--taxonomy", str(tiny), "--leaf", SUMS_LEAF)
    assert code == 1
    assert err.splitlines() == [
        f"error: --leaf '{SUMS_LEAF}' matches no leaf with questions to ask in {tiny}",
        "hint: leaves with questions: knowledge/botany/roots",
    ]


GOOD = [
    "Roots take up water and minerals [1].",
    "Roots take up sunlight.",
    "Root hairs give a <b>large</b> surface, as Darwin saw [1].",
    "To look nice & *tidy*.",
    "Sam has 3.75 euros [1].",
    "I don't know.",
]


@pytest.mark.parametrize(("fmt", "suffix"), [("html", ".html"), ("markdown", ".md"), ("json", ".json")])
def test_output_writes_the_report_and_never_overwrites_without_force(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine, tmp_path: Path, fmt: str, suffix: str
) -> None:
    target = tmp_path / f"report{suffix}"
    stub_engine.script(*(Step(chunks=[text]) for text in GOOD))
    args = ["--url", backend.url, "--taxonomy", str(tiny), "--concurrency", "1", "-f", fmt, "-o", str(target)]
    code, out, err = eval_cli(*args)
    assert code == 0
    assert out.splitlines() == [
        "Right answers: 67% grounded (2 of 3), 0% ungrounded (0 of 3)",
        "Partly right: 33% grounded, 0% ungrounded; wrong: 0% grounded, 100% ungrounded",
        "Factoid questions (1): right 100% grounded, 0% ungrounded",
        "Faithfulness (grounded): 3 unchecked",
        f"report: {target}",
    ]
    assert err.startswith("run record: ")
    text = target.read_text(encoding="utf-8")
    assert text.endswith("\n")
    if fmt == "html":
        assert "Root hairs give a &lt;b&gt;large&lt;/b&gt; surface" in text and "<b>" not in text
    elif fmt == "markdown":
        assert "> To look nice \\& \\*tidy\\*." in text
    else:
        assert json.loads(text)["asked"] == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    target.write_text("the teacher's notes", encoding="utf-8")
    assert eval_cli(*args) == (1, "", f"error: {target} already exists\nhint: pass --force to overwrite it\n")
    assert target.read_text(encoding="utf-8") == "the teacher's notes"
    assert len(stub_engine.requests) == 6  # refused before anything was asked
    stub_engine.script(*(Step(chunks=[text]) for text in GOOD))
    assert eval_cli(*args, "--force")[0] == 0
    assert target.read_text(encoding="utf-8")[:20] == text[:20]


def test_output_errors(tiny: Path, tmp_path: Path) -> None:
    assert eval_cli("--taxonomy", str(tiny), "-o", str(tmp_path / "r.txt")) == (
        2,
        "",
        "error: --output writes the json, html or markdown report\nhint: add --format html (or json, markdown)\n",
    )
    missing = tmp_path / "nowhere" / "r.html"
    assert eval_cli("--taxonomy", str(tiny), "-f", "html", "-o", str(missing)) == (
        1,
        "",
        f"error: the folder of {missing} does not exist\nhint: create it, or write the report elsewhere\n",
    )


def test_faithfulness_is_counted_per_mode() -> None:
    from edubot_cli.assessment.questions import Question

    def item(*words: str | None) -> Item:
        q = Question("k", "k/qna.yaml", 1, "knowledge", "x", "x", "Why?", "Because.")
        return Item(q, {"grounded": Answer(text="a", verdict="right", faithfulness=words[0])})

    items = [item("checked"), item("repaired"), item("checked"), item(None)]
    assert scores_of(items, "grounded")["faithfulness"] == {"checked": 2, "repaired": 1}
    assert scores_of(items[3:], "grounded")["faithfulness"] == {}


@pytest.mark.parametrize(("value", "kept"), [('"repaired"', "repaired"), ("7", None), (None, None)])
def test_the_done_event_gives_the_answer_its_faithfulness(value: str | None, kept: str | None) -> None:
    from types import SimpleNamespace

    from edubot_cli.chat.stream import BackendChatStream

    stream = BackendChatStream(SimpleNamespace(base_url="http://h"), {"max_tokens": 8})  # type: ignore[arg-type]
    extra = "" if value is None else f', "faithfulness": {value}'
    stream._parse_line('data: {"done": true, "usage": {"completion_tokens": 3}' + extra + "}")
    assert stream.faithfulness == kept


def test_each_item_lists_its_modes_in_order_whatever_order_they_finish_in(
    tiny: Path, backend: LiveBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = run_module.run_jobs

    def last_first(jobs: Any, work: Any, *, concurrency: int, on_done: Any = None) -> Any:
        finished = real(jobs, work, concurrency=concurrency, on_done=on_done)
        finished.results = dict(reversed(list(finished.results.items())))
        return finished

    monkeypatch.setattr(run_module, "run_jobs", last_first)
    code, out, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "-f", "json")
    assert code == 0
    items = json.loads(out)["items"]
    assert [list(item["results"]) for item in items] == [["grounded", "ungrounded"]] * 3
    assert [item["line"] for item in items] == [10, 14, 5]
