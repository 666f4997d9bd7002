"""Grounded /chat with the real engine on the shipped sample taxonomy: the teacher's passage is retrieved,
fits the context, and the answer cites what it was given."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from edubot_cli.grounding.facts import Support, claims
from tests.support.live_backend import served_embedded
from tests.support.poll import ENGINE_CEILING

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1800)]
TAXONOMY = Path(__file__).resolve().parents[2] / "taxonomy"
NUMBER = re.compile(r"\d+(?::\d+)?")


def test_the_photosynthesis_question_is_answered_from_its_passage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    overrides = {"taxonomy_path": TAXONOMY, "grounding": None, "temperature": 0, "max_tokens": 48}
    with served_embedded(tmp_path / "logs", overrides) as (_, backend):
        answer = httpx.post(
            backend.url + "/chat",
            json={"message": "What are the two stages of photosynthesis?"},
            timeout=ENGINE_CEILING,
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["response"].strip()
    first = body["sources"][0]
    assert (first["n"], first["file"], first["yaml_path"]) == (
        1,
        "knowledge/science/biology/photosynthesis/qna.yaml",
        "seed_examples[2].context",
    )
    assert "light-dependent reactions" in first["snippet"]
    assert body["prompt_tokens"] < 2048  # passages, question and system prompt fit the slot's context


QUESTIONS = [
    "Tell me about the class 5B trip to the field centre.",
    "Why must everyone wash their hands before lunch on the trip?",
    "What happens to the vegetables from the school garden?",
    "Explain what happens in the Calvin cycle.",
    "Tell me about the water cycle and the Sun.",
]


def test_real_answers_state_only_numbers_their_sources_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check``: the embedded model writes the answers; whatever it writes, no number reaches the student that
    the cited leaves do not hold (a property of the gate, which holds whatever the model samples)."""
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    overrides = {
        "taxonomy_path": TAXONOMY,
        "grounding": None,
        "grounding_answer": "check",
        "temperature": 0,
        "max_tokens": 64,
    }
    with served_embedded(tmp_path / "logs", overrides) as (_, backend):
        bodies = [
            httpx.post(backend.url + "/chat", json={"message": question}, timeout=ENGINE_CEILING).json()
            for question in QUESTIONS
        ]
    for question, body in zip(QUESTIONS, bodies, strict=True):
        assert body["faithfulness"] in ("checked", "repaired", "quoted"), (question, body)
        material = " ".join(
            (TAXONOMY / source["file"]).read_text(encoding="utf-8") for source in body["sources"]
        )
        held = {fact for f in claims(material) for fact in f.forms} | set(NUMBER.findall(material))
        stated = [f for f in claims(body["response"]) if f.kind == "number"]
        assert all(f.forms & held for f in stated), (question, body["response"])
        assert "Notes:" not in body["response"] and "Question:" not in body["response"]


FORT = """version: 3
created_by: edubot-team
domain: Year 8 trip
document_outline: |
  The Year 8 trip to Vindolanda.
seed_examples:
  - context: |
      The Year 8 trip to the Roman fort at Vindolanda is on Tuesday 17 March. The trip costs £18 per pupil, paid
      on ParentPay. The coach leaves the Elm Road gate at 8:05.
    questions_and_answers:
      - question: |
          How much does the trip cost?
        answer: |
          The trip costs £18 per pupil.
"""
ASKED = "Tell me about the Roman fort at Vindolanda."


def _answer(tmp_path: Path, mode: str) -> dict:
    overrides = {
        "taxonomy_path": tmp_path / "taxonomy",
        "grounding": None,
        "grounding_answer": mode,
        "temperature": 0,
        "max_tokens": 64,
        "parallel": 1,
    }
    with served_embedded(tmp_path / f"logs-{mode}", overrides) as (_, backend):
        body: dict = httpx.post(backend.url + "/chat", json={"message": ASKED}, timeout=ENGINE_CEILING).json()
        return body


def test_what_the_real_model_makes_up_is_caught_and_the_material_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same question, the same prompt, at temperature 0 with one slot: unchecked (``model``), the embedded
    model adds facts the leaf does not hold (it calls the fort a UNESCO World Heritage Site); checked
    (``check``), the student sees none of them and gets the leaf's own sentence."""
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    leaf = tmp_path / "taxonomy" / "knowledge" / "school" / "vindolanda"
    leaf.mkdir(parents=True)
    (leaf / "qna.yaml").write_text(FORT, encoding="utf-8")
    support = Support.of([FORT, ASKED])
    raw = _answer(tmp_path, "model")
    made_up = support.unsupported(raw["response"])
    assert raw["faithfulness"] == "unchecked" and made_up, raw["response"]
    checked = _answer(tmp_path, "check")
    assert checked["faithfulness"] in ("quoted", "repaired"), checked
    assert support.unsupported(checked["response"]) == []
    assert all(fact.text not in checked["response"] for fact in made_up)
    assert "From your class notes: “The Year 8 trip to the Roman fort at Vindolanda" in checked["response"]
