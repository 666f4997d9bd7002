"""Grounded /chat with the real engine on the shipped sample taxonomy: the teacher's passage is retrieved,
fits the context, and the answer cites what it was given."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.live_backend import served_embedded

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]
TAXONOMY = Path(__file__).resolve().parents[2] / "taxonomy"


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
