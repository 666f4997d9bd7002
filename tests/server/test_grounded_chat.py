"""Grounded /chat on the stub engine: the taxonomy's passages reach the engine, the sources reach the client, a
leaf added while the server runs is used at once, and `grounded: false` or no taxonomy leaves chat as it was."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from edubot_cli.grounding import budget
from edubot_cli.grounding.prompt import INSTRUCTION
from edubot_cli.server.api import grounded
from tests.grounding.conftest import PLANTS, age, write
from tests.server.helpers import chat_events
from tests.support.stub_engine import Step, StubEngine

QUESTION = "What do roots take up from the soil?"
SYSTEM = "You are a test tutor."


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUBOT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def taxonomy(tmp_path: Path) -> Path:
    root = tmp_path / "taxonomy"
    write(root, "knowledge/botany/plants/qna.yaml", PLANTS)
    age(root)
    return root


def settings(taxonomy: Path, **more: object) -> dict:
    """The model (the stub) writes every answer (``check``), unless ``more`` says otherwise."""
    return {
        "taxonomy_path": taxonomy,
        "grounding": None,
        "grounding_answer": "check",
        "system_prompt": SYSTEM,
        **more,
    }


QUOTE = "From your class notes: “Roots take up water and minerals from the soil.” [1]"


def test_in_quote_mode_the_material_answers_and_the_engine_is_not_asked(
    taxonomy: Path, stub_engine: StubEngine, live_backend
) -> None:
    backend = live_backend(settings(taxonomy, grounding_answer="quote"), [stub_engine.url])
    answer = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=30).json()
    assert (answer["response"], answer["faithfulness"], answer["truncated"]) == (QUOTE, "quoted", False)
    assert answer["sources"][0]["title"] == "Botany: Roots take up water and minerals from the…"
    assert (answer["prompt_tokens"], answer["completion_tokens"]) == (0, 0)
    with httpx.stream("POST", backend.url + "/chat", json={"message": QUESTION, "stream": True}) as response:
        events = [data for _, data in chat_events(response)]
    assert events[0] == {"delta": QUOTE}
    assert (events[1]["done"], events[1]["faithfulness"], len(events)) == (True, "quoted", 2)
    assert stub_engine.requests == []


def test_a_wrong_number_from_the_engine_gives_way_to_the_material(
    taxonomy: Path, stub_engine: StubEngine, live_backend
) -> None:
    stub_engine.script(Step(chunks=["Roots take up ", "12 litres of water a day."]))
    backend = live_backend(settings(taxonomy), [stub_engine.url])
    answer = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=30).json()
    assert (answer["response"], answer["faithfulness"]) == (QUOTE, "quoted")


def test_the_engine_gets_the_passages_and_the_client_the_sources(
    taxonomy: Path, stub_engine: StubEngine, live_backend
) -> None:
    backend = live_backend(settings(taxonomy), [stub_engine.url])
    answer = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=30)
    assert answer.status_code == 200, answer.text
    sources = answer.json()["sources"]
    assert sources[0]["n"] == 1
    assert (sources[0]["file"], sources[0]["line"], sources[0]["yaml_path"]) == (
        "knowledge/botany/plants/qna.yaml",
        7,
        "seed_examples[0].context",
    )
    assert sources[0]["snippet"].startswith("Roots take up water and minerals from the soil.")
    assert set(sources[0]) == {"n", "file", "line", "yaml_path", "title", "snippet", "score"}
    messages = stub_engine.requests[0]["messages"]
    assert messages[0] == {"role": "system", "content": f"{SYSTEM}\n\n{INSTRUCTION}"}
    assert messages[-1]["role"] == "user"
    assert "[1] " in messages[-1]["content"]
    assert "Roots take up water and minerals from the soil." in messages[-1]["content"]
    assert messages[-1]["content"].endswith(f"Question: {QUESTION}")


def test_the_stream_ends_with_the_sources(taxonomy: Path, stub_engine: StubEngine, live_backend) -> None:
    backend = live_backend(settings(taxonomy), [stub_engine.url])
    with httpx.stream("POST", backend.url + "/chat", json={"message": QUESTION, "stream": True}) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1]["done"] is True
    assert events[-1]["sources"][0]["file"] == "knowledge/botany/plants/qna.yaml"


def test_grounded_false_asks_the_plain_question(
    taxonomy: Path, stub_engine: StubEngine, live_backend
) -> None:
    backend = live_backend(settings(taxonomy), [stub_engine.url])
    answer = httpx.post(backend.url + "/chat", json={"message": QUESTION, "grounded": False}, timeout=30)
    assert answer.json()["sources"] == []
    assert stub_engine.requests[0]["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION},
    ]


def test_a_leaf_added_while_serving_is_used_in_the_next_question(
    taxonomy: Path, stub_engine: StubEngine, live_backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grounded, "RECHECK", 0.0)
    backend = live_backend(settings(taxonomy), [stub_engine.url])
    httpx.post(backend.url + "/chat", json={"message": "What do volcanoes erupt?"}, timeout=30)
    leaf = PLANTS.replace("Botany", "Geology").replace("Roots take up water", "Volcanoes erupt lava")
    write(taxonomy, "knowledge/geology/volcanoes/qna.yaml", leaf)
    age(taxonomy)
    answer = httpx.post(backend.url + "/chat", json={"message": "What do volcanoes erupt?"}, timeout=30)
    assert answer.json()["sources"][0]["file"] == "knowledge/geology/volcanoes/qna.yaml"


def test_without_knowledge_chat_is_not_grounded_by_default(
    tmp_path: Path, stub_engine: StubEngine, live_backend
) -> None:
    backend = live_backend(settings(tmp_path / "no-taxonomy"), [stub_engine.url])
    answer = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["sources"] == []
    assert stub_engine.requests[0]["messages"][0] == {"role": "system", "content": SYSTEM}
    forced = httpx.post(backend.url + "/chat", json={"message": QUESTION, "grounded": True}, timeout=30)
    assert (
        forced.status_code == 200 and forced.json()["sources"] == []
    )  # nothing to ground on: answered anyway


def test_a_busy_class_gets_the_small_passage_budget(
    taxonomy: Path, stub_engine: StubEngine, live_backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "BUSY_TOKENS", 24)  # 96 characters: the first passage, cut
    backend = live_backend(settings(taxonomy), [stub_engine.url])
    for _ in range(budget.BUSY_QUESTIONS + 1):  # well within BUSY_WINDOW
        answer = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=30)
        assert answer.status_code == 200, answer.text
    prompts = [request["messages"][-1]["content"] for request in stub_engine.requests]
    whole = (
        "[1] Roots take up water and minerals from the soil. Tiny root hairs give the roots a large surface."
    )
    assert all(whole in prompt for prompt in prompts[: budget.BUSY_QUESTIONS])
    assert prompts[-1] == (
        "Notes:\n\n[1] Roots take up water and minerals from the soil. Tiny root hairs give the roots a large…"
        f"\n\nQuestion: {QUESTION}"
    )
