"""`edubot eval` against the real backend in front of the stub engine: the table, the JSON report and its schema,
--compare, the judge, the run record, and the error paths (one message, exit code 1, nothing asked)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edubot_cli.assessment.judge import JUDGE_KEY_ENV
from edubot_cli.main import app
from edubot_cli.procgroup import free_port
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import Step, StubEngine

from .conftest import ROOTS_FILE, SUMS_FILE

MakeBackend = Callable[..., LiveBackend]
GOOD = [  # grounded, ungrounded, for each question in order
    "Roots take up water and minerals [1].",
    "Roots take up sunlight.",
    "Root hairs give a large surface, as Darwin saw [1].",
    "To look nice.",
    "Sam has 3.75 euros [1].",
    "Sam has 4 euros.",
]


def eval_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["eval", "--concurrency", "1", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def backend(tiny: Path, stub_engine: StubEngine, live_backend: MakeBackend) -> LiveBackend:
    return live_backend(
        {"taxonomy_path": tiny, "grounding": None, "grounding_answer": "model"}, [stub_engine.url]
    )


def answer(stub: StubEngine, *texts: str) -> None:
    stub.script(*(Step(chunks=[text]) for text in texts))


def records(folder: Path) -> list[Path]:
    return sorted(folder.glob("edubot-run-eval-*.json"))


TABLE = [
    "Right answers: 67% grounded (2 of 3), 0% ungrounded (0 of 3)",
    "Partly right: 33% grounded, 0% ungrounded; wrong: 0% grounded, 100% ungrounded",
    "Factoid questions (1): right 100% grounded, 0% ungrounded",
    "Faithfulness (grounded): 3 unchecked",
    "",
    "edubot eval (grounded / ungrounded)",
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓",
    "┃ leaf                            ┃ questions ┃   right   ┃     F1      ┃ content recall ┃   numbers   ┃    names    ┃ cited right ┃",
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩",
    "│ knowledge/botany/roots          │         2 │ 50% / 0%  │ 0.93 / 0.30 │  0.92 / 0.00   │    – / –    │ 0.50 / 0.00 │        100% │",
    "│ compositional_skills/maths/sums │         1 │ 100% / 0% │ 0.80 / 0.60 │  1.00 / 0.00   │ 0.33 / 0.00 │    – / –    │        100% │",
    "├─────────────────────────────────┼───────────┼───────────┼─────────────┼────────────────┼─────────────┼─────────────┼─────────────┤",
    "│ all                             │         3 │ 67% / 0%  │ 0.89 / 0.40 │  0.94 / 0.00   │ 0.33 / 0.00 │ 0.50 / 0.00 │        100% │",
    "└─────────────────────────────────┴───────────┴───────────┴─────────────┴────────────────┴─────────────┴─────────────┴─────────────┘",
    "3 questions; content recall 0.94 grounded, 0.00 ungrounded; right leaf cited 100%; 0 errors",
]  # fmt: skip
HEADER = 7  # the summary lines (right, partly, factoid, faithfulness), a blank line, the title, the top rule
"""The table's header line in the output."""


def test_the_table_the_summary_and_the_run_record(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine
) -> None:
    answer(stub_engine, *GOOD)
    code, out, err = eval_cli("--url", backend.url, "--taxonomy", str(tiny))
    assert (code, err) == (0, "")
    [record] = records(Path("datasets"))
    assert out.splitlines() == [*TABLE, f"run record: {record.absolute()}"]
    data = json.loads(record.read_text(encoding="utf-8"))
    assert (data["schema_version"], data["kind"]) == (1, "edubot-eval")
    assert data["overall"]["grounded"]["content_recall"] == 0.9444
    assert isinstance(data["command"], list)  # the command line (sys.argv)


def test_what_each_mode_asks_the_engine(tiny: Path, backend: LiveBackend, stub_engine: StubEngine) -> None:
    answer(stub_engine, *GOOD)
    code, _, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--max-tokens", "40")
    assert code == 0
    grounded, ungrounded = stub_engine.requests[0], stub_engine.requests[1]
    for request in (grounded, ungrounded):
        assert (request["temperature"], request["max_tokens"]) == (0.0, 40)
    assert grounded["messages"][-1]["content"].startswith("Notes:\n\n[1] Roots take up water")
    assert grounded["messages"][-1]["content"].endswith("\n\nQuestion: What do roots take up from the soil?")
    assert ungrounded["messages"][-1] == {"role": "user", "content": "What do roots take up from the soil?"}
    assert stub_engine.requests[4]["messages"][-1]["content"].endswith(
        "Question: Sam has 2.50 euros.\n\nMaria gives Sam 1.25 euros. How much does Sam have now?"
    )


@pytest.mark.parametrize(("flag", "mode"), [("--grounded", "grounded"), ("--ungrounded", "ungrounded")])
def test_one_mode(tiny: Path, backend: LiveBackend, stub_engine: StubEngine, flag: str, mode: str) -> None:
    answer(stub_engine, *(GOOD[0::2] if mode == "grounded" else GOOD[1::2]))
    code, out, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), flag, "-f", "json")
    assert code == 0
    report = json.loads(out)
    assert report["settings"]["modes"] == [mode]
    assert list(report["overall"]) == [mode]
    assert len(stub_engine.requests) == 3
    cited = 1.0 if mode == "grounded" else None
    assert report["overall"][mode]["cited_leaf"] == cited
    _, table, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), flag)
    [header] = [line for line in table.splitlines() if line.startswith("┃ leaf ")]
    assert ("cited right" in header) is (mode == "grounded")


SCORES = [
    "questions", "answered", "errors", "right", "partly", "wrong", "factoid_questions", "factoid_right",
    "faithfulness", "f1", "content_recall", "numbers", "names", "cited_leaf", "cited_passage",
    "judge", "judge_errors",
]  # fmt: skip


def test_the_json_report_schema(tiny: Path, backend: LiveBackend, stub_engine: StubEngine) -> None:
    answer(stub_engine, *GOOD)
    code, out, err = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--format", "json")
    assert code == 0
    [record] = records(Path("datasets"))
    assert err == f"run record: {record.absolute()}\n"
    report = json.loads(out)
    assert list(report) == [
        "schema_version", "kind", "started_at", "finished_at", "edubot_version", "target", "taxonomy",
        "settings", "partial", "asked", "total", "overall", "leaves", "items",
    ]  # fmt: skip
    assert (report["partial"], report["asked"], report["total"]) == (False, 3, 3)
    assert (report["schema_version"], report["kind"]) == (1, "edubot-eval")
    assert report["target"] == {"url": backend.url, "local": False}
    assert list(report["taxonomy"]) == ["path", "hash"] and report["taxonomy"]["hash"].startswith("sha256:")
    assert report["settings"] == {
        "modes": ["grounded", "ungrounded"],
        "holdout": 0,
        "max_tokens": 128,
        "temperature": 0.0,
        "judge": None,
        "concurrency": 1,
        "leaves": None,
    }
    assert report["overall"] == {
        "grounded": {
            "questions": 3, "answered": 3, "errors": 0, "right": 0.6667, "partly": 0.3333, "wrong": 0.0,
            "factoid_questions": 1, "factoid_right": 1.0, "faithfulness": {"unchecked": 3}, "f1": 0.8857, "content_recall": 0.9444,
            "numbers": 0.3333, "names": 0.5, "cited_leaf": 1.0, "cited_passage": 1.0, "judge": None,
            "judge_errors": 0,
        },
        "ungrounded": {
            "questions": 3, "answered": 3, "errors": 0, "right": 0.0, "partly": 0.0, "wrong": 1.0,
            "factoid_questions": 1, "factoid_right": 0.0, "faithfulness": {"unchecked": 3}, "f1": 0.4, "content_recall": 0.0, "numbers": 0.0,
            "names": 0.0, "cited_leaf": None, "cited_passage": None, "judge": None, "judge_errors": 0,
        },
    }  # fmt: skip
    assert [(leaf["leaf"], leaf["kind"], list(leaf["scores"])) for leaf in report["leaves"]] == [
        ("knowledge/botany/roots", "knowledge", ["grounded", "ungrounded"]),
        ("compositional_skills/maths/sums", "skill", ["grounded", "ungrounded"]),
    ]
    assert all(list(s) == SCORES for leaf in report["leaves"] for s in leaf["scores"].values())
    first = report["items"][0]
    grounded = first["results"]["grounded"]
    assert grounded.pop("latency_seconds") >= 0
    assert first == {
        "leaf": "knowledge/botany/roots",
        "file": ROOTS_FILE,
        "line": 10,
        "kind": "knowledge",
        "yaml_path": "seed_examples[0].questions_and_answers[0]",
        "question": "What do roots take up from the soil?",
        "reference": "Roots take up water and minerals.",
        "factoid": False,
        "results": first["results"],
    }
    assert grounded == {
        "answer": "Roots take up water and minerals [1].",
        "error": None,
        "verdict": "right",
        "f1": 1.0,
        "content_recall": 1.0,
        "numbers": None,
        "names": None,
        "cited_leaf": True,
        "cited_passage": True,
        "sources": [f"{ROOTS_FILE}#seed_examples[0].context"],
        "source_titles": ["Botany: Roots take up water and minerals from the…"],
        "faithfulness": "unchecked",
        "completion_tokens": 1,
        "judge": None,
    }
    assert first["results"]["ungrounded"]["sources"] == []
    assert first["results"]["ungrounded"]["cited_leaf"] is None
    assert [item["file"] for item in report["items"]] == [ROOTS_FILE, ROOTS_FILE, SUMS_FILE]
    stored = json.loads(record.read_text(encoding="utf-8"))
    first["results"]["grounded"]["latency_seconds"] = stored["items"][0]["results"]["grounded"][
        "latency_seconds"
    ]
    assert stored == {**report, "command": stored["command"]}


COMPARED = [
    "compared with {old}",
    "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓",
    "┃ leaf                            ┃ mode       ┃             right ┃                  F1 ┃      content recall ┃             numbers ┃               names ┃       cited right ┃",
    "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩",
    "│ knowledge/botany/roots          │ grounded   │   50% → 50% (+0%) │ 0.93 → 0.93 (+0.00) │ 0.92 → 0.92 (+0.00) │                     │ 0.50 → 0.50 (+0.00) │ 100% → 100% (+0%) │",
    "│ knowledge/botany/roots          │ ungrounded │     0% → 0% (+0%) │ 0.30 → 0.30 (+0.00) │ 0.00 → 0.00 (+0.00) │                     │ 0.00 → 0.00 (+0.00) │                   │",
    "│ compositional_skills/maths/sums │ grounded   │ 100% → 100% (+0%) │ 0.80 → 0.80 (+0.00) │ 1.00 → 1.00 (+0.00) │ 0.33 → 0.33 (+0.00) │                     │ 100% → 100% (+0%) │",
    "│ compositional_skills/maths/sums │ ungrounded │ 0% → 100% (+100%) │ 0.60 → 0.80 (+0.20) │ 0.00 → 1.00 (+1.00) │ 0.00 → 0.33 (+0.33) │                     │                   │",
    "├─────────────────────────────────┼────────────┼───────────────────┼─────────────────────┼─────────────────────┼─────────────────────┼─────────────────────┼───────────────────┤",
    "│ all                             │ grounded   │   67% → 67% (+0%) │ 0.89 → 0.89 (+0.00) │ 0.94 → 0.94 (+0.00) │ 0.33 → 0.33 (+0.00) │ 0.50 → 0.50 (+0.00) │ 100% → 100% (+0%) │",
    "│ all                             │ ungrounded │   0% → 33% (+33%) │ 0.40 → 0.47 (+0.07) │ 0.00 → 0.33 (+0.33) │ 0.00 → 0.33 (+0.33) │ 0.00 → 0.00 (+0.00) │                   │",
    "└─────────────────────────────────┴────────────┴───────────────────┴─────────────────────┴─────────────────────┴─────────────────────┴─────────────────────┴───────────────────┘",
]  # fmt: skip


def test_compare_prints_the_deltas_per_leaf_and_overall(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine, tmp_path: Path
) -> None:
    answer(stub_engine, *GOOD)
    code, out, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "-f", "json")
    old = tmp_path / "before.json"
    old.write_text(out, encoding="utf-8")
    better = [*GOOD[:4], "Sam has 3.75 euros.", "Sam has 3.75 euros."]
    answer(stub_engine, *better)
    code, out, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--compare", str(old))
    assert code == 0
    lines = out.splitlines()
    start = lines.index(f"compared with {old}")
    assert lines[start:-1] == [line.format(old=old) for line in COMPARED]
    assert lines[-1].startswith("run record: ")
    answer(stub_engine, *better)
    code, out, _ = eval_cli(
        "--url", backend.url, "--taxonomy", str(tiny), "--compare", str(old), "-f", "json"
    )
    compared = json.loads(out)["compare"]
    assert compared["against"] == str(old)
    assert compared["overall"][1] == {
        "mode": "ungrounded",
        "deltas": {
            "right": {"before": 0.0, "after": 0.3333, "delta": 0.3333},
            "f1": {"before": 0.4, "after": 0.4667, "delta": 0.0667},
            "content_recall": {"before": 0.0, "after": 0.3333, "delta": 0.3333},
            "numbers": {"before": 0.0, "after": 0.3333, "delta": 0.3333},
            "names": {"before": 0.0, "after": 0.0, "delta": 0.0},
        },
    }
    assert [(e["leaf"], e["mode"]) for e in compared["leaves"]] == [
        ("knowledge/botany/roots", "grounded"),
        ("knowledge/botany/roots", "ungrounded"),
        ("compositional_skills/maths/sums", "grounded"),
        ("compositional_skills/maths/sums", "ungrounded"),
    ]
    # a run record compares as well as a --format json report
    [first, *_] = records(Path("datasets"))
    answer(stub_engine, *GOOD)
    assert eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--compare", str(first))[0] == 0


def test_the_judge_grades_each_answer_and_a_bad_reply_is_an_item_error(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine
) -> None:
    with StubEngine(model="judge-model") as judge:
        judge.script(
            Step(chunks=['{"grade": 5, "reason": "Right."}']),
            Step(chunks=["I would say 2."]),
            *[Step(chunks=['{"grade": 2, "reason": "Half."}'])] * 4,
        )
        answer(stub_engine, *GOOD)
        code, out, _ = eval_cli(
            "--url", backend.url, "--taxonomy", str(tiny), "--judge", judge.url, "-f", "json"
        )
        asked = [r["messages"][1]["content"] for r in judge.requests]
    assert code == 0
    report = json.loads(out)
    assert report["settings"]["judge"] == {"url": judge.url, "model": "judge-model"}
    assert asked[0] == (
        "Question:\nWhat do roots take up from the soil?\n\nReference answer:\nRoots take up water and minerals."
        "\n\nStudent's answer:\nRoots take up water and minerals."
    )
    first = report["items"][0]["results"]
    assert first["grounded"]["judge"] == {"grade": 5, "reason": "Right.", "error": None}
    assert first["ungrounded"]["judge"] == {
        "grade": None,
        "reason": None,
        "error": "the judge's reply is not JSON: 'I would say 2.'",
    }
    assert report["overall"]["grounded"]["judge"] == 3.0
    assert report["overall"]["ungrounded"]["judge"] == 2.0
    assert report["overall"]["ungrounded"]["judge_errors"] == 1
    with StubEngine(model="judge-model") as judge:
        judge.default = Step(chunks=['{"grade": 4, "reason": "Good."}'])
        answer(stub_engine, *GOOD)
        code, out, _ = eval_cli("--url", backend.url, "--taxonomy", str(tiny), "--judge", judge.url)
    assert out.splitlines()[HEADER].endswith(" cited right ┃ judge 0-5 ┃")
    assert out.splitlines()[-2] == (
        "3 questions; content recall 0.94 grounded, 0.00 ungrounded; right leaf cited 100%; "
        "judge 4.0 grounded, 4.0 ungrounded (0 judge errors); 0 errors"
    )


def test_the_judge_key_comes_from_the_environment(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(JUDGE_KEY_ENV, "judge-key")
    with StubEngine(model="judge-model") as judge:
        judge.default = Step(chunks=['{"grade": 4, "reason": "Good."}'])
        answer(stub_engine, *GOOD)
        code, _, _ = eval_cli(
            "--url", backend.url, "--taxonomy", str(tiny), "--judge", judge.url + "/v1", "--judge-model", "m"
        )
        assert code == 0
        assert [r["model"] for r in judge.requests] == ["m"] * 6


def fails(*args: str) -> tuple[int, str]:
    code, out, err = eval_cli(*args)
    assert out == ""
    return code, err


def test_nothing_answers(tiny: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert fails("--url", url, "--taxonomy", str(tiny)) == (
        1,
        f"error: nothing answers at {url}\n"
        "hint: start the backend with `edubot serve`, or let eval start one: `edubot eval --local`\n",
    )
    assert not Path("datasets").exists()


def test_a_bad_url(tiny: Path) -> None:
    assert fails("--url", "localhost:8000", "--taxonomy", str(tiny)) == (
        1,
        "error: --url 'localhost:8000' is not an http(s) URL\n"
        "hint: give the engine's base URL, e.g. --url http://gpu1:8001\n",
    )
    assert fails("--url", "http://127.0.0.1:8000", "--taxonomy", str(tiny), "--judge", "judge")[0] == 1


def test_an_engine_is_not_a_backend(tiny: Path, stub_engine: StubEngine) -> None:
    assert fails("--url", stub_engine.url, "--taxonomy", str(tiny)) == (
        1,
        f"error: {stub_engine.url} is not an edubot backend (its GET / does not describe /chat)\n"
        "hint: point --url at `edubot serve`, not at an engine, or use `edubot eval --local`\n",
    )
    assert stub_engine.requests == []


def test_a_missing_taxonomy(backend: LiveBackend, tmp_path: Path, stub_engine: StubEngine) -> None:
    missing = tmp_path / "nowhere"
    assert fails("--url", backend.url, "--taxonomy", str(missing)) == (
        1,
        f"error: the taxonomy folder {missing} does not exist\n"
        "hint: pass --taxonomy DIR or create a leaf with `edubot taxonomy add`\n",
    )
    assert stub_engine.requests == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: --compare: {path} does not exist"),
        ("{not json", "error: --compare: {path} is not JSON"),
        ('{"kind": "something else"}', "error: --compare: {path} is not an edubot eval report"),
        (
            '{"kind": "edubot-eval", "schema_version": 99}',
            "error: --compare: {path} has schema_version 99; this edubot reads 1",
        ),
        (
            '{"kind": "edubot-eval", "schema_version": 1, "overall": {}, "leaves": [{"leaf": 1}]}',
            "error: --compare: {path} lacks the overall and per-leaf scores",
        ),
    ],
)
def test_a_bad_compare_file_is_refused_before_anything_is_asked(
    tiny: Path,
    backend: LiveBackend,
    stub_engine: StubEngine,
    tmp_path: Path,
    content: str | None,
    message: str,
) -> None:
    path = tmp_path / "old.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, err = fails("--url", backend.url, "--taxonomy", str(tiny), "--compare", str(path))
    assert code == 1
    assert err.splitlines()[0] == message.format(path=path)
    assert stub_engine.requests == []


def test_holdout_against_a_running_backend_is_refused(tiny: Path, backend: LiveBackend) -> None:
    assert fails("--url", backend.url, "--taxonomy", str(tiny), "--holdout", "1") == (
        1,
        "error: --holdout needs a backend whose index leaves the held-out Q&A pairs out, and a running backend "
        "does not report its index's holdout, so it cannot be checked\n"
        "hint: use `edubot eval --local --holdout 1` (it starts a backend indexed that way)\n",
    )


def test_flag_combinations_are_usage_errors(tiny: Path) -> None:
    assert fails("--grounded", "--ungrounded", "--taxonomy", str(tiny)) == (
        2,
        "error: give one of --grounded, --ungrounded and --both\nhint: --both is the default\n",
    )
    assert fails("--local", "--url", "http://127.0.0.1:1", "--taxonomy", str(tiny)) == (
        2,
        "error: give either --local or --url, not both\nhint: drop one of them\n",
    )


def test_a_backend_failing_mid_run_ends_it_with_its_message(
    tiny: Path, backend: LiveBackend, stub_engine: StubEngine
) -> None:
    stub_engine.script(Step(chunks=["Roots."]), Step(status=500, error_message="engine on fire"))
    code, err = fails("--url", backend.url, "--taxonomy", str(tiny))
    assert (code, err) == (
        1,
        f"error: {backend.url}/chat failed before the answer began: engine 1 answered 500: engine on fire\n"
        "hint: check the backend's log, then run `edubot eval` again\n",
    )
    assert not Path("datasets").exists()
