"""What the two hot endpoints ask the engine, shared by their FastAPI routes and the fast lane: the /chat policy
(system prompt, defaults, grounding) and the checked /v1/chat/completions body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...grounding.gate import STOP_SEQUENCES, Gate
from ..api_errors import ApiError
from .openai_request import engine_body

if TYPE_CHECKING:
    from ..engine.engine_call import EngineCall
    from ..state import Backend
    from .schemas import ChatRequest, OpenAIChatRequest


async def chat_call(state: Backend, body: ChatRequest) -> EngineCall:
    """The engine request for a validated /chat body, whole: the messages (grounded in the taxonomy's passages
    when the request or the settings say so), the sources, and the gate the answer passes (``grounding.gate``).
    Raises ``ApiError`` 400 for a system prompt the settings do not allow."""
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
    found = None
    if grounded:
        history = messages[1 if system else 0 : -1]
        found = await state.grounding.ground(system, history, body.message)
    if found is None:
        return state.proxy.chat(payload, Gate(check=False), [])
    payload["messages"] = found.messages
    payload["stop"] = STOP_SEQUENCES
    gate = Gate(body.message, found.material, mode=settings.grounding_answer)
    direct = gate.direct()
    if direct is not None:
        return state.proxy.material_answer(payload, direct, gate, found.source_dicts())
    return state.proxy.chat(payload, gate, found.source_dicts())


def completions_call(state: Backend, body: OpenAIChatRequest) -> EngineCall:
    """The engine request for a validated body; raises ``ApiError`` 422 for fields that do not fit together or
    the server's limits."""
    return state.proxy.completions(engine_body(body, state.settings.context_length), bool(body.stream))
