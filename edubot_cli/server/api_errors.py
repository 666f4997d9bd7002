"""The one error shape of the API: ``{"error": {"code": ..., "message": ...}}`` with a fitting HTTP status."""

from __future__ import annotations

import json

from starlette.types import Send

# HTTP status -> the default machine-readable code clients can switch on.
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "engine_unavailable",
    504: "engine_timeout",
}


class ApiError(Exception):
    """An error answer: HTTP ``status``, a stable ``code`` and a human ``message`` (plus optional headers, and
    for a validation error the ``field`` it is about)."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.headers = headers or {}
        self.field = field

    def payload(self) -> dict[str, dict[str, str]]:
        payload = error_payload(self.code, self.message)
        if self.field is not None:
            payload["error"]["field"] = self.field
        return payload

    def body(self) -> bytes:
        return json.dumps(self.payload()).encode()


def error_payload(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


async def send_error(send: Send, error: ApiError) -> None:
    """Answer with ``error`` as JSON (used before the app or a stream has started the response)."""
    body = error.body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in error.headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
