"""A student's /chat question in the classroom's record: the conversation it goes into, and the hook through which
the proxy hands over the finished exchange (``engine.proxy.AnswerHook``).

Only a student's questions are recorded (an API-key holder's, the teacher's or, with no class defined, anyone's
are not). A request may name the conversation it continues (``conversation_id``, from the ``started`` event or
the JSON answer of an earlier question); one that is not the student's, or unknown, is refused 404 alike, so an id
cannot be probed. Without one, a new conversation starts. A class with a daily limit (``edubot class create
--daily-limit N``) refuses a student's question beyond N in a day (this server's calendar day) with 429
``daily_limit``; the count is of questions already stored, so an answer still running is not yet in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from ...classroom.recorder import Exchange
from ...grounding.gate import NOT_FOUND
from ..api_errors import ApiError
from ..engine.proxy import AnswerHook, Ending

if TYPE_CHECKING:
    from ...classroom.store import Seat
    from ..classroom import Classroom
    from ..request_ids import Trace

REFUSED = "refused"
"""The flag of an answer that says the class's notes do not cover the question (the teacher's "refusals")."""
OUT_OF_SCOPE = "out_of_scope"
"""The flag of an answer to a question the class's scope does not cover (``scope``: refused under ``strict``)."""
MODERATED = "moderated"
"""The flag of an answer moderation gave instead of the model's (the support or refusal message)."""


def conversation_not_found() -> ApiError:
    return ApiError(
        404,
        "conversation_id: no such conversation of yours; leave it out to start a new one",
        code="conversation_not_found",
        field="conversation_id",
    )


async def student_conversation(
    classroom: Classroom | None, trace: Trace, conversation_id: str | None
) -> tuple[Seat, str] | None:
    """The asking student's seat and the conversation their question goes into, or None when the request is not
    a student's (nothing is recorded). Raises 404 ``conversation_not_found`` for a ``conversation_id`` that is not
    theirs."""
    seat = trace.who.seat
    if seat is None or classroom is None:
        return None
    limit = seat.klass.daily_limit
    if limit is not None:
        today = datetime.combine(datetime.now().date(), time.min).astimezone()
        asked = await classroom.run(lambda store: store.questions_since(seat.student.id, today), settled=True)
        if asked is not None and asked >= limit:
            tomorrow = today + timedelta(days=1)
            seconds = max(1, int((tomorrow - datetime.now(UTC)).total_seconds()) + 1)
            raise ApiError(
                429,
                f"you have asked the {limit} questions of today (your class's daily limit); ask again tomorrow",
                code="daily_limit",
                headers={"Retry-After": str(seconds)},
            )
    found = await classroom.conversation(seat.student.id, conversation_id)
    if found is None:
        raise conversation_not_found()
    return seat, found


def answer_hook(
    classroom: Classroom,
    seat: Seat,
    conversation_id: str,
    question: str,
    sources: list[dict[str, Any]],
    grounded: bool,
    *,
    question_flags: Sequence[str] = (),
    flags: Sequence[str] = (),
    answer_flags: Sequence[str] | None = None,
) -> AnswerHook:
    """The hook that records ``question`` (masked by moderation, with its ``question_flags``) and its answer,
    whichever way it ends. The answer's flags: ``refused`` when it says the notes do not cover the question,
    ``flags`` (``out_of_scope`` ...), and ``answer_flags`` as the answer filter leaves them when the answer ends."""
    asked = datetime.now(UTC)

    def ended(end: Ending) -> None:
        found = {REFUSED} if NOT_FOUND in end.text else set()
        found.update(flags)
        found.update(answer_flags or ())
        classroom.record(
            Exchange(
                conversation_id=conversation_id,
                class_id=seat.klass.id,
                student_id=seat.student.id,
                nickname=seat.student.nickname,
                question=question,
                asked=asked,
                answer=end.text,
                finish_reason=end.finish_reason,
                sources=sources,
                mode=seat.klass.mode,
                grounded=grounded,
                prompt_tokens=end.prompt_tokens,
                completion_tokens=end.completion_tokens,
                first_token_s=None if end.ttft is None else round(end.ttft, 6),
                latency_s=None if end.latency is None else round(end.latency, 6),
                flags=tuple(sorted(found)),
                question_flags=tuple(question_flags),
                answered=datetime.now(UTC),
            )
        )

    return AnswerHook(conversation_id, ended)
