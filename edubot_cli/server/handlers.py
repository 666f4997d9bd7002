"""What the two hot endpoints ask the engine, shared by their FastAPI routes and the fast lane: the /chat policy
(system prompt, defaults, grounding) and the checked /v1/chat/completions body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api_errors import ApiError
from .openai_request import engine_body

if TYPE_CHECKING:
    from .engine_call import EngineCall
    from .schemas import ChatRequest, OpenAIChatRequest
    from .state import Backend


def chat_call(state: Backend, body: ChatRequest) -> EngineCall:
    """The engine request for a validated /chat body; raises ``ApiError`` 400 for a system prompt the settings
    do not allow."""
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


def completions_call(state: Backend, body: OpenAIChatRequest) -> EngineCall:
    """The engine request for a validated body; raises ``ApiError`` 422 for fields that do not fit together or
    the server's limits."""
    return state.proxy.completions(engine_body(body, state.settings.context_length), bool(body.stream))
