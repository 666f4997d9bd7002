"""The fast lane: ``POST /chat`` and ``POST /v1/chat/completions`` dispatched without FastAPI's routing.

These two endpoints carry all the traffic, and for them FastAPI's request machinery (route matching over every
route, dependency solving, body-to-argument conversion) costs more than the proxying itself. This pure ASGI
layer reads the body, validates it with the same pydantic models (and ``refuse_duplicate_keys``), and
calls the same handler functions as the FastAPI routes, which stay declared for the OpenAPI schema and ``/docs``.
Every other path goes to FastAPI. Once the backend is stopping, every request is refused here (503 ``stopping``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api_errors import ApiError, send_error
from ..engine.engine_call import EngineCall
from ..metrics import Metrics
from ..paths import CHAT, COMPLETIONS
from ..request_ids import Trace, trace_of
from ..state import Backend
from ..stopping import stopping_error
from .handlers import chat_call, completions_call
from .schemas import UNION_TAGS, UNSUPPORTED_FIELDS, ChatRequest, OpenAIChatRequest


def validation_failure(errors: list[Any], metrics: Metrics) -> ApiError:
    """The answer for pydantic/FastAPI validation ``errors``: 400 for a body that is not JSON, else 422 naming
    the field(s)."""
    invalid_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if invalid_json is not None:
        metrics.reject(400)
        return ApiError(
            400, f"request body is not valid JSON: {invalid_json.get('ctx', {}).get('error', '')}"
        )
    metrics.reject(422)
    parts = [f"{field_name(tuple(e.get('loc', ())))}: {_explained(e)}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    field = field_name(tuple(errors[0].get("loc", ()))) if errors else "body"
    return ApiError(422, "; ".join(parts) + more, field=field)


def refuse_duplicate_keys(raw: bytes) -> None:
    """Raise the 422 for a JSON body (already validated) that gives a key twice in one object: JSON parsers keep
    the last value silently, so the client may not get what it meant."""
    found: list[tuple[str, dict[str, Any]]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs) and not found:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    found.append((key, obj))
                    break
                seen.add(key)
        return obj

    try:
        data = json.loads(raw, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):
        return  # what the model accepted, the json module may not (it is no less lenient in practice)
    if found:
        key, obj = found[0]
        field = ".".join([*_path_to(data, obj), key])
        raise ApiError(422, f"{field}: given more than once; send each field once", field=field)


def _path_to(data: Any, target: object) -> list[str]:
    """The keys and indexes leading from ``data`` to the object ``target`` (by identity)."""
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if value is target:
            return path
        if isinstance(value, dict):
            stack.extend((v, [*path, str(k)]) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, [*path, str(i)]) for i, v in enumerate(value))
    return []


def field_name(loc: tuple[Any, ...]) -> str:
    """``messages.0.content.1`` for pydantic's location ``("body", "messages", 0, "content", "<list>", 1)``
    (union tags, see ``schemas.UNION_TAGS``, left out)."""
    parts = [str(p) for p in loc if p not in UNION_TAGS]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _explained(error: Any) -> str:
    """Pydantic's message, or for a refused field that OpenAI or llama.cpp know, why this server refuses it."""
    loc = error.get("loc", ())
    if error.get("type") == "extra_forbidden" and loc and loc[-1] in UNSUPPORTED_FIELDS:
        return f"not supported: {UNSUPPORTED_FIELDS[loc[-1]]}"
    return str(error.get("msg", "invalid"))


class FastLane:
    """Serves the two hot POST endpoints directly; passes everything else to ``app``."""

    def __init__(self, app: ASGIApp, state: Backend) -> None:
        self.app = app
        self.state = state
        self.routes: dict[
            str, tuple[type[BaseModel], Callable[[BaseModel, Trace], Awaitable[EngineCall]]]
        ] = {
            CHAT: (ChatRequest, lambda body, trace: chat_call(state, body, trace)),  # type: ignore[arg-type]
            COMPLETIONS: (OpenAIChatRequest, lambda body, _: _ready(completions_call(state, body))),  # type: ignore[arg-type]
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.state.stopping.begun and scope["type"] == "http":
            await send_error(send, _refused())
            return
        route = (
            self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        )
        if route is None:
            await self.app(scope, receive, send)
            return
        model, handler = route
        raw = await _read_body(receive)
        try:
            body = model.model_validate_json(raw)
        except ValidationError as exc:
            await send_error(send, validation_failure(list(exc.errors()), self.state.metrics))
            return
        try:
            refuse_duplicate_keys(raw)
            call = await handler(body, trace_of(scope))
        except ApiError as exc:
            if exc.status < 500:
                self.state.metrics.reject(exc.status)
            await send_error(send, exc)
            return
        await call(scope, receive, send)


def _refused() -> ApiError:
    """The answer to any request once the backend is stopping: its 503, on a connection that then closes."""
    error = stopping_error()
    error.headers["Connection"] = "close"
    return error


async def _ready(call: EngineCall) -> EngineCall:
    return call


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)
