"""``/`` (the web page for browsers, a JSON summary for everything else), ``/health`` and ``/models``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from ... import __version__
from ..schemas import HealthResponse, ModelsResponse, RootResponse
from ..state import backend

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
            "system_prompt_override": settings.allow_system_prompt_override,
            "auth_required": bool(settings.api_key),
        },
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
