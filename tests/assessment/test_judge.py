"""The judge: strict parsing of its verdicts, and a stub judge server with good and bad replies."""

from __future__ import annotations

import pytest

from edubot_cli.assessment.judge import SYSTEM, Judge, JudgeError, Verdict, parse_verdict
from edubot_cli.procgroup import free_port
from tests.support.stub_engine import Step, StubEngine


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"grade": 4, "reason": "Correct, misses NADPH."}', Verdict(4, "Correct, misses NADPH.")),
        ('  \n{"reason": " ok ", "grade": 0, "extra": 1}\n', Verdict(0, "ok")),
        ('{"grade": 5, "reason": "Complete."}', Verdict(5, "Complete.")),
        ("Grade: 4", Verdict(error="the judge's reply is not JSON: 'Grade: 4'")),
        ('```json\n{"grade": 4, "reason": "x"}\n```', Verdict(error="the judge's reply is not JSON: '```json\\n{\"grade\": 4, \"reason\": \"x\"}\\n```'")),
        ("[4]", Verdict(error="the judge's reply is not a JSON object")),
        ('{"grade": 6, "reason": "x"}', Verdict(error="the judge's grade is not an integer from 0 to 5: 6")),
        ('{"grade": -1, "reason": "x"}', Verdict(error="the judge's grade is not an integer from 0 to 5: -1")),
        ('{"grade": 4.0, "reason": "x"}', Verdict(error="the judge's grade is not an integer from 0 to 5: 4.0")),
        ('{"grade": "4", "reason": "x"}', Verdict(error="the judge's grade is not an integer from 0 to 5: '4'")),
        ('{"grade": true, "reason": "x"}', Verdict(error="the judge's grade is not an integer from 0 to 5: True")),
        ('{"grade": 3}', Verdict(error="the judge's reply has no reason")),
        ('{"grade": 3, "reason": "  "}', Verdict(error="the judge's reply has no reason")),
        ("", Verdict(error="the judge's reply is not JSON: ''")),
    ],
)  # fmt: skip
def test_parse_verdict(reply: str, verdict: Verdict) -> None:
    assert parse_verdict(reply) == verdict


def test_a_stub_judge_grades_and_its_bad_replies_are_item_errors() -> None:
    with StubEngine(model="judge-model") as stub:
        stub.script(
            Step(chunks=['{"grade": 3, "reason": "Partly right."}']),
            Step(chunks=["I would give it a 3."]),
            Step(status=500, error_message="judge overloaded"),
        )
        with Judge(stub.url) as judge:
            assert judge.model == "judge-model"  # the first model it lists
            assert judge.grade("Q?", "Ref.", "Answer.") == Verdict(3, "Partly right.")
            assert judge.grade("Q?", "Ref.", "Answer.") == Verdict(
                error="the judge's reply is not JSON: 'I would give it a 3.'"
            )
            failed = judge.grade("Q?", "Ref.", "Answer.")
        asked = stub.requests[0]
    assert failed.grade is None and failed.error is not None
    assert failed.error.startswith("the judge answered 500: ")
    assert asked == {
        "model": "judge-model",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": "Question:\nQ?\n\nReference answer:\nRef.\n\nStudent's answer:\nAnswer.",
            },
        ],
        "temperature": 0,
        "max_tokens": 200,
        "stream": False,
    }


def test_the_key_comes_from_the_environment_and_the_model_can_be_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        content = '{"grade": 5, "reason": "Right."}'
        return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})

    monkeypatch.setenv("EDUBOT_JUDGE_API_KEY", "sekret")
    with Judge("http://judge.example/v1/", "big-model", transport=httpx.MockTransport(reply)) as judge:
        assert judge.grade("Q?", "Ref.", "Answer.") == Verdict(5, "Right.")
    assert [(r.method, str(r.url), r.headers["authorization"]) for r in seen] == [
        ("POST", "http://judge.example/v1/chat/completions", "Bearer sekret")
    ]


def test_an_unreachable_judge_is_an_item_error_or_without_a_model_an_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Judge(url, "m") as judge:
        assert judge.grade("Q?", "Ref.", "A.") == Verdict(
            error=f"the judge at {url}/v1/chat/completions did not answer: ConnectError"
        )
    with pytest.raises(JudgeError) as caught:
        Judge(url)
    assert caught.value.message.startswith(f"cannot list the judge's models at {url}/v1/models: ")
    assert caught.value.hint == "check --judge URL, or name the model with --judge-model"
