"""``POST /chat``: a question (with optional history) answered as JSON or as a server-sent event stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ...paths import CHAT
from ...request_ids import trace_of
from ...state import backend
from ..fastlane import refuse_duplicate_keys
from ..handlers import chat_call
from ..schemas import ChatRequest, ChatResponse, ErrorResponse

router = APIRouter()

STREAM_DOC = (
    'With `stream: true`: `text/event-stream` that starts with `data: {"started": {"id": "<request id>"}}` as soon as '
    'the question waits for a slot (then `data: {"queued": {"ahead": N}}` while it waits, and `data: {"stage": '
    '"writing"}` once it is in the engine after all) or is in the engine, then `data: {"delta": "..."}` events, then '
    '`data: {"done": true, "usage": {...}, "latency_seconds": ..., "ttft_seconds": ..., "sampling": '
    '{"temperature", "max_tokens"}}`; clients ignore events they do not know. The request\'s `temperature` and '
    "`max_tokens` are used only when the server allows it (`client_sampling`); `sampling` says which values were. "
    "A failure before the stream starts (no engine reachable, the line full, a restart) is "
    "an HTTP error as without streaming; a failure after it (a prompt over the engine's context, the engine "
    'dying, the server stopping) ends the stream with `event: error` + `data: {"error": {"code", "message"}}`.'
)
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 408, 413, 415, 422, 429, 502, 503, 504)
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
    return await chat_call(backend(request), body, trace_of(request.scope))
