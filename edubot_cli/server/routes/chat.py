"""``POST /chat``: a question (with optional history) answered as JSON or as a server-sent event stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..api_errors import ApiError
from ..proxy import EngineCall
from ..schemas import ChatRequest, ChatResponse, ErrorResponse
from ..state import Backend, backend

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
    "/chat",
    response_model=ChatResponse,
    summary="Ask a question",
    description=STREAM_DOC,
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
)
async def chat(body: ChatRequest, request: Request) -> Any:
    return chat_call(backend(request), body)


def chat_call(state: Backend, body: ChatRequest) -> EngineCall:
    """The engine request for a validated /chat body (also used by the fast lane, see ``fastlane``)."""
    settings = state.settings
    if body.system_prompt is not None and not settings.allow_system_prompt_override:
        raise ApiError(
            400,
            "system_prompt: this server does not allow overriding the system prompt "
            "(allow_system_prompt_override is off)",
        )
    system = body.system_prompt if body.system_prompt is not None else settings.system_prompt
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": m.role, "content": m.content} for m in body.conversation_history]
    messages.append({"role": "user", "content": body.message})
    payload: dict[str, Any] = {
        "model": state.pool.default_model(settings.served_model_name),
        "messages": messages,
        "max_tokens": body.max_tokens if body.max_tokens is not None else settings.max_tokens,
        "temperature": body.temperature if body.temperature is not None else settings.temperature,
        "stream": body.stream,
    }
    if body.stream:
        payload["stream_options"] = {"include_usage": True}
    grounded = body.grounded if body.grounded is not None else state.grounding.default
    if not grounded:
        return state.proxy.chat(payload)
    history = messages[1 if system else 0 : -1]

    async def ground(payload: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        found = await state.grounding.ground(system, history, body.message)
        if found is None:
            return payload, []
        return {**payload, "messages": found.messages}, found.sources

    return state.proxy.chat(payload, ground)
