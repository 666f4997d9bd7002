"""Request and response bodies of the API (see the README's API section)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_MESSAGE_CHARS = 8000
MAX_HISTORY = 50
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
"""Request bodies: no unknown field, no conversion (``true`` is not 1, ``"4"`` is not 4, ``0`` is not false)."""


class HistoryMessage(BaseModel):
    model_config = STRICT

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)


class ChatRequest(BaseModel):
    """A question with optional earlier turns; defaults come from the server's configuration."""

    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={"examples": [{"message": "What is photosynthesis?", "stream": False}]},
    )

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="The user's question.")
    conversation_history: list[HistoryMessage] = Field(
        default_factory=list, max_length=MAX_HISTORY, description="Earlier turns, oldest first."
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        le=4096,
        description="Default: the server's max_tokens; used only when the server allows it (client_sampling).",
    )
    temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Default: the server's temperature; used only when the server allows it (client_sampling).",
    )
    stream: bool = Field(default=False, description="Answer as a text/event-stream of deltas.")
    system_prompt: str | None = Field(
        default=None,
        max_length=MAX_MESSAGE_CHARS,
        description="Replaces the configured system prompt; only when the server allows it.",
    )

    @field_validator("max_tokens", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        """``4.0`` is an integer in JSON Schema (the documented type); ``true`` and ``"4"`` stay refused."""
        return int(value) if isinstance(value, float) and value.is_integer() else value

    grounded: bool | None = Field(
        default=None,
        description="Answer from the taxonomy's passages, with `sources`. Default: the server's `grounding` "
        "setting (on when the taxonomy has knowledge).",
    )
    conversation_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="A student's question only: the conversation it continues, as an earlier answer named it "
        "(404 when it is not the student's); left out, a new one starts. Ignored for others.",
    )


class SourceInfo(BaseModel):
    """A taxonomy passage a grounded answer was given, numbered as the answer cites it ([1], [2], ...)."""

    n: int
    file: str = Field(description="Path relative to the taxonomy root.")
    line: int
    yaml_path: str = Field(description="e.g. `seed_examples[2].context`; empty for documents.")
    title: str
    snippet: str
    score: float


class Sampling(BaseModel):
    """What an answer was asked with: the request's own values when the server allows them (``client_sampling``),
    else the server's settings."""

    temperature: float
    max_tokens: int


class ChatResponse(BaseModel):
    response: str
    model: str
    tokens_used: int
    prompt_tokens: int
    completion_tokens: int
    latency_seconds: float
    timestamp: str
    sources: list[SourceInfo] = Field(
        default_factory=list, description="Empty when the answer is not grounded."
    )
    faithfulness: Literal["checked", "repaired", "quoted", "unchecked"] = Field(
        description="How a grounded answer was held to its sources: checked (its numbers, dates and names are "
        "in them), repaired (a sentence that was not gave way to the material's own), quoted (the material's "
        "own sentence is the answer), unchecked (not grounded, or grounding_answer: model)."
    )
    truncated: bool = Field(
        description="Whether max_tokens cut the answer (it then ends at a whole sentence)."
    )
    sampling: Sampling = Field(
        description="The temperature and max_tokens the answer was asked with (the server's own unless it allows "
        "clients to choose: `client_sampling`)."
    )
    conversation_id: str | None = Field(
        default=None,
        description="A student's question only: the conversation it is recorded in (send it with the next "
        "question to continue it).",
    )
    flags: dict[str, Any] | None = Field(
        default=None,
        description="Only when moderation found something: `message` (the verdict on the question: action "
        "support|refuse|remind|answer, severity, categories, flags) and/or `answer` (flags of sentences the "
        "answer filter replaced). The `done` event of a stream carries the same.",
    )
    scope: dict[str, Any] | None = Field(
        default=None,
        description="Only for a grounded question with the scope check on: {mode, in_scope, coverage}.",
    )


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
    client_sampling: bool = Field(
        description="Whether a request's own temperature and max_tokens are used (else the server's always are)."
    )
    system_prompt_override: bool
    auth_required: bool
    grounded: bool = Field(
        description="Whether a question that does not say (`grounded`) is answered grounded."
    )
    slow_answer_seconds: float = Field(
        description="Seconds after which the web page says an answer is taking longer than usual (0: never)."
    )
    max_message_chars: int = MAX_MESSAGE_CHARS
    max_history: int = MAX_HISTORY


EngineStatus = Literal["ok", "busy", "restarting", "degraded", "unreachable"]


class RootResponse(BaseModel):
    message: str
    version: str
    engine_status: EngineStatus
    engine: str
    chat: ChatDefaults
    classes: bool = Field(
        description="Whether the server has classes: /chat then needs a student's session (`POST /class/join`) "
        "or the API key."
    )


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
    safety_flags: dict[str, int] = Field(
        default_factory=dict,
        description="Moderation's flags on /chat messages and answers by category:severity (self_harm:high ...).",
    )
    engines: list[EngineHealth]


# ---- POST /v1/chat/completions ---------------------------------------------------------------------------------
# The OpenAI chat-completions body, text only, every field checked; ``openai_request.engine_body`` rebuilds from
# the validated model the body the engine gets, so only these fields ever reach it. The limits follow /chat's:
# a system prompt, MAX_HISTORY earlier turns and the question, each at most MAX_MESSAGE_CHARS.

MAX_OPENAI_MESSAGES = MAX_HISTORY + 2
MAX_TEXT_PARTS = 32
MAX_STOP = 4
MAX_STOP_CHARS = 256
MAX_LOGIT_BIAS = 300
MAX_TOKEN_ID = 2**31 - 1
MAX_TOP_LOGPROBS = 20
MAX_TOP_K = 100_000
MAX_SEED = 2**32 - 1
MAX_NAME_CHARS = 64
MAX_ID_CHARS = 128
MAX_MODEL_CHARS = 256
MAX_SCHEMA_DEPTH = 20
MAX_SCHEMA_VALUES = 2000
MAX_SCHEMA_REPEAT = 1000
MAX_SCHEMA_NUMBER = 2**53
SCHEMA_REPEATS = frozenset(
    {
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minProperties",
        "maxProperties",
        "minContains",
        "maxContains",
    }
)
NAME_PATTERN = r"^[A-Za-z0-9_-]+$"

UNION_TAGS = frozenset({"<string>", "<list>", "<text>", "<json_object>", "<json_schema>"})
"""Tags of the unions below; they appear in pydantic's error locations and are left out of the field names."""

TEXT_ONLY = "the served models are text-only"
NO_TOOLS = "tool calling is not supported by the served models"
UNSUPPORTED_FIELDS: dict[str, str] = {
    "grammar": (
        "GBNF grammars are refused: the backend cannot check them and a malformed one can crash the engine; "
        "use response_format with a JSON schema"
    ),
    "tools": NO_TOOLS,
    "tool_choice": NO_TOOLS,
    "parallel_tool_calls": NO_TOOLS,
    "functions": NO_TOOLS,
    "function_call": NO_TOOLS,
    "tool_calls": NO_TOOLS,
    "audio": TEXT_ONLY,
    "modalities": TEXT_ONLY,
}
"""Why a field that OpenAI or llama.cpp know is refused here (an unknown field gets pydantic's message)."""


def _schema_problem(where: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError(
        "json_schema", "{where}: {problem}", {"where": where or "schema", "problem": problem}
    )


def check_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` if the engine can turn it into a grammar safely, else a validation error saying where not.

    llama.cpp compiles a JSON schema into a grammar: repetition bounds are expanded into copies of rules, integer
    bounds into digit rules, regular expressions are translated by a hand-written parser, and the whole is
    walked recursively. Hence: at most MAX_SCHEMA_DEPTH levels and MAX_SCHEMA_VALUES values, repetition
    keywords integers 0..MAX_SCHEMA_REPEAT, finite numbers within +-2**53, no ``pattern``/``patternProperties``,
    and only local ``$ref``s (``#/...``)."""
    count = 0

    def walk(value: Any, where: str, depth: int) -> None:
        nonlocal count
        count += 1
        if count > MAX_SCHEMA_VALUES:
            raise _schema_problem("schema", f"more than {MAX_SCHEMA_VALUES} values")
        if depth > MAX_SCHEMA_DEPTH and isinstance(value, dict | list):
            raise _schema_problem(where, f"nested more than {MAX_SCHEMA_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                at = f"{where}.{key}" if where else str(key)
                if key in SCHEMA_REPEATS and not isinstance(item, dict):
                    if type(item) is not int or not 0 <= item <= MAX_SCHEMA_REPEAT:
                        raise _schema_problem(at, f"should be an integer from 0 to {MAX_SCHEMA_REPEAT}")
                elif (key == "pattern" and isinstance(item, str)) or (
                    key == "patternProperties" and isinstance(item, dict)
                ):
                    raise _schema_problem(at, "regular-expression patterns are not supported")
                elif key == "$ref" and isinstance(item, str) and not item.startswith("#/"):
                    raise _schema_problem(at, "only local references (#/...) are supported")
                walk(item, at, depth + 1)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}.{index}", depth + 1)
        elif (
            isinstance(value, float | int)
            and not isinstance(value, bool)
            and not abs(value) <= MAX_SCHEMA_NUMBER  # NaN too
        ):
            raise _schema_problem(where, "numbers should be finite and at most 2**53 in size")

    walk(schema, "", 0)
    return schema


JsonSchema = Annotated[dict[str, Any], AfterValidator(check_json_schema)]


def _string_or_list(value: Any) -> str | None:
    return "<string>" if isinstance(value, str) else "<list>" if isinstance(value, list) else None


class TextPart(BaseModel):
    """A part of a message's content: text only (the served models read no images, audio or files)."""

    model_config = STRICT

    type: Literal["text"]
    text: str = Field(max_length=MAX_MESSAGE_CHARS)

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" in data and data["type"] != "text":
            raise PydanticCustomError(
                "unsupported_content",
                "content parts of type {kind} are not supported: " + TEXT_ONLY + " (send text parts)",
                {"kind": json.dumps(data["type"], ensure_ascii=False)[:40]},
            )
        return data


Content = Annotated[
    Union[  # noqa: UP007 (tagged members)
        Annotated[str, Tag("<string>"), Field(max_length=MAX_MESSAGE_CHARS)],
        Annotated[list[TextPart], Tag("<list>"), Field(min_length=1, max_length=MAX_TEXT_PARTS)],
    ],
    Discriminator(
        _string_or_list,
        custom_error_type="content_type",
        custom_error_message="Input should be a string or a list of text parts",
    ),
]
StopString = Annotated[str, Field(min_length=1, max_length=MAX_STOP_CHARS)]
Stop = Annotated[
    Union[  # noqa: UP007 (tagged members)
        Annotated[StopString, Tag("<string>")],
        Annotated[list[StopString], Tag("<list>"), Field(max_length=MAX_STOP)],
    ],
    Discriminator(
        _string_or_list,
        custom_error_type="stop_type",
        custom_error_message=f"Input should be a string or a list of at most {MAX_STOP} strings",
    ),
]


def _token_id(key: str) -> str:
    if not (key.isascii() and key.isdigit() and len(key) <= 10 and int(key) <= MAX_TOKEN_ID):
        raise PydanticCustomError(
            "token_id", "keys should be token ids: decimal integers from 0 to {top}", {"top": MAX_TOKEN_ID}
        )
    return key


LogitBias = Annotated[
    dict[Annotated[str, AfterValidator(_token_id)], Annotated[float, Field(ge=-100, le=100)]],
    Field(max_length=MAX_LOGIT_BIAS),
]


class OpenAIMessage(BaseModel):
    """One chat message, text only; ``developer`` is forwarded as ``system``, ``tool`` needs ``tool_call_id``."""

    model_config = STRICT

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Content
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS, pattern=NAME_PATTERN)
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID_CHARS)


class StreamOptions(BaseModel):
    model_config = STRICT

    include_usage: bool | None = None


class TextFormat(BaseModel):
    model_config = STRICT

    type: Literal["text"]


class JsonObjectFormat(BaseModel):
    model_config = STRICT

    type: Literal["json_object"]


class JsonSchemaSpec(BaseModel):
    model_config = STRICT

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    schema_: JsonSchema = Field(alias="schema", description="A JSON schema (checked, see the README).")
    strict: bool | None = None


class JsonSchemaFormat(BaseModel):
    model_config = STRICT

    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


def _format_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    return f"<{kind}>" if kind in ("text", "json_object", "json_schema") else None


ResponseFormat = Annotated[
    Union[  # noqa: UP007 (tagged members)
        Annotated[TextFormat, Tag("<text>")],
        Annotated[JsonObjectFormat, Tag("<json_object>")],
        Annotated[JsonSchemaFormat, Tag("<json_schema>")],
    ],
    Discriminator(
        _format_tag,
        custom_error_type="response_format_type",
        custom_error_message="Input should be an object whose type is 'text', 'json_object' or 'json_schema'",
    ),
]


class OpenAIChatRequest(BaseModel):
    """The OpenAI chat-completions body: text messages and the sampling fields engines handle safely, each
    checked (finite numbers in range); anything else is refused. The engine gets a body rebuilt from these."""

    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={
            "examples": [
                {"messages": [{"role": "user", "content": "What is photosynthesis?"}], "max_tokens": 200}
            ]
        },
    )

    model: str | None = Field(default=None, max_length=MAX_MODEL_CHARS)
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=MAX_OPENAI_MESSAGES)
    stream: bool | None = Field(default=None, description="Answer as server-sent events.")
    stream_options: StreamOptions | None = Field(default=None, description="Only with `stream: true`.")
    max_tokens: int | None = Field(default=None, ge=1, description="1..the server's context_length.")
    max_completion_tokens: int | None = Field(
        default=None, ge=1, description="Same as max_tokens (forwarded as max_tokens)."
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0, le=MAX_TOP_K, description="0: no top-k cut (llama.cpp).")
    min_p: float | None = Field(default=None, ge=0, le=1)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    repeat_penalty: float | None = Field(default=None, ge=0.01, le=10)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    stop: Stop | None = None
    n: int | None = Field(default=None, ge=1, le=1, description="Only 1.")
    logprobs: bool | None = None
    top_logprobs: int | None = Field(
        default=None, ge=0, le=MAX_TOP_LOGPROBS, description="Only with `logprobs: true`."
    )
    logit_bias: LogitBias | None = Field(default=None, description="Token id -> bias in -100..100.")
    response_format: ResponseFormat | None = None
    json_schema: JsonSchema | None = Field(
        default=None, description="llama.cpp's own form of response_format json_schema (checked alike)."
    )
    user: str | None = Field(default=None, max_length=MAX_MODEL_CHARS, description="Accepted, not forwarded.")
