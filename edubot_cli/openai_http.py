"""The HTTP side of talking to an OpenAI-compatible server as a client: the bearer header, the client itself and
the model ids of ``GET /v1/models``. Shared by ``edubot chat``'s client and ``edubot eval``'s judge; where the API
lives under a server's URL is ``urls.openai_base``'s business."""

from __future__ import annotations

from typing import Any

import httpx


def bearer(api_key: str | None) -> dict[str, str]:
    """The ``Authorization`` header for ``api_key``; none without a key."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def http_client(
    api_key: str | None, timeout: float | httpx.Timeout, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An HTTP client sending ``api_key`` as a bearer key; proxy variables of the environment are not used (the
    servers edubot talks to are named by URL, often on this machine or the school's network)."""
    return httpx.Client(headers=bearer(api_key), timeout=timeout, transport=transport, trust_env=False)


def model_ids(listing: Any) -> list[str]:
    """The model ids of a ``GET /v1/models`` body (``{"data": [{"id": ...}, ...]}``), in its order; ``ValueError``
    when the body is not such a listing."""
    data = listing.get("data", []) if isinstance(listing, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) and "id" in item for item in data):
        raise ValueError("not an OpenAI model listing")
    return [str(item["id"]) for item in data]
