"""Settings a class cannot change (``client_sampling``) and what a /chat stream says while the question waits.

With ``client_sampling`` off (the default), /chat answers at the server's temperature and max_tokens whatever a
request asks, and says which values it used (``sampling``); on, the request's own values count. A question that
waited in line says when it leaves the line for the engine (``{"stage": "writing"}``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import httpx
import pytest

from tests.server.helpers import chat_events, iter_sse_events
from tests.support.live_backend import LiveBackend
from tests.support.poll import CEILING, eventually
from tests.support.stub_engine import Step, StubEngine

pytestmark = pytest.mark.timeout(120)

MakeBackend = Callable[..., LiveBackend]
SERVER = {"temperature": 0.3, "max_tokens": 77}
ASKED = {"message": "What is a cell?", "temperature": 2, "max_tokens": 5}


@pytest.mark.parametrize(("allowed", "used"), [(False, (0.3, 77)), (True, (2, 5))])
def test_the_server_decides_the_sampling_unless_it_allows_clients_to(
    stub_engine: StubEngine, live_backend: MakeBackend, allowed: bool, used: tuple[float, int]
) -> None:
    backend = live_backend({**SERVER, "client_sampling": allowed}, [stub_engine.url])
    sampling = {"temperature": used[0], "max_tokens": used[1]}

    answer = httpx.post(f"{backend.url}/chat", json=ASKED, timeout=CEILING)
    assert answer.status_code == 200
    assert answer.json()["sampling"] == sampling

    with httpx.stream("POST", f"{backend.url}/chat", json={**ASKED, "stream": True}, timeout=CEILING) as r:
        events = chat_events(r)
    assert events[-1][1]["done"] is True
    assert events[-1][1]["sampling"] == sampling

    assert [(e["temperature"], e["max_tokens"]) for e in stub_engine.requests] == [used, used]
    chat = httpx.get(f"{backend.url}/", headers={"Accept": "application/json"}).json()["chat"]
    assert (chat["client_sampling"], chat["temperature"], chat["max_tokens"]) == (allowed, 0.3, 77)


def test_client_sampling_is_off_by_default(stub_engine: StubEngine) -> None:
    from edubot_cli.config import FIELDS

    assert FIELDS["client_sampling"][0] is False
    assert FIELDS["slow_answer_seconds"][0] == 60.0


def test_a_request_without_its_own_values_gets_the_servers(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({**SERVER, "client_sampling": True}, [stub_engine.url])
    answer = httpx.post(f"{backend.url}/chat", json={"message": "x"}, timeout=CEILING)
    assert answer.json()["sampling"] == {"temperature": 0.3, "max_tokens": 77}
    assert (stub_engine.requests[0]["temperature"], stub_engine.requests[0]["max_tokens"]) == (0.3, 77)


def test_the_page_learns_the_slow_answer_time_and_whether_questions_are_grounded(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"slow_answer_seconds": 12.5}, [stub_engine.url])
    chat = httpx.get(f"{backend.url}/", headers={"Accept": "application/json"}).json()["chat"]
    assert (chat["slow_answer_seconds"], chat["grounded"]) == (12.5, False)


def test_a_question_that_waited_says_when_it_is_in_the_engine(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({"max_queue": 4}, [stub_engine.url], capacity=1)
    first_gate, second_gate = threading.Event(), threading.Event()
    stub_engine.script(
        Step(chunks=["held"], gate=first_gate), Step(chunks=["Your ", "turn."], gate=second_gate)
    )
    holder = threading.Thread(
        target=lambda: httpx.post(backend.url + "/chat", json={"message": "first"}, timeout=CEILING),
        daemon=True,
    )
    holder.start()
    assert stub_engine.wait_held(1)
    events: list[tuple[str, object]] = []
    with httpx.stream(
        "POST", backend.url + "/chat", json={"message": "second", "stream": True}, timeout=CEILING
    ) as r:
        for name, data in iter_sse_events(r):
            events.append((name, data))
            if isinstance(data, dict) and "queued" in data:
                first_gate.set()  # told its place: the slot is given back
            if isinstance(data, dict) and "stage" in data:
                assert eventually(lambda: stub_engine.held >= 2)  # it is in the engine, which holds it
                second_gate.set()
    holder.join(timeout=CEILING)
    request_id = r.headers["x-request-id"]
    assert events[:3] == [
        ("message", {"started": {"id": request_id}}),
        ("message", {"queued": {"ahead": 0}}),
        ("message", {"stage": "writing"}),
    ]
    assert [d["delta"] for _, d in events if isinstance(d, dict) and "delta" in d] == ["Your ", "turn."]
    assert json.dumps(events).count('"stage"') == 1


def test_a_question_that_did_not_wait_has_no_stage_event(
    stub_engine: StubEngine, live_backend: MakeBackend
) -> None:
    backend = live_backend({}, [stub_engine.url], capacity=1)
    with httpx.stream(
        "POST", backend.url + "/chat", json={"message": "x", "stream": True}, timeout=CEILING
    ) as r:
        events = chat_events(r)
    assert [name for name, _ in events] == ["message"] * 5
    assert [next(iter(data)) for _, data in events] == ["delta", "delta", "delta", "delta", "done"]
