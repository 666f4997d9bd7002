"""``create_app``: the FastAPI backend in front of one or several OpenAI-compatible engines."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from .. import __version__
from .api.fastlane import FastLane, validation_failure
from .api.grounded import Grounding
from .api.moderated import Safety
from .api.routes import chat, observability, openai, root, teacher
from .api.routes import classroom as class_routes
from .api.schemas import ErrorResponse
from .api_errors import CODES, ApiError, error_payload
from .classroom import Classroom
from .edge.security import PROTECTED_PREFIXES, GuardMiddleware, guard_options
from .edge.throttles import AuthFailures
from .engine.proxy import Proxy
from .engine.upstream import EnginePool, Upstream
from .metrics import Metrics
from .request_ids import RequestIds, trace_of
from .state import Backend
from .stopping import Stopping

if TYPE_CHECKING:
    from ..config import Settings

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_DIR = STATIC_DIR / "vendor" / "swagger-ui"  # Swagger UI for /docs, whatever static_dir is
log = logging.getLogger("edubot.server")


def create_app(
    settings: Settings,
    upstream: Upstream,
    *,
    health_interval: float = 2.0,
    static_dir: Path | None = None,
    classroom: bool = True,
) -> FastAPI:
    """The backend app in front of the engine(s) ``upstream`` describes.

    ``health_interval`` is the seconds between engine health checks; ``static_dir`` defaults to the packaged web
    page; ``classroom`` False leaves the classroom store alone (a private backend: ``edubot eval --local``).
    """
    guards = guard_options(settings)  # first: a bad trusted_proxies or allowed_hosts entry stops here
    pool = EnginePool(
        upstream,
        timeout=settings.request_timeout,
        max_queue=settings.max_queue,
        health_interval=health_interval,
    )
    if settings.system_prompt:
        pool.warm_body = _warm_body(settings.served_model_name, settings.system_prompt)
    grounding = Grounding(settings)
    metrics = Metrics()
    stopping = Stopping()
    room = Classroom(settings, enabled=classroom)
    stopping.drained.append(room.stopped)  # SIGTERM: the pending records are written before the process exits
    state = Backend(
        settings=settings,
        engine_name=upstream.name,
        pool=pool,
        metrics=metrics,
        proxy=Proxy(pool, metrics, stopping),
        static_dir=static_dir or STATIC_DIR,
        grounding=grounding,
        stopping=stopping,
        classroom=room,
        teacher_failures=AuthFailures(settings.auth_failures_per_minute),
        safety=Safety(settings, metrics),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(grounding.refresh)
        if pool.warm_body is not None and grounding.default:
            # Grounded questions start with the grounded system message: that is the prefix to keep cached.
            pool.warm_body = _warm_body(
                settings.served_model_name, grounding.system_message(settings.system_prompt)
            )
        await asyncio.to_thread(room.start)  # with a store: migrated, retention applied, recorder started
        # moderation's word list and model are read beside the start (about a second), not on a first message
        threading.Thread(target=state.safety.warm_up, name="moderation-warm-up", daemon=True).start()
        await pool.start()
        try:
            yield
        finally:
            await pool.close()
            await asyncio.to_thread(room.close)  # the pending records are written first
            await asyncio.to_thread(state.safety.close)  # the alerts still waiting get a few seconds

    app = FastAPI(
        title="edubot",
        version=__version__,
        description="Chat API of an educational chatbot, with an OpenAI-compatible pass-through.",
        lifespan=lifespan,
        # /docs is served by routes.root from vendored Swagger UI files (the default page loads them from a CDN,
        # which an offline classroom cannot reach); ReDoc is not vendored, so it is off.
        docs_url=None,
        redoc_url=None,
        # What any route may answer before it runs: a foreign Host (400), a slow client (408), a request URL or
        # head over its cap (414, 431), too many connections or requests (429).
        responses={status: {"model": ErrorResponse} for status in (400, 408, 414, 429, 431)},
    )
    app.state.backend = state
    app.include_router(root.router)
    app.include_router(chat.router)
    app.include_router(openai.router)
    app.include_router(observability.router)
    app.include_router(class_routes.router)
    app.include_router(teacher.router)
    _install_error_handlers(app, metrics)
    if SWAGGER_DIR.is_dir():
        app.mount(root.SWAGGER_PATH, StaticFiles(directory=SWAGGER_DIR), name="swagger-ui")
    if state.static_dir.is_dir():
        app.mount("/", StaticFiles(directory=state.static_dir), name="static")
    app.add_middleware(FastLane, state=state)
    app.add_middleware(GuardMiddleware, **guards, on_reject=metrics.reject, classroom=room)
    app.add_middleware(RequestIds)  # outermost: every answer, a guard's refusal too, carries the id
    _tailor_openapi(app, settings)
    return app


def _warm_body(model: str, system: str) -> bytes:
    """The request that puts ``system`` into an engine slot's prompt cache (``EnginePool.warm``)."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": ""}]
    return json.dumps({"model": model, "messages": messages, "max_tokens": 1, "temperature": 0}).encode()


def _tailor_openapi(app: FastAPI, settings: Settings) -> None:
    """The OpenAPI spec says what this server accepts: the bearer-key scheme where the guard requires it (when
    ``api_key`` is set), and ``system_prompt`` in /chat only when ``allow_system_prompt_override`` is on."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            if settings.api_key:
                spec.setdefault("components", {})["securitySchemes"] = {
                    "apiKey": {"type": "http", "scheme": "bearer", "description": "The `api_key` setting."}
                }
                for path, operations in spec["paths"].items():
                    if any(path == p or path.startswith(p + "/") for p in PROTECTED_PREFIXES):
                        for operation in operations.values():
                            operation["security"] = [{"apiKey": []}]
            if not settings.allow_system_prompt_override:
                chat = spec.get("components", {}).get("schemas", {}).get("ChatRequest", {})
                chat.get("properties", {}).pop("system_prompt", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    def respond(exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.payload(), status_code=exc.status, headers=exc.headers)

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        if exc.status < 500:
            metrics.reject(exc.status)
        return respond(exc)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return respond(validation_failure(list(exc.errors()), metrics))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 413:
            metrics.reject(413)
        headers = dict(exc.headers or {})
        return JSONResponse(
            error_payload(CODES.get(exc.status_code, "error"), message),
            status_code=exc.status_code,
            headers=headers,
        )

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception(
            "unexpected error on %s %s (id=%s)",
            request.method,
            request.url.path,
            trace_of(request.scope).id,
            exc_info=exc,
        )
        return JSONResponse(
            error_payload("internal_error", "internal error; see the server log"), status_code=500
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
