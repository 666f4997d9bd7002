"""OpenAI-compatible pass-through: ``GET /v1/models`` and ``POST /v1/chat/completions`` (streamed or not).

Bodies are checked lightly (a ``messages`` list is required) and forwarded byte for byte; answers come back
unchanged, except engine failures, which become the API's own 502/503/504 errors naming the engine URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..schemas import ErrorResponse, OpenAIChatRequest
from ..state import backend

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 413, 422, 429, 502, 503, 504)
}


@router.get("/models", summary="Models of an engine (OpenAI format)", responses=ERRORS)
async def models(request: Request) -> Any:
    return backend(request).proxy.models()


@router.post(
    "/chat/completions",
    summary="OpenAI chat completions, passed to the engine",
    responses={**ERRORS, 200: {"content": {"application/json": {}, "text/event-stream": {}}}},
)
async def completions(body: OpenAIChatRequest, request: Request) -> Any:
    raw = await request.body()  # already read and cached by the validation above
    return backend(request).proxy.completions(raw, body.stream)
