"""``/`` (the web page for browsers, a JSON summary for everything else), ``/health``, ``/models`` and ``/docs``
(Swagger UI)."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from .... import __version__
from ...edge.security import content_security_policy
from ...state import backend
from ..schemas import HealthResponse, ModelsResponse, RootResponse

router = APIRouter()


@router.get(
    "/",
    response_model=RootResponse,
    summary="Backend summary (JSON) or the web chat page (browsers)",
    responses={200: {"content": {"text/html": {}}}},
)
async def root(request: Request) -> Any:
    """Browsers (``Accept: text/html``) get the chat page; API clients get the JSON summary."""
    state = backend(request)
    index = state.static_dir / "index.html"
    if "text/html" in request.headers.get("accept", "") and index.is_file():
        return FileResponse(index, media_type="text/html")
    settings = state.settings
    return {
        "message": "edubot backend: POST /chat to ask a question, /docs for the API",
        "version": __version__,
        "engine_status": state.pool.status(),
        "engine": state.engine_name,
        "chat": {
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "client_sampling": settings.client_sampling,
            "system_prompt_override": settings.allow_system_prompt_override,
            "auth_required": bool(settings.api_key),
            "grounded": state.grounding.default,
            "slow_answer_seconds": settings.slow_answer_seconds,
        },
        "classes": await state.classroom.classes_on(),
    }


@router.get(
    "/health",
    response_model=HealthResponse,
    summary="Backend and engine health (503 when no engine answers; 200 while busy or restarting)",
    responses={503: {"model": HealthResponse, "description": "No engine answers"}},
)
async def health(request: Request) -> Any:
    """Cached state only: no engine probe per call, and 200 while the engine is busy or restarting."""
    state = backend(request)
    status = state.pool.status()
    body = {
        "status": "unhealthy" if status == "unreachable" else "healthy",
        "backend": "ok",
        "engine": status,
        "engine_name": state.engine_name,
        "engines": state.pool.describe(),
        "queue": state.pool.admission.describe(),
        "version": __version__,
    }
    return JSONResponse(body, status_code=503 if status == "unreachable" else 200)


@router.get("/models", response_model=ModelsResponse, summary="Models the engines serve")
async def models(request: Request) -> Any:
    state = backend(request)
    listed = [{"id": m, "engine": e.label} for e in state.pool.engines if e.healthy for m in e.models]
    return {
        "engine": state.engine_name,
        "default": state.pool.default_model(state.settings.served_model_name),
        "models": listed,
    }


SWAGGER_PATH = "/vendor/swagger-ui"  # where app.py mounts the vendored Swagger UI files


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI for the OpenAPI schema, from the vendored files only (no other host is ever asked)."""
    prefix = request.scope.get("root_path", "").rstrip("/")
    html, policy = docs_page(prefix, request.app.openapi_url or "/openapi.json", request.app.title)
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@lru_cache(maxsize=8)
def docs_page(prefix: str, openapi_url: str, title: str) -> tuple[bytes, str]:
    """The /docs page and its Content-Security-Policy: the chat page's, plus the hash of the one inline script,
    the one that starts Swagger UI. (Swagger UI sets styles through the DOM, which style-src 'self' allows.)"""
    html = bytes(
        get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{title} - API",
            swagger_js_url=f"{prefix}{SWAGGER_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}{SWAGGER_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{prefix}/favicon.svg",
            # No "valid" badge: it would send the schema's address to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    )
    hashes = [
        "sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode("ascii")
        for script in re.findall(rb"<script>(.*?)</script>", html, re.DOTALL)
    ]
    return html, content_security_policy(hashes)
