"""Request ids and who is asking: one ``Trace`` per request in its ASGI scope, read by the handlers and the log line.

Who is asking (``Identity``) is set by one guard (``edge.security``): anonymous unless the request proved
something: the server's API key (``key``), a student's session cookie (``student:<student id>``, with the seat:
the student and their class) or the teacher's (``teacher``). The log line names it when it is not anonymous.

A client may name its request with ``X-Request-ID`` (at most 64 letters, digits and ``._:-``); any other value,
or none, is replaced by a new random id. The answer carries the id in ``X-Request-ID``, the engine gets it as
``X-Request-ID`` on the upstream request (vLLM uses it as its own request id in its log), and the backend logs
one line per request with the id and, for an engine answer, the engine's completion id (the ``id`` of its
reply): llama-server logs no headers, but its log names that completion id, so the two logs can be joined.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from ..classroom.store import Seat

HEADER = "X-Request-ID"
SCOPE_KEY = "edubot.request"
"""Where the request's ``Trace`` lives in the ASGI scope."""
_HEADER_KEY = HEADER.lower().encode()
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ENGINE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
log = logging.getLogger("edubot.server.access")


def new_id() -> str:
    """A fresh random request id (32 hex digits)."""
    return secrets.token_hex(16)


def accepted(value: str | None) -> str:
    """``value`` when it is a valid request id, else a new one."""
    return value if value is not None and _VALID.fullmatch(value) else new_id()


@dataclass(frozen=True)
class Identity:
    """Who a request comes from, as far as it proved: ``role`` ``anonymous``, ``key`` (it sent the server's API
    key), ``student`` (a valid session cookie of an open class: ``seat`` says who and in which class) or
    ``teacher`` (the teacher's session cookie); ``name`` for a role that names its holder (a student's opaque
    id: never the nickname, which is the child's own words)."""

    role: str
    name: str | None = None
    seat: Seat | None = None

    @property
    def label(self) -> str:
        return self.role if self.name is None else f"{self.role}:{self.name}"


ANONYMOUS = Identity("anonymous")
KEY_HOLDER = Identity("key")
TEACHER = Identity("teacher")


def student(seat: Seat) -> Identity:
    """The identity of a request with ``seat``'s session cookie."""
    return Identity("student", seat.student.id, seat)


@dataclass
class Trace:
    """What a request carries beside its body: its id, who is asking and, once an engine answered, the engine's
    completion id (all three in the log line); for the classroom's routes, the client's address (``client``, as
    the guard resolved it) and whether the request came over https (``https``, directly or through a trusted
    proxy: cookies are then ``Secure``)."""

    id: str
    engine_id: str | None = None
    who: Identity = ANONYMOUS
    client: str | None = None
    https: bool = False


def trace_of(scope: Scope) -> Trace:
    """The ``Trace`` of the request ``scope`` belongs to (a new one outside ``RequestIds``)."""
    trace: Trace | None = scope.get(SCOPE_KEY)
    if trace is None:
        trace = scope[SCOPE_KEY] = Trace(new_id())
    return trace


def completion_id(answer: object) -> str | None:
    """The ``id`` of an engine's (parsed) chat completion or stream chunk, when it is a short one of safe
    characters (it goes into the log line as it is)."""
    found = answer.get("id") if isinstance(answer, dict) else None
    return found if isinstance(found, str) and _ENGINE_ID.fullmatch(found) else None


class RequestIds:
    """Gives every HTTP request its id (see the module docstring), adds it to the answer and logs the request:
    ``client - "POST /chat" 200 0.012 s id=<request id> engine_id=<completion id> who=<identity>`` (``who``
    only when not anonymous)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k.lower() == _HEADER_KEY), None)
        trace = Trace(accepted(given.decode("latin-1") if given is not None else None))
        scope[SCOPE_KEY] = trace
        header = (_HEADER_KEY, trace.id.encode())
        status = 0
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                log.info(
                    '%s - "%s %s" %s %.3f s id=%s%s%s',
                    f"{client[0]}:{client[1]}" if client else "-",
                    scope["method"],
                    scope["path"],
                    status or "-",
                    time.perf_counter() - start,
                    trace.id,
                    f" engine_id={trace.engine_id}" if trace.engine_id else "",
                    f" who={trace.who.label}" if trace.who != ANONYMOUS else "",
                )
