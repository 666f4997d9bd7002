"""``POST /chat``: a question (with optional history) answered as JSON or as a server-sent event stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..fastlane import refuse_duplicate_keys
from ..handlers import chat_call
from ..paths import CHAT
from ..schemas import ChatRequest, ChatResponse, ErrorResponse
from ..state import backend

router = APIRouter()

STREAM_DOC = (
    'With `stream: true`: `text/event-stream` of `data: {"delta": "..."}` events, then '
    '`data: {"done": true, "usage": {...}, "latency_seconds": ..., "ttft_seconds": ...}`. The stream starts with '
    "its first event, so a failure before it (a prompt over the engine's context, say) is an HTTP error as "
    'without streaming; a failure after it (after a `data: {"queued": ...}` event too) ends the stream with '
    '`event: error` + `data: {"error": {"code", "message"}}`.'
)
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 408, 413, 415, 422, 429, 502, 503, 504)
}


@router.post(
    CHAT,
    response_model=ChatResponse,
    summary="Ask a question",
    description=STREAM_DOC,
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
)
async def chat(body: ChatRequest, request: Request) -> Any:
    refuse_duplicate_keys(await request.body())
    return await chat_call(backend(request), body)
