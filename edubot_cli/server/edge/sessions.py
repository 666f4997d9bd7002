"""Who is asking, for the classroom: the student's and the teacher's session cookies, and what each may reach.

Two cookies, both ``HttpOnly; SameSite=Strict; Path=/``, and ``Secure`` when the request came over https (directly,
or through a trusted proxy that says ``X-Forwarded-Proto: https``): ``edubot_session`` (a student's seat in a class,
set by ``POST /class/join``) and ``edubot_teacher`` (set by ``POST /teacher/login``). Each holds a random token that
the store keeps only hashed.

The rules, applied by the guard (``security.GuardMiddleware``) before any route runs:

* ``/chat``: an API-key holder (``api_key`` set and the right ``Authorization: Bearer``) passes as before. Otherwise,
  once the store has a class (open or closed), the request needs a student's session or the teacher's: else 401
  ``join_required``. With no class defined nothing changes: open, or the key when ``api_key`` is set.
* ``/v1/*``: once there is a class, only with the API key (with no ``api_key`` set it is closed: 401
  ``api_key_required``), so that nobody reaches the engine around the class's record.
* ``/class/*`` (a student's own): a student's session, but for ``join``, ``me`` and ``leave``: else 401
  ``join_required``.
* ``/teacher/*``: the teacher's session, but for ``login`` and ``session``: else 401 ``teacher_login_required``; a
  browser that holds a student's session and no teacher's is refused 403 ``students_not_allowed`` everywhere there.

The identity found (``request_ids.Identity``) goes on the request's trace, for the routes and the log line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.types import Scope

from ...classroom.store import STUDENT_SESSION_TTL, TEACHER_SESSION_TTL
from ..api_errors import ApiError
from ..paths import CHAT, CLASS, TEACHER, V1
from ..request_ids import KEY_HOLDER, student, trace_of
from ..request_ids import TEACHER as TEACHER_ID

if TYPE_CHECKING:
    from ..classroom import Classroom

STUDENT_COOKIE = "edubot_session"
TEACHER_COOKIE = "edubot_teacher"
STUDENT_MAX_AGE = int(STUDENT_SESSION_TTL.total_seconds())
"""Seconds a browser keeps a student's cookie: as long as the store keeps the session (which also ends when the
student leaves or the class closes)."""
TEACHER_MAX_AGE = int(TEACHER_SESSION_TTL.total_seconds())
"""Seconds a browser keeps the teacher's cookie: as long as the store keeps the session."""
OPEN_CLASS_PATHS = frozenset({f"{CLASS}/join", f"{CLASS}/me", f"{CLASS}/leave"})
"""The student's routes that need no session."""
OPEN_TEACHER_PATHS = frozenset({f"{TEACHER}/login", f"{TEACHER}/session"})
"""The teacher's routes that need no session."""
SESSION_PREFIXES = (CHAT, V1, CLASS, TEACHER)
"""The paths whose requests the rules above apply to."""
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


def cookies(header: str | None) -> dict[str, str]:
    """The cookies of a ``Cookie`` header (the first of a name that comes twice); values that cannot be a token
    are left out."""
    found: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name in (STUDENT_COOKIE, TEACHER_COOKIE) and name not in found:
            value = value.strip().strip('"')
            if _TOKEN.fullmatch(value):
                found[name] = value
    return found


def set_cookie(name: str, value: str, *, secure: bool, max_age: int) -> str:
    """The ``Set-Cookie`` header value of a session cookie."""
    return f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict" + (
        "; Secure" if secure else ""
    )


def clear_cookie(name: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` header value that removes a session cookie."""
    return f"{name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")


def join_required() -> ApiError:
    return ApiError(
        401,
        "join your class first: open the chat page and type the class code your teacher gave you",
        code="join_required",
    )


def teacher_login_required() -> ApiError:
    return ApiError(
        401, "log in with the teacher key first (the /teacher page)", code="teacher_login_required"
    )


def students_not_allowed() -> ApiError:
    return ApiError(
        403,
        "this browser holds a student's session: the teacher's pages are not for students (leave the class on "
        "the chat page first, or use another browser)",
        code="students_not_allowed",
    )


def api_key_required() -> ApiError:
    return ApiError(
        401,
        "this server runs classes: /v1 is open only to holders of the API key (set api_key, then send "
        "`Authorization: Bearer <key>`)",
        code="api_key_required",
        headers={"WWW-Authenticate": "Bearer"},
    )


class SessionGuard:
    """The rules of the module docstring for one app's ``classroom``; ``missing_key`` is the 401 of a request
    without the API key when ``api_key`` is set."""

    def __init__(self, classroom: Classroom, missing_key: Callable[[], ApiError] | None) -> None:
        self.classroom = classroom
        self.missing_key = missing_key

    async def identify(self, scope: Scope, cookie_header: str | None) -> None:
        """Set the request's identity from its cookies; raise the ``ApiError`` of a request the rules refuse.
        A request that proved the API key (the guard checked it) is a key holder and stays one."""
        path: str = scope["path"]
        trace = trace_of(scope)
        held = cookies(cookie_header) if cookie_header else {}
        classroom = self.classroom
        if path.startswith(TEACHER + "/"):
            token = held.get(TEACHER_COOKIE)
            if token is not None and await classroom.teacher(token):
                trace.who = TEACHER_ID
                return
            seat_token = held.get(STUDENT_COOKIE)
            if seat_token is not None and await classroom.seat(seat_token) is not None:
                raise students_not_allowed()
            if path not in OPEN_TEACHER_PATHS:
                raise teacher_login_required()
            return
        if path.startswith(CLASS + "/"):
            token = held.get(STUDENT_COOKIE)
            seat = await classroom.seat(token) if token is not None else None
            if seat is not None:
                trace.who = student(seat)
            elif path not in OPEN_CLASS_PATHS:
                raise join_required()
            return
        if trace.who == KEY_HOLDER:
            return
        if path == CHAT:
            token = held.get(STUDENT_COOKIE)
            seat = await classroom.seat(token) if token is not None else None
            if seat is not None:
                trace.who = student(seat)
                return
            token = held.get(TEACHER_COOKIE)
            if token is not None and await classroom.teacher(token):
                trace.who = TEACHER_ID
                return
            if await classroom.classes_on():
                raise join_required()
            if self.missing_key is not None:
                raise self.missing_key()
            return
        if (path == V1 or path.startswith(V1 + "/")) and await classroom.classes_on():
            raise api_key_required()
