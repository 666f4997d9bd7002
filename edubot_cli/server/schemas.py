"""Request and response bodies of the API (see the README's API section)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_MESSAGE_CHARS = 8000
MAX_HISTORY = 50


class HistoryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)


class ChatRequest(BaseModel):
    """A question with optional earlier turns; defaults come from the server's configuration."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"message": "What is photosynthesis?", "stream": False}]},
    )

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="The user's question.")
    conversation_history: list[HistoryMessage] = Field(
        default_factory=list, max_length=MAX_HISTORY, description="Earlier turns, oldest first."
    )
    max_tokens: int | None = Field(
        default=None, ge=1, le=4096, description="Default: the server's max_tokens."
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Default: the server's temperature."
    )
    stream: bool = Field(default=False, description="Answer as a text/event-stream of deltas.")
    system_prompt: str | None = Field(
        default=None,
        max_length=MAX_MESSAGE_CHARS,
        description="Replaces the configured system prompt; only when the server allows it.",
    )


class ChatResponse(BaseModel):
    response: str
    model: str
    tokens_used: int
    prompt_tokens: int
    completion_tokens: int
    latency_seconds: float
    timestamp: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = Field(
        None, description="Validation errors only: the field concerned, e.g. `message`."
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ChatDefaults(BaseModel):
    max_tokens: int
    temperature: float
    system_prompt_override: bool
    auth_required: bool
    max_message_chars: int = MAX_MESSAGE_CHARS
    max_history: int = MAX_HISTORY


EngineStatus = Literal["ok", "busy", "restarting", "degraded", "unreachable"]


class RootResponse(BaseModel):
    message: str
    version: str
    engine_status: EngineStatus
    engine: str
    chat: ChatDefaults


class EngineHealth(BaseModel):
    name: str = Field(description="`engine 1`, `engine 2`, ... (internal URLs are not shown)")
    status: Literal["ok", "restarting", "failed", "unreachable"]
    in_flight: int
    model: str | None


class QueueState(BaseModel):
    capacity: int | None = Field(description="Requests the engines work on at once (null: no limit)")
    active: int
    waiting: int


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    backend: Literal["ok"]
    engine: EngineStatus
    engine_name: str
    engines: list[EngineHealth]
    queue: QueueState
    version: str


class ModelInfo(BaseModel):
    id: str
    engine: str


class ModelsResponse(BaseModel):
    engine: str
    default: str
    models: list[ModelInfo]


class Percentiles(BaseModel):
    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


class StatsResponse(BaseModel):
    uptime_seconds: float
    requests: int
    errors: int
    cancelled: int
    in_flight: int
    rejected: dict[str, int]
    requests_by_endpoint: dict[str, int]
    tokens: dict[str, int]
    latency_seconds: Percentiles
    ttft_seconds: Percentiles
    engines: list[EngineHealth]


class OpenAIMessage(BaseModel):
    """One OpenAI chat message; other fields are passed to the engine untouched."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[Any] | None = None


class OpenAIChatRequest(BaseModel):
    """The OpenAI chat-completions body, checked lightly and forwarded byte for byte."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
