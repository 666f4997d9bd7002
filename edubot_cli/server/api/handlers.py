"""What the two hot endpoints ask the engine, shared by their FastAPI routes and the fast lane: the /chat policy
(moderation, system prompt, defaults, grounding, scope) and the checked /v1/chat/completions body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...grounding.gate import STOP_SEQUENCES, Gate
from ...safety.scope import OFF, STRICT, out_of_scope_reply
from ..api_errors import ApiError
from .moderated import ModeratedGate, moderated
from .openai_request import engine_body
from .recording import MODERATED, OUT_OF_SCOPE, REFUSED, answer_hook, student_conversation

if TYPE_CHECKING:
    from ..engine.engine_call import EngineCall
    from ..engine.proxy import AnswerHook
    from ..request_ids import Trace
    from ..state import Backend
    from .schemas import ChatRequest, OpenAIChatRequest


async def chat_call(state: Backend, body: ChatRequest, trace: Trace) -> EngineCall:
    """The engine request for a validated /chat body, whole: the student's message through moderation first
    (``moderated``: answered without the engine when it is refused or needs support, masked when it holds personal
    data), the messages (grounded in the taxonomy's passages when the request or the settings say so, within the
    class's scope, checked against the ``scope`` setting), the sampling (the request's own only with
    ``client_sampling``), the sources, the gate the answer passes (``grounding.gate``, then the answer filter) and,
    for a student (``trace.who``), the conversation it is recorded in (``recording``).
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
    safety = state.safety
    verdict = await safety.check(body.message)
    question = verdict.masked
    where: dict[str, Any] = {"request_id": trace.id}
    if recorded is not None:
        seat, conversation_id = recorded
        where.update(
            {
                "class": seat.klass.name,
                "class_id": seat.klass.id,
                "student_id": seat.student.id,
                "nickname": seat.student.nickname,
                "conversation_id": conversation_id,
            }
        )
    safety.report(verdict, where, recorded is not None and state.classroom is not None)
    extra: dict[str, Any] = {"flags": {"message": verdict.to_dict()}} if verdict.flagged else {}

    def hook_for(sources: list[dict[str, Any]], grounded: bool, **flags: Any) -> AnswerHook | None:
        if recorded is None or state.classroom is None:
            return None
        seat, conversation_id = recorded
        return answer_hook(
            state.classroom,
            seat,
            conversation_id,
            question,
            sources,
            grounded,
            question_flags=verdict.labels,
            **flags,
        )

    system = body.system_prompt if body.system_prompt is not None else settings.system_prompt
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": m.role, "content": m.content} for m in body.conversation_history]
    messages.append({"role": "user", "content": question})
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
    reply = safety.moderator.reply(verdict) if safety.enabled else None
    if reply is not None:
        hook = hook_for([], False, flags=(MODERATED,))
        return state.proxy.material_answer(payload, reply, Gate(check=False), [], hook, extra)
    grounded = body.grounded if body.grounded is not None else state.grounding.default
    subtrees = recorded[0].klass.scope if recorded is not None else ()
    found = None
    if grounded:
        history = messages[1 if system else 0 : -1]
        found = await state.grounding.ground(system, history, question, subtrees, safety.scope != OFF)
    scope_flags: tuple[str, ...] = ()
    if found is not None and found.scope is not None:
        extra["scope"] = {
            "mode": safety.scope,
            "in_scope": found.scope.in_scope,
            "coverage": found.scope.coverage,
        }
        if not found.scope.in_scope:
            scope_flags = (OUT_OF_SCOPE,)
            if safety.scope == STRICT:
                topics = await state.grounding.topics(subtrees)
                hook = hook_for([], False, flags=(REFUSED, OUT_OF_SCOPE))
                return state.proxy.material_answer(
                    payload, out_of_scope_reply(topics), Gate(check=False), [], hook, extra
                )
    if found is None:
        gate, sources = Gate(check=False), []
    else:
        payload["messages"] = found.messages
        payload["stop"] = STOP_SEQUENCES
        gate, sources = (
            Gate(question, found.material, mode=settings.grounding_answer),
            found.source_dicts(),
        )
    checked = moderated(safety, gate, verdict, extra)
    answer_flags = checked.answer_flags if isinstance(checked, ModeratedGate) else None
    hook = hook_for(sources, found is not None, flags=scope_flags, answer_flags=answer_flags)
    direct = gate.direct() if found is not None else None
    if direct is not None:
        if isinstance(checked, ModeratedGate) and checked.reminder:
            direct += "\n\n" + checked.reminder
        return state.proxy.material_answer(payload, direct, gate, sources, hook, extra)
    return state.proxy.chat(payload, checked, sources, hook, extra)


def completions_call(state: Backend, body: OpenAIChatRequest) -> EngineCall:
    """The engine request for a validated body; raises ``ApiError`` 422 for fields that do not fit together or
    the server's limits."""
    return state.proxy.completions(engine_body(body, state.settings.context_length), bool(body.stream))
