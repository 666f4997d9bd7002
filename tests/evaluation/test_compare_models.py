"""`edubot eval --compare MODEL [MODEL ...]` with the evaluation of each model stubbed (``run_eval`` returns made
reports): the summary per model, the best one, the table and JSON, which models the names resolve to, and the
flags that cannot go with it. The real engine runs it in test_compare_models_engine.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edubot_cli.assessment.questions import Question
from edubot_cli.evaluation import models as models_module
from edubot_cli.evaluation.models import ModelChoice, ModelRun, comparison, median_latency, resolve_models
from edubot_cli.evaluation.report import MODES, Answer, EvalError, Item, build_report
from edubot_cli.evaluation.run import EvalOptions, EvalRun
from edubot_cli.main import app

QUESTIONS = [
    Question("knowledge/botany/roots", "knowledge/botany/roots/qna.yaml", 9, "knowledge", f"q{n}", "c", q, r)
    for n, (q, r) in enumerate(
        [
            ("What do roots take up?", "Water and minerals."),
            ("Why root hairs?", "A large surface, as Charles Darwin saw."),
            ("How many roots?", "About 3 roots."),
        ]
    )
]


def report(rights: dict[str, int], latencies: list[float], partial: bool = False) -> dict[str, Any]:
    """An eval report of the three questions: the first ``rights[mode]`` answers right, the rest wrong; answer
    n took ``latencies[n]`` seconds in every mode."""
    items = []
    for n, question in enumerate(QUESTIONS[: 2 if partial else 3]):
        item = Item(question)
        for mode in MODES:
            right = n < rights[mode]
            item.answers[mode] = Answer(
                text="…",
                verdict="right" if right else "wrong",
                numbers=(1.0 if right else 0.0) if n == 2 else None,
                names=(1.0 if right else 0.0) if n == 1 else None,
                latency_seconds=latencies[n],
            )
        items.append(item)
    meta = {
        "taxonomy": {"path": "/t", "hash": "h"},
        "settings": {"modes": list(MODES), "holdout": 1, "max_tokens": 24, "temperature": 0.0},
    }
    return build_report(items, modes=MODES, meta=meta, total=3)


RUNS = {  # model path name -> (right answers per mode, latencies)
    None: ({"grounded": 1, "ungrounded": 0}, [0.5, 0.7, 0.6]),
    "qwen.gguf": ({"grounded": 3, "ungrounded": 2}, [4.0, 6.0, 5.0]),
    "llama.gguf": ({"grounded": 3, "ungrounded": 1}, [3.0, 2.5, 4.5]),
}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> list[EvalOptions]:
    """``run_eval`` answering from RUNS; returns the options each run was given. models/ holds the two files."""
    calls: list[EvalOptions] = []

    def run_eval(settings: Any, options: EvalOptions, **kwargs: Any) -> EvalRun:
        calls.append(options)
        rights, latencies = RUNS[options.model.name if options.model else None]
        record = Path("datasets") / f"record-{len(calls)}.json"
        return EvalRun(report(rights, latencies), record)

    monkeypatch.setattr(models_module, "run_eval", run_eval)
    Path("models").mkdir()
    for name in ("qwen.gguf", "llama.gguf"):
        Path("models", name).write_bytes(b"GGUF")
    return calls


def eval_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["eval", *args], prog_name="edubot")
    return result.exit_code, result.stdout, result.stderr


TABLE = [
    "which model is best for your class? (grounded / ungrounded)",
    "┏━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┓",
    "┃ model             ┃ questions ┃   right    ┃   numbers   ┃    names    ┃ median latency ┃",
    "┡━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━┩",
    "│ embedded          │         3 │  33% / 0%  │ 0.00 / 0.00 │ 0.00 / 0.00 │ 0.6 s / 0.6 s  │",
    "│ models/qwen.gguf  │         3 │ 100% / 67% │ 1.00 / 0.00 │ 1.00 / 1.00 │ 5.0 s / 5.0 s  │",
    "│ models/llama.gguf │         3 │ 100% / 33% │ 1.00 / 0.00 │ 1.00 / 0.00 │ 3.0 s / 3.0 s  │",
    "└───────────────────┴───────────┴────────────┴─────────────┴─────────────┴────────────────┘",
    "best: models/qwen.gguf (100% right answers, grounded)",
    "run record (embedded): datasets/record-1.json",
    "run record (models/qwen.gguf): datasets/record-2.json",
    "run record (models/llama.gguf): datasets/record-3.json",
]  # fmt: skip


def test_the_table_one_row_per_model(stubbed: list[EvalOptions], tiny: Path) -> None:
    code, out, err = eval_cli(
        "--taxonomy",
        str(tiny),
        "--holdout",
        "1",
        "--compare",
        "embedded",
        "models/qwen.gguf",
        "models/llama.gguf",
    )
    assert code == 0, err
    assert out.splitlines() == TABLE
    assert [(o.local, o.url, o.model, o.holdout) for o in stubbed] == [
        (True, None, None, 1),
        (True, None, Path("models/qwen.gguf"), 1),
        (True, None, Path("models/llama.gguf"), 1),
    ]
    assert err.splitlines() == [
        "model 1 of 3: embedded",
        "model 2 of 3: models/qwen.gguf",
        "model 3 of 3: models/llama.gguf",
    ]
    # repeating --compare is the same
    assert eval_cli(
        "--taxonomy", str(tiny), "--holdout", "1", "--compare", "embedded", "--compare", "models/qwen.gguf",
        "--compare", "models/llama.gguf",
    )[1].splitlines()[4:7] == TABLE[4:7]  # fmt: skip


def test_the_json_document(stubbed: list[EvalOptions], tiny: Path) -> None:
    code, out, _ = eval_cli(
        "--taxonomy", str(tiny), "-f", "json", "--compare", "models/llama.gguf", "embedded"
    )
    assert code == 0
    document = json.loads(out)
    assert {k: document[k] for k in ("schema_version", "kind", "partial", "best", "taxonomy")} == {
        "schema_version": 1,
        "kind": "edubot-eval-models",
        "partial": False,
        "best": "models/llama.gguf",
        "taxonomy": {"path": "/t", "hash": "h"},
    }
    assert document["models"][0] == {
        "model": "models/llama.gguf",
        "path": "models/llama.gguf",
        "record": "datasets/record-1.json",
        "partial": False,
        "asked": 3,
        "total": 3,
        "scores": {
            "grounded": {
                "questions": 3,
                "answered": 3,
                "right": 1.0,
                "numbers": 1.0,
                "names": 1.0,
                "median_latency_seconds": 3.0,
            },
            "ungrounded": {
                "questions": 3,
                "answered": 3,
                "right": 0.3333,
                "numbers": 0.0,
                "names": 0.0,
                "median_latency_seconds": 3.0,
            },
        },
    }
    assert document["models"][1]["path"] is None


def test_the_best_model_ties_on_right_answers_go_to_the_faster(tmp_path: Path) -> None:
    fast = ModelRun(ModelChoice("fast", None), report({"grounded": 2, "ungrounded": 1}, [1, 1, 1]), tmp_path)
    slow = ModelRun(ModelChoice("slow", None), report({"grounded": 2, "ungrounded": 1}, [9, 9, 9]), tmp_path)
    better = ModelRun(
        ModelChoice("better", None), report({"grounded": 2, "ungrounded": 2}, [9, 9, 9]), tmp_path
    )
    assert comparison([slow, fast])["best"] == "fast"
    assert comparison([slow, fast, better])["best"] == "better"
    assert comparison([slow])["best"] is None  # nothing to compare with
    stopped = ModelRun(
        ModelChoice("stopped", None), report({"grounded": 2, "ungrounded": 2}, [1, 1], True), tmp_path
    )
    document = comparison([slow, fast, stopped], interrupted=True)
    assert (document["partial"], document["best"]) == (True, "fast")  # a partial run is not ranked


def test_median_latency_leaves_failed_answers_out() -> None:
    data = report({"grounded": 3, "ungrounded": 3}, [1.0, 8.0, 2.0])
    assert median_latency(data, "grounded") == 2.0
    data["items"][1]["results"]["grounded"]["error"] = "too long"
    assert median_latency(data, "grounded") == 1.5
    for item in data["items"]:
        item["results"]["grounded"]["error"] = "down"
    assert median_latency(data, "grounded") is None


def test_model_names(tiny: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf").write_bytes(b"GGUF")
    assert resolve_models(["embedded", "SmolLM2", "qwen2.5-1.5b"], models) == [
        ModelChoice("embedded", None),
        ModelChoice("SmolLM2", None),
        ModelChoice("qwen2.5-1.5b", models / "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf"),
    ]
    with pytest.raises(EvalError) as missing:
        resolve_models(["llama3.2-3b"], models)
    assert (missing.value.message, missing.value.hint) == (
        f"--compare: llama3.2-3b is not pulled yet ({models / 'Llama-3.2-3B-Instruct-Q4_K_M.gguf'} does not exist)",
        "pull it first: `edubot model pull llama3.2-3b`",
    )
    with pytest.raises(EvalError) as absent:
        resolve_models(["models/none.gguf"], models)
    assert absent.value.message == "--compare: models/none.gguf is not a GGUF file"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--compare", "before.json", "models/qwen.gguf"],
            "error: --compare before.json: give either one earlier report or models (GGUF files, `embedded`, "
            "catalog names), not both",
        ),
        (
            ["--url", "http://127.0.0.1:1", "--compare", "embedded"],
            "error: --compare with models starts an engine for each model: it cannot evaluate --url",
        ),
        (
            ["-f", "html", "--compare", "embedded"],
            "error: --compare with models prints a table or JSON, not html",
        ),
        (["models/qwen.gguf"], "error: models/qwen.gguf: models to compare go after --compare"),
        (
            ["--compare", "a.json", "--compare", "b.json"],
            "error: --compare b.json: compare with one earlier report at a time",
        ),
    ],
)
def test_what_cannot_go_with_it(
    stubbed: list[EvalOptions], tiny: Path, args: list[str], message: str
) -> None:
    code, _, err = eval_cli("--taxonomy", str(tiny), *args)
    assert (code, err.splitlines()[0]) == (2, message)
    assert stubbed == []


def test_a_missing_model_stops_before_any_engine_starts(stubbed: list[EvalOptions], tiny: Path) -> None:
    code, _, err = eval_cli("--taxonomy", str(tiny), "--compare", "embedded", "qwen2.5-3b")
    assert code == 1
    assert err.splitlines() == [
        "error: --compare: qwen2.5-3b is not pulled yet (models/Qwen2.5-3B-Instruct-Q4_K_M.gguf does not exist)",
        "hint: pull it first: `edubot model pull qwen2.5-3b`",
    ]
    assert stubbed == []


def test_ctrl_c_keeps_the_models_evaluated_so_far(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> None:
    calls = []

    def run_eval(settings: Any, options: EvalOptions, **kwargs: Any) -> EvalRun:
        calls.append(options.model)
        partial = options.model is not None
        data = report({"grounded": 1, "ungrounded": 1}, [1.0, 1.0, 1.0], partial=partial)
        return EvalRun(data, Path("r.json"), KeyboardInterrupt() if partial else None)

    monkeypatch.setattr(models_module, "run_eval", run_eval)
    Path("m.gguf").write_bytes(b"GGUF")
    code, out, _ = eval_cli("--taxonomy", str(tiny), "--compare", "embedded", "m.gguf", "m.gguf")
    assert code == 130
    assert calls == [None, Path("m.gguf")]  # the third model was not started
    lines = out.splitlines()
    assert lines[0] == "partial: stopped before every model answered every question"
    assert [line.split("│")[1].strip() for line in lines if line.startswith("│")] == ["embedded", "m.gguf"]


def test_the_json_document_to_a_file(stubbed: list[EvalOptions], tiny: Path) -> None:
    code, out, _ = eval_cli(
        "--taxonomy", str(tiny), "-f", "json", "-o", "models.json", "--compare", "embedded"
    )
    assert code == 0
    assert out.splitlines()[-1] == "report: models.json"
    assert out.splitlines()[-2] == "run record (embedded): datasets/record-1.json"
    document = json.loads(Path("models.json").read_text(encoding="utf-8"))
    assert [m["model"] for m in document["models"]] == ["embedded"] and document["best"] is None
