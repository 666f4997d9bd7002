"""What the two hot endpoints ask the engine, shared by their FastAPI routes and the fast lane: the /chat policy
(system prompt, defaults, grounding) and the checked /v1/chat/completions body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...grounding.gate import STOP_SEQUENCES, Gate
from ..api_errors import ApiError
from .openai_request import engine_body
from .recording import answer_hook, student_conversation

if TYPE_CHECKING:
    from ..engine.engine_call import EngineCall
    from ..request_ids import Trace
    from ..state import Backend
    from .schemas import ChatRequest, OpenAIChatRequest


async def chat_call(state: Backend, body: ChatRequest, trace: Trace) -> EngineCall:
    """The engine request for a validated /chat body, whole: the messages (grounded in the taxonomy's passages
    when the request or the settings say so), the sampling (the request's own only with ``client_sampling``), the
    sources, the gate the answer passes (``grounding.gate``) and, for a student (``trace.who``), the conversation
    it is recorded in (``recording``).
    Raises ``ApiError`` 400 for a system prompt the settings do not allow, 404 for a ``conversation_id`` that is
    not the student's."""
    settings = state.settings
    if body.system_prompt is not None and not settings.allow_system_prompt_override:
        raise ApiError(
            400,
            "system_prompt: this server does not allow overriding the system prompt "
            "(allow_system_prompt_override is off)",
        )
    recorded = await student_conversation(state.classroom, trace, body.conversation_id)
    system = body.system_prompt if body.system_prompt is not None else settings.system_prompt
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": m.role, "content": m.content} for m in body.conversation_history]
    messages.append({"role": "user", "content": body.message})
    # A request's own temperature and max_tokens count only where the server lets clients choose them
    # (client_sampling); otherwise the settings win, and the answer's ``sampling`` says which values were used.
    own = settings.client_sampling
    payload: dict[str, Any] = {
        "model": state.pool.default_model(settings.served_model_name),
        "messages": messages,
        "max_tokens": body.max_tokens if own and body.max_tokens is not None else settings.max_tokens,
        "temperature": body.temperature if own and body.temperature is not None else settings.temperature,
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
        gate, sources = Gate(check=False), []
    else:
        payload["messages"] = found.messages
        payload["stop"] = STOP_SEQUENCES
        gate, sources = (
            Gate(body.message, found.material, mode=settings.grounding_answer),
            found.source_dicts(),
        )
    hook = None
    if recorded is not None and state.classroom is not None:
        seat, conversation_id = recorded
        hook = answer_hook(state.classroom, seat, conversation_id, body.message, sources, found is not None)
    direct = gate.direct() if found is not None else None
    if direct is not None:
        return state.proxy.material_answer(payload, direct, gate, sources, hook)
    return state.proxy.chat(payload, gate, sources, hook)


def completions_call(state: Backend, body: OpenAIChatRequest) -> EngineCall:
    """The engine request for a validated body; raises ``ApiError`` 422 for fields that do not fit together or
    the server's limits."""
    return state.proxy.completions(engine_body(body, state.settings.context_length), bool(body.stream))
