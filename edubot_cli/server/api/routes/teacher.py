"""The teacher's page (``GET /teacher``) and its API: log in with the teacher key (``POST /teacher/login`` sets the
teacher's session cookie), the classes with today's figures, a class's students and conversations, any
conversation with its sources, and the live feed of a class (``GET /teacher/events``, server-sent events). Who is
asking was settled by the guard (``edge.sessions``): every route here but ``login`` and ``session`` is the
teacher's only."""

from __future__ import annotations

import asyncio
import math
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.responses import Response as StarletteResponse
from starlette.types import Receive, Scope, Send

from ....safety.verdict import CATEGORIES
from ...api_errors import ApiError
from ...classroom import LiveFeed, message_json, stamp
from ...edge.sessions import TEACHER_COOKIE, TEACHER_MAX_AGE, clear_cookie, cookies, set_cookie
from ...engine.sse import event
from ...paths import TEACHER
from ...request_ids import TEACHER as TEACHER_ID
from ...request_ids import trace_of
from ...state import backend
from ..class_schemas import (
    TeacherClass,
    TeacherConversation,
    TeacherConversationDetail,
    TeacherFlag,
    TeacherLogin,
    TeacherReviewed,
    TeacherSession,
    TeacherStudent,
)
from ..schemas import ErrorResponse
from .classroom import conversation_json

if TYPE_CHECKING:
    from ....classroom.store import ClassInfo, FlaggedMessage, Store

router = APIRouter(tags=["teacher"])

KEEP_ALIVE = 15.0
"""Seconds between the live feed's keep-alive comments (proxies close a connection that stays silent)."""
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse} for status in (401, 403, *statuses)}


def unknown_class() -> ApiError:
    return ApiError(404, "no such class", code="unknown_class")


@router.get(TEACHER, include_in_schema=False)
async def page(request: Request) -> Any:
    """The teacher's page (its login form, then the classes)."""
    path = backend(request).static_dir / "teacher.html"
    if not path.is_file():
        raise ApiError(404, "the teacher's page is not installed", code="not_found")
    return FileResponse(path, media_type="text/html")


@router.post(
    f"{TEACHER}/login",
    response_model=TeacherSession,
    summary="Log in with the teacher key (sets the teacher's session cookie)",
    responses=_errors(415, 422, 429, 503),
)
async def login(body: TeacherLogin, request: Request) -> Any:
    """401 ``wrong_teacher_key``; after ``auth_failures_per_minute`` wrong keys from one address, 429 with
    ``Retry-After`` (even for the right key) until the oldest of them is a minute old."""
    state = backend(request)
    trace = trace_of(request.scope)
    client = trace.client or "unknown"
    failures = state.teacher_failures
    wait = failures.locked(client)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"too many wrong teacher keys from your address; try again in {seconds} s",
            code="too_many_auth_failures",
            headers={"Retry-After": str(seconds)},
        )

    def attempt(store: Store) -> tuple[str | None, bool]:
        return store.teacher_login(body.key), store.teacher_key_info() is not None

    found = await state.classroom.run(attempt)
    token, key_set = found if found is not None else (None, False)
    if token is None:
        failures.fail(client)
        hint = (
            "check it"
            if key_set
            else "no teacher key is set yet: run `edubot class teacher-key` on the server"
        )
        raise ApiError(401, f"that is not the teacher key ({hint})", code="wrong_teacher_key")
    response = JSONResponse({"teacher": True})
    response.headers.append(
        "set-cookie", set_cookie(TEACHER_COOKIE, token, secure=trace.https, max_age=TEACHER_MAX_AGE)
    )
    return response


@router.post(
    f"{TEACHER}/logout",
    response_model=TeacherSession,
    summary="Log out: ends the teacher's session and removes its cookie",
    responses=_errors(415, 503),
)
async def logout(request: Request) -> Any:
    state = backend(request)
    trace = trace_of(request.scope)
    token = cookies(request.headers.get("cookie")).get(TEACHER_COOKIE)
    if token is not None:
        await state.classroom.run(lambda store: store.teacher_logout(token))
        state.classroom.forget(token)
    response = JSONResponse({"teacher": False})
    response.headers.append("set-cookie", clear_cookie(TEACHER_COOKIE, secure=trace.https))
    return response


@router.get(
    f"{TEACHER}/session",
    response_model=TeacherSession,
    summary="Whether this browser holds a teacher's session",
    responses=_errors(),
)
async def session(request: Request) -> Any:
    return {"teacher": trace_of(request.scope).who == TEACHER_ID}


def class_json(klass: ClassInfo, stats: dict[str, int]) -> dict[str, Any]:
    return {
        "id": klass.id,
        "name": klass.name,
        "code": klass.code,
        "mode": klass.mode,
        "scope": list(klass.scope),
        "daily_limit": klass.daily_limit,
        "open": klass.open,
        "created": stamp(klass.created),
        "stats": stats,
    }


@router.get(
    f"{TEACHER}/classes",
    response_model=list[TeacherClass],
    summary="The classes, with their codes and today's figures",
    responses=_errors(503),
)
async def classes(request: Request) -> Any:
    state = backend(request)
    today = date.today()

    def read(store: Store) -> list[dict[str, Any]]:
        return [class_json(k, store.class_stats(k.id, today)) for k in store.classes()]

    return await state.classroom.run(read, settled=True) or []


async def _class(request: Request, class_id: str) -> ClassInfo:
    found = await backend(request).classroom.run(lambda store: store.get_class_by_id(class_id))
    if found is None:
        raise unknown_class()
    return found


@router.get(
    f"{TEACHER}/classes/{{class_id}}/students",
    response_model=list[TeacherStudent],
    summary="A class's students: last activity, messages, flagged messages",
    responses=_errors(404, 503),
)
async def students(class_id: str, request: Request) -> Any:
    await _class(request, class_id)
    found = await backend(request).classroom.run(lambda store: store.students(class_id), settled=True) or []
    return [
        {
            "id": s.student.id,
            "nickname": s.student.nickname,
            "joined": stamp(s.student.created),
            "last_active": stamp(s.last_active),
            "messages": s.messages,
            "flags": s.flags,
        }
        for s in found
    ]


@router.get(
    f"{TEACHER}/classes/{{class_id}}/conversations",
    response_model=list[TeacherConversation],
    summary="A class's conversations, the most recent first",
    responses=_errors(404, 503),
)
async def class_conversations(class_id: str, request: Request) -> Any:
    await _class(request, class_id)

    def read(store: Store) -> list[dict[str, Any]]:
        names = {s.student.id: s.student.nickname for s in store.students(class_id)}
        return [
            {**conversation_json(c), "student_id": c.student_id, "nickname": names.get(c.student_id, "")}
            for c in store.conversations(class_id=class_id)
            if c.messages
        ]

    return await backend(request).classroom.run(read, settled=True) or []


SEVERITY_ORDER = ("high", "medium", "low")


def flag_json(found: FlaggedMessage) -> dict[str, Any]:
    labels = sorted(found.safety_flags)
    severities = {label.rsplit(":", 1)[1] for label in labels}
    m = found.message
    return {
        "message_id": m.id,
        "conversation_id": m.conversation_id,
        "student_id": found.student_id,
        "nickname": found.nickname,
        "role": m.role,
        "text": m.text,
        "created": stamp(m.created),
        "flags": labels,
        "severity": next((s for s in SEVERITY_ORDER if s in severities), "low"),
        "categories": sorted(
            {label.rsplit(":", 1)[0] for label in labels},
            key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES),
        ),
        "reviewed": found.reviewed,
    }


@router.get(
    f"{TEACHER}/classes/{{class_id}}/flags",
    response_model=list[TeacherFlag],
    summary="A class's flagged messages: not yet reviewed first, then by severity, the newest first",
    responses=_errors(404, 503),
)
async def flags(class_id: str, request: Request) -> Any:
    """What moderation flagged in the class (docs/safety.md): each message with its severity, categories and
    conversation, and whether it was reviewed."""
    await _class(request, class_id)
    found = await backend(request).classroom.run(lambda store: store.flagged(class_id), settled=True) or []
    shown = [flag_json(f) for f in found]  # the newest first, kept within each group by the stable sort
    return sorted(shown, key=lambda f: (f["reviewed"], SEVERITY_ORDER.index(f["severity"])))


@router.post(
    f"{TEACHER}/messages/{{message_id}}/reviewed",
    response_model=TeacherReviewed,
    summary="Mark a flagged message reviewed",
    responses=_errors(404, 415, 503),
)
async def reviewed(message_id: int, request: Request) -> Any:
    from ....classroom.store import UnknownMessage

    def mark(store: Store) -> list[str] | None:
        try:
            return store.review(message_id)
        except UnknownMessage:
            return None

    found = await backend(request).classroom.run(mark)
    if found is None:
        raise ApiError(404, "no such message", code="message_not_found")
    return {"message_id": message_id, "reviewed": True, "flags": found}


@router.get(
    f"{TEACHER}/conversations/{{conversation_id}}",
    response_model=TeacherConversationDetail,
    summary="Any conversation, with its messages and their sources",
    responses=_errors(404, 503),
)
async def conversation(conversation_id: str, request: Request) -> Any:
    def read(store: Store) -> Any:
        summary = store.conversation(conversation_id)
        if summary is None:
            return None
        student = store.student(summary.student_id)
        return summary, student, store.messages(conversation_id)

    found = await backend(request).classroom.run(read, settled=True)
    if found is None:
        raise ApiError(404, "no such conversation", code="conversation_not_found")
    summary, student, messages = found
    detail = {
        **conversation_json(summary),
        "student_id": summary.student_id,
        "nickname": student.nickname if student is not None else "",
    }
    return {"conversation": detail, "messages": [message_json(m) for m in messages]}


@router.get(
    f"{TEACHER}/events",
    summary="A class's new messages as they are stored (server-sent events)",
    responses={**_errors(404), 200: {"content": {"text/event-stream": {}}}},
)
async def events(class_id: str, request: Request) -> Any:
    """``text/event-stream``: first ``data: {"live": {"class_id": ...}}``, then for each question answered in the
    class, once stored, ``data: {"class_id", "conversation_id", "student": {"id", "nickname"}, "messages":
    [question, answer]}`` (messages as ``GET /teacher/conversations/{id}`` shows them); a comment every 15 s
    keeps the connection open. It ends when the server stops."""
    await _class(request, class_id)
    return LiveEvents(backend(request).classroom.live, class_id)


class LiveEvents(StarletteResponse):
    """The live feed of one class as an SSE response, until the client leaves or the feed ends."""

    def __init__(self, feed: LiveFeed, class_id: str) -> None:
        # Deliberately not Response.__init__: the body is the feed.
        self.feed = feed
        self.class_id = class_id
        self.background = None
        self.status_code = 200
        self.raw_headers = list(SSE_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        number, queue = self.feed.subscribe(self.class_id)
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send(
                {
                    "type": "http.response.body",
                    "body": event({"live": {"class_id": self.class_id}}),
                    "more_body": True,
                }
            )
            while True:
                item = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {item, gone}, timeout=KEEP_ALIVE, return_when=asyncio.FIRST_COMPLETED
                )
                if item not in done:
                    item.cancel()
                    if gone in done:
                        return
                    await send({"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True})
                    continue
                found = item.result()
                if found is LiveFeed.CLOSED:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                await send({"type": "http.response.body", "body": event(found), "more_body": True})
        except OSError:
            pass  # the client left while we were writing to it
        finally:
            self.feed.unsubscribe(number)
            gone.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
