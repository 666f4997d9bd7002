"""OpenAI-compatible API: ``GET /v1/models`` and ``POST /v1/chat/completions`` (streamed or not).

A completions body is validated field by field (``schemas.OpenAIChatRequest``) and the engine gets a body rebuilt
from it (``openai_request``), never the client's bytes. Answers come back unchanged, except failures: an engine's
4xx keeps its status with its message sanitised, other engine failures become the API's own 502/503/504 errors
naming the engine, and inside a stream an error is an OpenAI error object followed by ``data: [DONE]``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ...paths import COMPLETIONS, MODELS_V1
from ...state import backend
from ..fastlane import refuse_duplicate_keys
from ..handlers import completions_call
from ..schemas import ErrorResponse, OpenAIChatRequest

router = APIRouter(tags=["OpenAI-compatible"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 408, 413, 415, 422, 429, 502, 503, 504)
}
STREAM_DOC = (
    "Text only; every field is checked and only known fields are forwarded (422 naming the field otherwise). "
    "With `stream: true`: the engine's `text/event-stream`; a failure after the stream started ends it with "
    '`data: {"error": {"message", "type", "code", "param"}}` and `data: [DONE]`.'
)


@router.get(MODELS_V1, summary="Models of an engine (OpenAI format)", responses=ERRORS)
async def models(request: Request) -> Any:
    return backend(request).proxy.models()


@router.post(
    COMPLETIONS,
    summary="OpenAI chat completions, checked and passed to the engine",
    description=STREAM_DOC,
    responses={**ERRORS, 200: {"content": {"application/json": {}, "text/event-stream": {}}}},
)
async def completions(body: OpenAIChatRequest, request: Request) -> Any:
    refuse_duplicate_keys(await request.body())
    return completions_call(backend(request), body)
