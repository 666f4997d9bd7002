"""The real llama-server engine with the embedded model, started and supervised the way `edubot serve` does it,
behind the backend: answers, the per-run key, a restart after kill -9, health while busy, the queue."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edubot_cli.engines.lifecycle import Running
from tests.grounding.conftest import PLANTS, age, write
from tests.support.live_backend import LiveBackend, served_embedded
from tests.support.poll import ENGINE_CEILING, eventually

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1200)]

QUESTION = "What is photosynthesis?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, LiveBackend]]:
    with served_embedded(
        tmp_path_factory.mktemp("logs"), {"max_tokens": 24, "temperature": 0.0}, parallel=2, max_queue=2
    ) as pair:
        yield pair


@pytest.fixture(scope="module")
def launch(served: tuple[Running, LiveBackend]) -> Running:
    return served[0]


@pytest.fixture(scope="module")
def backend(served: tuple[Running, LiveBackend]) -> LiveBackend:
    return served[1]


def queue(backend: LiveBackend) -> dict:
    return httpx.get(backend.url + "/health", timeout=30).json()["queue"]


def started_task(log: Path, seen: int) -> bool:
    """Whether the engine's log, past its first ``seen`` lines, shows a slot starting on a task."""
    return any("| processing task," in line for line in log.read_text().splitlines()[seen:])


def stopped(log: Path, seen: int) -> int | None:
    """The tokens a slot had processed when it stopped, from the engine's log past its first ``seen`` lines."""
    for line in log.read_text().splitlines()[seen:]:
        if "stop processing: n_tokens =" in line:
            return int(line.rsplit("n_tokens =", 1)[1].split(",")[0])
    return None


def stream_events(url: str, body: dict, timeout: float = ENGINE_CEILING) -> list[dict]:
    """The data of a /chat stream's events after its first, ``started`` (checked)."""
    events = []
    with httpx.stream("POST", url + "/chat", json={**body, "stream": True}, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
    assert events[:1] == [{"started": {"id": response.headers["x-request-id"]}}]
    return events[1:]


def test_the_engine_is_llama_server_with_the_embedded_model_stored_as_q8_0(launch: Running) -> None:
    engine = launch.engine
    assert engine.name == "llama-cpp"
    assert Path(engine.model).name == "SmolLM2-135M-Instruct.Q8_0.gguf"
    assert engine.capacity == 2
    assert engine.log_path is not None
    command = engine.log_path.read_text().splitlines()[0]
    assert command.startswith("$ ") and "llama-server --model " in command
    assert "--parallel 2 --ctx-size 4096 --no-kv-unified --batch-size 256 --ubatch-size 256" in command
    assert engine.api_key is not None and engine.api_key not in engine.log_path.read_text()


def test_the_engine_port_refuses_requests_without_the_run_key(launch: Running) -> None:
    engine = launch.engine
    url = engine.urls[0]
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    assert httpx.post(url + "/v1/chat/completions", json=body, timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key"}
    assert httpx.post(url + "/v1/chat/completions", json=body, headers=wrong, timeout=30).status_code == 401
    right = {"Authorization": f"Bearer {engine.api_key}"}
    models = httpx.get(url + "/v1/models", headers=right, timeout=30).json()
    assert [model["id"] for model in models["data"]] == ["edubot"]


def test_health_names_the_engine_and_the_queue_not_its_url(backend: LiveBackend, launch: Running) -> None:
    response = httpx.get(backend.url + "/health", timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["engine"], body["engine_name"]) == ("healthy", "ok", "llama-cpp")
    assert body["engines"] == [{"name": "engine 1", "status": "ok", "in_flight": 0, "model": "edubot"}]
    assert body["queue"] == {"capacity": 2, "active": 0, "waiting": 0}
    assert launch.engine.urls[0] not in response.text


def test_every_slot_starts_with_the_system_prompt_cached(backend: LiveBackend) -> None:
    pool = backend.app.state.backend.pool
    assert eventually(lambda: pool._warm_task is not None and pool._warm_task.done(), timeout=ENGINE_CEILING)
    assert pool._warm_task.result() == 2  # one warm-up per slot, both answered
    system = backend.settings.system_prompt
    body = {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": "What is a noun?"}],
        "max_tokens": 4,
        "temperature": 0,
    }
    for _ in range(2):  # whichever slot each lands in, only the question is new to it
        answer = httpx.post(backend.url + "/v1/chat/completions", json=body, timeout=60).json()
        body["messages"][1]["content"] += " Give an example."
        assert answer["usage"]["prompt_tokens"] > 40
        assert answer["timings"]["prompt_n"] < 20, answer["timings"]


def test_chat_returns_real_tokens(backend: LiveBackend) -> None:
    response = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=ENGINE_CEILING)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response"].strip()
    assert 0 < body["completion_tokens"] <= 24
    assert body["prompt_tokens"] > len(QUESTION.split())  # the system prompt and chat template count too
    assert body["tokens_used"] == body["prompt_tokens"] + body["completion_tokens"]


def test_streamed_chat_returns_real_tokens(backend: LiveBackend) -> None:
    events = stream_events(backend.url, {"message": QUESTION})
    deltas = [event["delta"] for event in events if "delta" in event]
    assert len(deltas) >= 2 and "".join(deltas).strip()
    final = events[-1]
    assert final["done"] is True
    assert 0 < final["usage"]["completion_tokens"] <= 24
    assert final["ttft_seconds"] <= final["latency_seconds"]


def test_health_answers_from_its_cache_while_every_slot_generates(backend: LiveBackend) -> None:
    assert eventually(
        lambda: queue(backend) == {"capacity": 2, "active": 0, "waiting": 0}, timeout=ENGINE_CEILING
    )
    long = {"message": "Write a long story about a dragon.", "max_tokens": 200, "temperature": 0.0}
    threads = [
        threading.Thread(target=stream_events, args=(backend.url, long), daemon=True) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    assert eventually(lambda: queue(backend)["active"] == 2, timeout=ENGINE_CEILING)
    health = httpx.get(backend.url + "/health", timeout=30)
    assert health.status_code == 200
    # Both slots were still generating when it answered: the engine's state comes from the cache, not from a
    # probe that waits behind the generations (how fast it answers is measured in tests/benchmarks).
    assert (health.json()["status"], health.json()["engine"]) == ("healthy", "busy")
    assert health.json()["queue"]["active"] == 2
    # A third request waits in line and is told its place before its first token.
    events = stream_events(backend.url, {"message": "Say hi.", "max_tokens": 4})
    assert events[0] == {"queued": {"ahead": 0}}
    assert events[-1]["done"] is True
    for thread in threads:
        thread.join(timeout=ENGINE_CEILING)


def test_a_client_that_leaves_during_a_long_prompt_stops_the_engine_work(
    backend: LiveBackend, launch: Running
) -> None:
    log = launch.engine.log_path
    assert log is not None
    assert eventually(
        lambda: queue(backend) == {"capacity": 2, "active": 0, "waiting": 0}, timeout=ENGINE_CEILING
    )
    seen = len(log.read_text().splitlines())
    words = " ".join(f"w{i}" for i in range(600))  # about 1,700 tokens: 6 s of prompt processing here
    body = json.dumps({"message": words, "stream": True, "max_tokens": 8}).encode()
    host, port = backend.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /chat HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (host.encode(), len(body))
            + body
        )
        # The engine has started on the prompt; then the client goes.
        assert eventually(lambda: started_task(log, seen), timeout=ENGINE_CEILING)
    assert eventually(lambda: stopped(log, seen) is not None, timeout=ENGINE_CEILING)
    released = stopped(log, seen)
    assert released is not None
    # Stopped part-way through the prompt, not after all of it (the whole prompt is over 1,600 tokens).
    assert released < 1200, released
    health = httpx.get(backend.url + "/health", timeout=30).json()
    assert health["queue"]["active"] == 0


def test_kill_9_restarts_the_engine_and_the_service_recovers(backend: LiveBackend, launch: Running) -> None:
    engine = launch.engine
    pid = engine.pid  # type: ignore[attr-defined]
    errors: list[dict] = []
    answering = threading.Event()

    def ask_during_the_kill() -> None:
        long = {"message": "Write a long story about a dragon.", "max_tokens": 400, "stream": True}
        with httpx.stream("POST", backend.url + "/chat", json=long, timeout=ENGINE_CEILING) as response:
            lines = iter(response.iter_lines())
            for line in lines:
                if line.startswith('data: {"delta"'):
                    answering.set()
                if line.startswith("event: error"):
                    errors.append(json.loads(next(lines)[len("data: ") :]))

    asker = threading.Thread(target=ask_during_the_kill, daemon=True)
    asker.start()
    assert answering.wait(ENGINE_CEILING)  # the engine is generating the answer
    os.kill(pid, signal.SIGKILL)
    asker.join(timeout=ENGINE_CEILING)
    assert not asker.is_alive()
    assert errors and errors[0]["error"]["message"] == (
        "the engine is restarting after it was killed by SIGKILL; try again in a few seconds"
    )
    seen = set()

    def back() -> bool:
        health = httpx.get(backend.url + "/health", timeout=30)
        assert health.status_code == 200
        seen.add(health.json()["engine"])
        return health.json()["engine"] == "ok" and launch.restarts == 1

    assert eventually(back, timeout=ENGINE_CEILING, interval=0.05), seen
    assert "restarting" in seen or launch.restarts == 1
    assert engine.pid != pid  # type: ignore[attr-defined]
    response = httpx.post(backend.url + "/chat", json={"message": QUESTION}, timeout=ENGINE_CEILING)
    assert response.status_code == 200, response.text
    assert response.json()["response"].strip()


def test_the_engine_uses_the_models_own_chat_template(launch: Running) -> None:
    # The stray "Druid:" prefixes came from a guessed prompt format; llama-server applies the GGUF's own ChatML
    # template, so the model sees the turns it was trained on.
    engine = launch.engine
    props = httpx.get(
        engine.urls[0] + "/props", headers={"Authorization": f"Bearer {engine.api_key}"}, timeout=30
    ).json()
    assert "<|im_start|>" in props["chat_template"] and "<|im_end|>" in props["chat_template"]


def test_a_second_question_on_the_same_passages_reuses_the_cached_prompt(
    backend: LiveBackend, tmp_path: Path
) -> None:
    from edubot_cli.grounding.index import TaxonomyIndex
    from edubot_cli.grounding.prompt import grounded_messages

    root = tmp_path / "taxonomy"
    write(root, "knowledge/botany/plants/qna.yaml", PLANTS)
    age(root)
    index = TaxonomyIndex(root)
    index.refresh()
    passages = index.retrieve("roots soil water minerals", 2)
    questions = ["What do roots take up from the soil?", "Which part of a plant takes in minerals?"]
    prompts = [
        grounded_messages(backend.settings.system_prompt, [], q, passages, 300).messages for q in questions
    ]
    shared = prompts[0][-1]["content"].rsplit("Question:", 1)[0]
    assert shared == prompts[1][-1]["content"].rsplit("Question:", 1)[0]  # equal passages, equal prefixes
    found = []
    for messages in prompts:
        body = {"messages": messages, "max_tokens": 4, "temperature": 0}
        found.append(httpx.post(backend.url + "/v1/chat/completions", json=body, timeout=600).json())
    first, second = found
    assert first["usage"]["prompt_tokens"] > 100, first["usage"]
    # only the second question's own words and the turn's end are new to the engine
    assert second["timings"]["prompt_n"] < 20, second["timings"]
    assert second["usage"]["prompt_tokens"] - second["timings"]["prompt_n"] > 100, second
