"""The optional guard model (``moderation_url``), against a real local HTTP server speaking the OpenAI protocol
with Llama Guard's replies (the scripted stub engine)."""

from __future__ import annotations

import logging

import pytest

from edubot_cli.safety.guard import GuardClient, guard_flags, parse_guard
from edubot_cli.safety.moderation import Moderator
from edubot_cli.safety.verdict import Flag
from tests.support.stub_engine import Step, StubEngine


@pytest.mark.parametrize(
    ("reply", "codes"),
    [
        ("safe", []),
        ("  safe\n", []),
        ("unsafe\nS11", ["S11"]),
        ("unsafe\nS1,S10", ["S1", "S10"]),
        ("unsafe", ["unsafe"]),
        ("I cannot help with that.", None),
        ("", None),
    ],
)
def test_parse_llama_guard_replies(reply: str, codes: list[str] | None) -> None:
    assert parse_guard(reply) == codes


def test_guard_categories_map_onto_moderation_categories() -> None:
    assert guard_flags(["S11", "S1", "S7", "S99"]) == [
        Flag("self_harm", "high", "support", "guard.S11"),
        Flag("violence", "high", "refuse", "guard.S1"),
        Flag("personal_data", "low", "remind", "guard.S7"),
        Flag("other", "medium", "refuse", "guard.S99"),
    ]


def test_the_guard_is_asked_with_the_message_and_its_verdict_is_mapped(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["unsafe\nS11"]), Step(chunks=["safe"]))
    with GuardClient(stub_engine.url) as guard:
        assert guard.check([{"role": "user", "content": "i feel like nobody cares"}]) == [
            Flag("self_harm", "high", "support", "guard.S11")
        ]
        assert guard.check([{"role": "user", "content": "what is photosynthesis"}]) == []
        assert guard.model == "stub-model"  # the first model /v1/models lists
    assert [r["messages"] for r in stub_engine.requests] == [
        [{"role": "user", "content": "i feel like nobody cares"}],
        [{"role": "user", "content": "what is photosynthesis"}],
    ]
    assert {(r["model"], r["temperature"], r["stream"]) for r in stub_engine.requests} == {
        ("stub-model", 0, False)
    }


def test_the_moderator_adds_the_guards_flags_to_the_cpu_verdict(stub_engine: StubEngine) -> None:
    stub_engine.script(Step(chunks=["unsafe\nS11"]))
    moderator = Moderator(guard=GuardClient(stub_engine.url + "/v1", model="llama-guard"))
    try:
        verdict = moderator.check_message("you're an idiot, i feel like nobody cares")
    finally:
        moderator.close()
    assert [f.rule for f in verdict.flags] == ["harassment.insult", "guard.S11"]
    assert (verdict.action, verdict.labels) == ("support", ["harassment:medium", "self_harm:high"])
    assert stub_engine.requests[0]["model"] == "llama-guard"


@pytest.mark.parametrize(
    ("step", "why"),
    [
        (
            Step(chunks=["I am not Llama Guard."]),
            "the reply is not Llama Guard's safe/unsafe: 'I am not Llama Guard.'",
        ),
        (Step(status=500), "answered 500"),
    ],
)
def test_a_guard_that_fails_leaves_the_cpu_verdict_and_rests(
    stub_engine: StubEngine, caplog: pytest.LogCaptureFixture, step: Step, why: str
) -> None:
    stub_engine.script(step)
    moderator = Moderator(guard=GuardClient(stub_engine.url, model="llama-guard", retry_after=3600))
    with caplog.at_level(logging.WARNING, logger="edubot.safety"):
        first = moderator.check_message("i want to kill myself")
        second = moderator.check_message("you are an idiot")
    moderator.close()
    assert [f.rule for f in first.flags] == ["self_harm.act"]
    assert [f.rule for f in second.flags] == ["harassment.insult"]
    assert len(stub_engine.requests) == 1  # not asked again while it rests
    assert [r.getMessage() for r in caplog.records] == [
        f"moderation guard {stub_engine.url}/v1: {why}; the CPU filters' verdict stands (next try in 3600 s)"
    ]


def test_an_unreachable_guard_is_logged_and_the_cpu_verdict_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub = StubEngine().start()
    url = stub.url
    stub.stop(abrupt=True)  # nothing listens on the port now
    guard = GuardClient(url, model="llama-guard", retry_after=0)
    with caplog.at_level(logging.WARNING, logger="edubot.safety"):
        assert guard.check([{"role": "user", "content": "hello"}]) is None
        assert guard.check([{"role": "user", "content": "hello"}]) is None  # tried again: no rest
    guard.close()
    assert guard.failures == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"moderation guard {url}/v1: not reachable (ConnectError); the CPU filters' verdict stands (next try in 0 s)"
    ] * 2
