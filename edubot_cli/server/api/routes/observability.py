"""``/stats`` (JSON counters and percentiles) and ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ...paths import STATS
from ...state import backend
from ..schemas import StatsResponse

router = APIRouter(tags=["observability"])


@router.get(STATS, response_model=StatsResponse, summary="Requests, errors, tokens, latency and TTFT")
async def stats(request: Request) -> Any:
    state = backend(request)
    return {**state.metrics.snapshot(), "engines": state.pool.describe()}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    state = backend(request)
    for engine in state.pool.engines:
        state.metrics.engine_up.labels(engine.label).set(1 if engine.healthy else 0)
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
