"""Grounded /chat with the real engine on the shipped sample taxonomy: the teacher's passage is retrieved,
fits the context, and the answer cites what it was given."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from edubot_cli.grounding.facts import claims
from tests.support.live_backend import served_embedded

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]
TAXONOMY = Path(__file__).resolve().parents[2] / "taxonomy"
NUMBER = re.compile(r"\d+(?::\d+)?")


def test_the_photosynthesis_question_is_answered_from_its_passage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path / "cache"))
    overrides = {"taxonomy_path": TAXONOMY, "grounding": None, "temperature": 0, "max_tokens": 48}
    with served_embedded(tmp_path / "logs", overrides) as (_, backend):
        answer = httpx.post(
            backend.url + "/chat", json={"message": "What are the two stages of photosynthesis?"}, timeout=120
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
            httpx.post(backend.url + "/chat", json={"message": question}, timeout=120).json()
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
