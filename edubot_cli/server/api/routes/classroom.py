"""A student's own routes: ``POST /class/join`` (a code and a nickname make a session cookie), ``GET /class/me``,
``POST /class/leave``, and their own conversations (``GET /class/conversations``, ``GET
/class/conversations/{id}``). Who is asking was settled by the guard (``edge.sessions``): these read it from the
request's trace."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ....classroom.codes import normalize_code
from ....classroom.store import BadNickname, ClassClosed, NicknameTaken, UnknownCode
from ...api_errors import ApiError
from ...classroom import message_json, stamp
from ...edge.sessions import STUDENT_COOKIE, STUDENT_MAX_AGE, clear_cookie, cookies, set_cookie
from ...paths import CLASS
from ...request_ids import trace_of
from ...state import backend
from ..class_schemas import (
    ConversationDetail,
    ConversationInfo,
    JoinRequest,
    JoinResponse,
    LeaveResponse,
    MeResponse,
)
from ..schemas import ErrorResponse

router = APIRouter(tags=["classroom"])

UNKNOWN_CODE = "That code is not known: check it with your teacher."
CLASS_CLOSED = "This class is closed: ask your teacher to open it."
NICKNAME_TAKEN = "That nickname is taken in this class: choose another."


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse} for status in statuses}


def conversation_not_found() -> ApiError:
    return ApiError(404, "no such conversation of yours", code="conversation_not_found")


@router.post(
    f"{CLASS}/join",
    response_model=JoinResponse,
    summary="Join a class with its code and a nickname (sets the student's session cookie)",
    responses=_errors(403, 404, 409, 415, 422, 429, 503),
)
async def join(body: JoinRequest, request: Request) -> Any:
    """404 ``unknown_code``, 403 ``class_closed``, 409 ``nickname_taken``; 429 ``too_many_joins`` (with
    ``Retry-After``) beyond 10 attempts a minute from one address or 60 with one code."""
    state = backend(request)
    trace = trace_of(request.scope)
    wait, exhausted = state.join_throttle.acquire(
        trace.client or "unknown", normalize_code(body.code) or body.code.strip().upper()
    )
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        what = "from your address" if exhausted == "address" else "with this code"
        raise ApiError(
            429,
            f"too many tries to join {what}; try again in {seconds} s",
            code="too_many_joins",
            headers={"Retry-After": str(seconds)},
        )
    classroom = state.classroom
    try:
        joined = await classroom.run(lambda store: store.join(body.code, body.nickname))
    except UnknownCode as exc:
        raise ApiError(404, UNKNOWN_CODE, code="unknown_code") from exc
    except ClassClosed as exc:
        raise ApiError(403, CLASS_CLOSED, code="class_closed") from exc
    except NicknameTaken as exc:
        raise ApiError(409, NICKNAME_TAKEN, code="nickname_taken", field="nickname") from exc
    except BadNickname as exc:
        raise ApiError(422, f"nickname: {exc.message}", field="nickname") from exc
    if joined is None:  # no store: no class at all
        raise ApiError(404, UNKNOWN_CODE, code="unknown_code")
    seat, token = joined
    earlier = cookies(request.headers.get("cookie")).get(STUDENT_COOKIE)
    if earlier is not None:  # this browser's earlier seat ends: one browser, one student
        await classroom.run(lambda store: store.leave(earlier))
        classroom.forget(earlier)
    response = JSONResponse(
        {
            "student": {"id": seat.student.id, "nickname": seat.student.nickname},
            "class": {"name": seat.klass.name, "mode": seat.klass.mode},
        }
    )
    response.headers.append(
        "set-cookie", set_cookie(STUDENT_COOKIE, token, secure=trace.https, max_age=STUDENT_MAX_AGE)
    )
    return response


@router.get(
    f"{CLASS}/me", response_model=MeResponse, summary="Whether the server has classes, and who this is"
)
async def me(request: Request) -> Any:
    state = backend(request)
    seat = trace_of(request.scope).who.seat
    return {
        "classes": await state.classroom.classes_on(),
        "student": None if seat is None else {"id": seat.student.id, "nickname": seat.student.nickname},
        "class": None if seat is None else {"name": seat.klass.name, "mode": seat.klass.mode},
    }


@router.post(
    f"{CLASS}/leave",
    response_model=LeaveResponse,
    summary="Leave the class: ends this browser's session and removes its cookie",
    responses=_errors(415, 503),
)
async def leave(request: Request) -> Any:
    state = backend(request)
    trace = trace_of(request.scope)
    token = cookies(request.headers.get("cookie")).get(STUDENT_COOKIE)
    if token is not None:
        await state.classroom.run(lambda store: store.leave(token))
        state.classroom.forget(token)
    response = JSONResponse({"left": trace.who.seat is not None})
    response.headers.append("set-cookie", clear_cookie(STUDENT_COOKIE, secure=trace.https))
    return response


def conversation_json(summary: Any) -> dict[str, Any]:
    return {
        "id": summary.id,
        "title": summary.title,
        "started": stamp(summary.started),
        "last": stamp(summary.last),
        "messages": summary.messages,
    }


@router.get(
    f"{CLASS}/conversations",
    response_model=list[ConversationInfo],
    summary="The student's own conversations, the most recent first",
    responses=_errors(401, 503),
)
async def conversations(request: Request) -> Any:
    state = backend(request)
    seat = trace_of(request.scope).who.seat
    assert seat is not None  # the guard lets no one else in
    found = (
        await state.classroom.run(lambda store: store.conversations(student_id=seat.student.id), settled=True)
        or []
    )
    return [conversation_json(c) for c in found if c.messages]


@router.get(
    f"{CLASS}/conversations/{{conversation_id}}",
    response_model=ConversationDetail,
    summary="One of the student's own conversations, with its messages",
    responses=_errors(401, 404, 503),
)
async def conversation(conversation_id: str, request: Request) -> Any:
    """404 for a conversation that is not the student's (unknown or someone else's alike)."""
    state = backend(request)
    seat = trace_of(request.scope).who.seat
    assert seat is not None  # the guard lets no one else in

    def read(store: Any) -> Any:
        summary = store.conversation_of(conversation_id, seat.student.id)
        return None if summary is None else (summary, store.messages(conversation_id))

    found = await state.classroom.run(read, settled=True)
    if found is None:
        raise conversation_not_found()
    summary, messages = found
    return {"conversation": conversation_json(summary), "messages": [message_json(m) for m in messages]}
