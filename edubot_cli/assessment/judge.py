"""An optional judge: any OpenAI-compatible ``/v1/chat/completions`` grades an answer 0–5 against the reference.

The judge is asked at temperature 0 to reply with one JSON object, ``{"grade": <integer 0-5>, "reason": "<one
sentence>"}``, and nothing else. Its reply is parsed strictly (``parse_verdict``): the whole message must be that
object (whitespace around it is allowed, a code fence or prose is not), ``grade`` an integer from 0 to 5 (not a
float, a string or a boolean) and ``reason`` a non-empty string; other keys are ignored. A reply that fails, or a
judge that cannot be reached or answers with an error, gives that item an ``error`` instead of a grade: the
evaluation goes on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import EdubotError
from ..openai_http import http_client, model_ids
from ..urls import openai_base

JUDGE_KEY_ENV = "EDUBOT_JUDGE_API_KEY"
"""Environment variable holding the judge's bearer key, if it needs one."""
MAX_GRADE = 5
JUDGE_MAX_TOKENS = 200

SYSTEM = (
    "You grade a student's answer to a question against the teacher's reference answer. Reply with one JSON "
    'object and nothing else: {"grade": <integer 0-5>, "reason": "<one sentence>"}. 5: correct and complete, '
    "4: correct with a small gap, 3: partly correct, 2: mostly wrong or missing the point, 1: wrong, 0: no answer "
    "or off topic."
)


class JudgeError(EdubotError):
    """The judge cannot be used at all (no model to ask for)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A grade with its reason, or ``error`` when the judge gave none for this item."""

    grade: int | None = None
    reason: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"grade": self.grade, "reason": self.reason, "error": self.error}


def parse_verdict(content: str) -> Verdict:
    """The verdict in a judge's reply (see the module doc for what is accepted)."""
    try:
        data = json.loads(content)
    except ValueError:
        return Verdict(error=f"the judge's reply is not JSON: {content.strip()[:80]!r}")
    if not isinstance(data, dict):
        return Verdict(error="the judge's reply is not a JSON object")
    grade, reason = data.get("grade"), data.get("reason")
    if type(grade) is not int or not 0 <= grade <= MAX_GRADE:
        return Verdict(error=f"the judge's grade is not an integer from 0 to {MAX_GRADE}: {grade!r}")
    if not isinstance(reason, str) or not reason.strip():
        return Verdict(error="the judge's reply has no reason")
    return Verdict(grade=grade, reason=reason.strip())


def judge_messages(question: str, reference: str, answer: str) -> list[dict[str, str]]:
    """The chat messages that ask for a verdict."""
    user = f"Question:\n{question}\n\nReference answer:\n{reference}\n\nStudent's answer:\n{answer}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


class Judge:
    """Asks the OpenAI-compatible server at ``url`` (with or without ``/v1``) for verdicts with ``model`` (default:
    the first model its ``/v1/models`` lists); the key comes from ``EDUBOT_JUDGE_API_KEY``."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_base = openai_base(self.url)
        self._http = http_client(os.environ.get(JUDGE_KEY_ENV), timeout, transport)
        self.model = model or self._first_model()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _first_model(self) -> str:
        where = f"{self.api_base}/models"
        try:
            response = self._http.get(where)
            response.raise_for_status()
            model = model_ids(response.json())[0]
        except httpx.HTTPError as exc:
            self.close()
            raise JudgeError(
                f"cannot list the judge's models at {where}: {exc}",
                hint="check --judge URL, or name the model with --judge-model",
            ) from exc
        except (ValueError, IndexError) as exc:
            self.close()
            raise JudgeError(
                f"{where} lists no model", hint="name the judge's model with --judge-model"
            ) from exc
        return str(model)

    def grade(self, question: str, reference: str, answer: str) -> Verdict:
        """The judge's verdict on ``answer``; any failure is the verdict's ``error``."""
        payload = {
            "model": self.model,
            "messages": judge_messages(question, reference, answer),
            "temperature": 0,
            "max_tokens": JUDGE_MAX_TOKENS,
            "stream": False,
        }
        where = f"{self.api_base}/chat/completions"
        try:
            response = self._http.post(where, json=payload)
        except httpx.HTTPError as exc:
            return Verdict(error=f"the judge at {where} did not answer: {type(exc).__name__}")
        if response.status_code != 200:
            return Verdict(error=f"the judge answered {response.status_code}: {response.text.strip()[:80]!r}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return Verdict(error="the judge's response is not an OpenAI chat completion")
        if not isinstance(content, str):
            return Verdict(error="the judge's reply has no text")
        return parse_verdict(content)
