"""Typed settings: defaults < configs/edubot.yaml (or --config FILE) < EDUBOT_* environment < command-line flags.

Every field carries a description; commands reuse it as their option help (``describe``), and
``configs/edubot.yaml`` documents the same keys. pydantic is imported only when settings are loaded so that
``edubot --help`` stays fast.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_type_hints

from .errors import ConfigError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

DEFAULT_CONFIG_FILE = Path("configs/edubot.yaml")
ENV_PREFIX = "EDUBOT_"
_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("edubot_config_file_values", default=None)

# name: (default, description). The single source for the Settings model, option help and the sample YAML.
FIELDS: dict[str, tuple[Any, str]] = {
    # paths
    "taxonomy_path": (
        Path("taxonomy"),
        "Root of the taxonomy tree (folders knowledge/, compositional_skills/ ...).",
    ),
    "models_dir": (Path("models"), "Folder where converted models are written and listed."),
    "datasets_dir": (Path("datasets"), "Folder where `data generate` writes synthetic data."),
    "checkpoints_dir": (Path("checkpoints"), "Folder where `model train` writes checkpoints."),
    "logs_dir": (Path("logs"), "Folder for engine and ilab logs."),
    "data_dir": (
        Path("data"),
        "Folder of the classroom record (classes, students, conversations): the SQLite file edubot.sqlite3.",
    ),
    # backend
    "host": ("127.0.0.1", "Address the backend listens on (0.0.0.0 to accept other machines)."),
    "port": (8000, "Port of the backend (web page, JSON API and OpenAI-compatible /v1)."),
    "api_key": (None, "If set, /chat, /v1/* and /stats require `Authorization: Bearer <key>`."),
    "cors_origins": ([], "Origins allowed to call the API from a browser; empty means same origin only."),
    "rate_limit_per_minute": (120, "Requests per minute per client before 429; 0 disables the limit."),
    "trusted_proxies": (
        [],
        "Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For names the client; empty: none.",
    ),
    "auth_failures_per_minute": (5, "Wrong API keys per minute per client before 429."),
    "allowed_hosts": (
        [],
        "Host header values accepted besides the bound address (always checked on loopback, against DNS "
        "rebinding).",
    ),
    "header_timeout": (10.0, "Seconds a client may take to send a request's line and headers."),
    "body_timeout": (30.0, "Seconds a client may take to send a request's body."),
    "max_connections_per_client": (
        128,
        "Open connections one client address may hold (a class behind one NAT shares an address).",
    ),
    "max_url_bytes": (16384, "Longest request URL (path and query) in bytes (414 beyond)."),
    "max_header_bytes": (65536, "Largest request line and headers together in bytes (431 beyond)."),
    "max_headers": (100, "Most header fields in one request (431 beyond)."),
    "max_body_bytes": (262144, "Largest accepted request body in bytes (413 beyond)."),
    "request_timeout": (300.0, "Seconds to wait for the engine before answering 504."),
    "shutdown_grace": (
        10.0,
        "Seconds running answers get to finish when `edubot serve` stops; those still running then end with a "
        "`stopping` error.",
    ),
    "system_prompt": (
        "You are edubot, a patient and accurate teaching assistant. Explain clearly, step by step, "
        "and say when you are not sure.",
        "System prompt sent before every conversation.",
    ),
    "allow_system_prompt_override": (False, "Let clients replace the system prompt per request."),
    "max_tokens": (512, "Default maximum tokens per answer."),
    "grounding": (
        None,
        "Answer /chat from the taxonomy's passages, with sources: true, false, or empty for on when the taxonomy "
        "has knowledge; requests may say otherwise (`grounded`).",
    ),
    "grounding_top_k": (4, "Passages retrieved for a grounded answer."),
    "grounding_answer": (
        "quote",
        "How grounded answers are made: quote (the material's own sentence that answers the question, cited; the "
        "model writes, checked, only when none does), check (the model writes; numbers, dates and names are "
        "checked against the passages, and a failing answer gives way to the quote) or model (unchecked).",
    ),
    "grounding_budget_tokens": (
        0,
        "Tokens of passages a grounded prompt may hold; 0 means a third of context_length. A busy class (5 or "
        "more grounded questions within 10 s) gets 120: each question's best passage.",
    ),
    "grounding_docs_dir": (
        None,
        "Folder with checkouts of knowledge documents' repositories (`document.repo`).",
    ),
    "grounding_holdout": (
        0,
        "Q&A pairs per knowledge context kept out of the grounding index (the last K), for `edubot eval "
        "--holdout K`; 0 indexes every pair.",
    ),
    "temperature": (0.7, "Default sampling temperature (0..2)."),
    "client_sampling": (
        False,
        "Let /chat requests (the web page's settings, `edubot chat --temperature`) set their own temperature and "
        "max_tokens; off, every /chat answer uses the temperature and max_tokens settings, so a class cannot "
        "change them (/v1 is not affected).",
    ),
    "slow_answer_seconds": (
        60.0,
        "Seconds after which the web page tells a student whose answer has not finished that the computer is "
        "busy and they may wait or press Stop; 0 never does.",
    ),
    # safety
    "moderation": (
        True,
        "Moderate every /chat message and answer: self-harm, violence, sexual content, harassment, personal data "
        "and attempts to switch off the instructions (docs/safety.md); false lets everything through.",
    ),
    "moderation_url": (
        None,
        "OpenAI-compatible URL of a guard model (e.g. Llama Guard on the vLLM engine) asked about each student "
        "message besides the CPU filters, which always run; empty means the CPU filters alone.",
    ),
    "support_message": (
        "It sounds like you are going through something really hard. You are not alone: please talk to a teacher "
        "or an adult you trust today. If you are in danger right now, call your local emergency number. In the UK "
        "you can call Childline on 0800 1111 (free, any time).",
        "What a student who writes about hurting themselves, or being hurt, is told instead of an answer (the "
        "model is not asked); set your school's own words, the adult to talk to and your country's help lines.",
    ),
    "refusal_message": (
        "I can't help with that. Let's keep our chat kind and safe: ask me something about your lessons and I'll "
        "do my best to help.",
        "What a student is told when a message is refused (abuse, sexual content, threats, attempts to switch off "
        "the instructions).",
    ),
    "scope": (
        "lenient",
        "Questions the taxonomy does not cover: strict (not answered; the bot lists the topics it can help with), "
        "lenient (answered, recorded as outside the syllabus) or off (not checked).",
    ),
    "alert_command": (
        None,
        "Program run for each high-severity flag (harm to self or others), given the flag as JSON on its standard "
        "input; retried, never blocking the chat.",
    ),
    "alert_webhook": (
        None,
        "URL the same JSON is POSTed to for each high-severity flag; retried, never blocking the chat.",
    ),
    # classroom
    "database_url": (
        None,
        "Classroom database as a SQLAlchemy URL (postgresql+psycopg://user:password@host/db) for several "
        "backends sharing one; empty means the SQLite file in data_dir.",
    ),
    "retain_days": (
        365,
        "Days the classroom record keeps a message; older ones are deleted by `edubot serve` (at start, then "
        "hourly); 0 keeps them until purged.",
    ),
    # engine
    "engine": ("auto", "Inference engine: auto, llama-cpp, vllm, transformers or external."),
    "model": (
        None,
        "Model to serve: a GGUF file or HF directory; empty or `embedded` means the embedded SmolLM2.",
    ),
    "engine_urls": ([], "OpenAI-compatible engine URLs for the external engine (several are balanced)."),
    "served_model_name": ("edubot", "Model name the engine announces and clients ask for."),
    "engine_port": (0, "Port for the engine on 127.0.0.1; 0 picks a free one."),
    "ready_timeout": (600.0, "Seconds to wait for a started engine to become ready."),
    "context_length": (2048, "Context window per request (llama-cpp: per slot; vLLM --max-model-len)."),
    "threads": (0, "llama-cpp: CPU threads; 0 means one per physical core."),
    "parallel": (
        0,
        "Requests the engine works on at once (llama-cpp slots, vLLM --max-num-seqs); 0 means 32 for "
        "llama-cpp and the engine's own default otherwise.",
    ),
    "max_queue": (64, "Requests that may wait for a free engine slot; beyond that the backend answers 503."),
    "max_restarts": (5, "Engine restarts allowed within restart_window before `edubot serve` gives up."),
    "restart_window": (300.0, "Seconds over which max_restarts is counted."),
    "llama_server": (None, "Path of a llama-server binary; empty means the one `edubot engine build` made."),
    "gpu_memory_utilization": (0.9, "vLLM: fraction of GPU memory to use."),
    "dtype": ("auto", "vLLM: weight dtype (auto, bfloat16, float16, float32)."),
    "tensor_parallel_size": (1, "vLLM: GPUs per node to split each layer over."),
    "pipeline_parallel_size": (1, "vLLM: nodes (pipeline stages); >1 uses the Ray backend."),
    "engine_args": ([], "Extra arguments passed verbatim to the engine command."),
    # chat client
    "url": ("http://127.0.0.1:8000", "Backend URL that `edubot chat` talks to."),
    # ilab
    "ilab_path": (
        None,
        "Path to the ilab executable; empty means PATH, then ./.ilab-venv/bin/ilab (`make ilab-venv`).",
    ),
}


def describe(name: str) -> str:
    """The description of a settings field, for use as option help."""
    return FIELDS[name][1]


class Settings:
    """The typed fields (read by type checkers and by the pydantic model built from them); get instances from
    ``load_settings``."""

    taxonomy_path: Path
    models_dir: Path
    datasets_dir: Path
    checkpoints_dir: Path
    logs_dir: Path
    data_dir: Path
    host: str
    port: int
    api_key: str | None
    cors_origins: list[str]
    rate_limit_per_minute: int
    trusted_proxies: list[str]
    auth_failures_per_minute: int
    allowed_hosts: list[str]
    header_timeout: float
    body_timeout: float
    max_connections_per_client: int
    max_url_bytes: int
    max_header_bytes: int
    max_headers: int
    max_body_bytes: int
    request_timeout: float
    shutdown_grace: float
    system_prompt: str
    allow_system_prompt_override: bool
    max_tokens: int
    grounding: bool | None
    grounding_top_k: int
    grounding_answer: str
    grounding_budget_tokens: int
    grounding_docs_dir: Path | None
    grounding_holdout: int
    temperature: float
    client_sampling: bool
    slow_answer_seconds: float
    moderation: bool
    moderation_url: str | None
    support_message: str
    refusal_message: str
    scope: str
    alert_command: str | None
    alert_webhook: str | None
    database_url: str | None
    retain_days: int
    engine: str
    model: Path | None
    engine_urls: list[str]
    served_model_name: str
    engine_port: int
    ready_timeout: float
    context_length: int
    threads: int
    parallel: int
    max_queue: int
    max_restarts: int
    restart_window: float
    llama_server: Path | None
    gpu_memory_utilization: float
    dtype: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    engine_args: list[str]
    url: str
    ilab_path: Path | None

    if TYPE_CHECKING:

        def model_copy(self, *, update: dict[str, Any] | None = None) -> Settings: ...
        def model_dump(self, **kwargs: Any) -> dict[str, Any]: ...


@cache
def _settings_class() -> type[BaseSettings]:
    from pydantic import Field
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

    annotations = get_type_hints(Settings, globalns={"Path": Path, "Any": Any})
    assert annotations.keys() == FIELDS.keys(), "Settings and FIELDS disagree"
    bounds: dict[str, dict[str, Any]] = {
        "port": {"ge": 1, "le": 65535},
        "engine_port": {"ge": 0, "le": 65535},
        "rate_limit_per_minute": {"ge": 0},
        "auth_failures_per_minute": {"ge": 1},
        "header_timeout": {"gt": 0},
        "body_timeout": {"gt": 0},
        "max_connections_per_client": {"ge": 1},
        "max_url_bytes": {"ge": 256},
        "max_header_bytes": {"ge": 1024},
        "max_headers": {"ge": 8},
        "max_body_bytes": {"ge": 1024},
        "request_timeout": {"gt": 0},
        "shutdown_grace": {"ge": 0},
        "max_tokens": {"ge": 1, "le": 4096},
        "grounding_top_k": {"ge": 1, "le": 20},
        "grounding_answer": {"pattern": "^(quote|check|model)$"},
        "grounding_budget_tokens": {"ge": 0},
        "grounding_holdout": {"ge": 0},
        "temperature": {"ge": 0, "le": 2},
        "slow_answer_seconds": {"ge": 0},
        "support_message": {"min_length": 1},
        "refusal_message": {"min_length": 1},
        "scope": {"pattern": "^(strict|lenient|off)$"},
        "retain_days": {"ge": 0, "le": 36500},
        "ready_timeout": {"gt": 0},
        "context_length": {"ge": 256},
        "threads": {"ge": 0, "le": 1024},
        "parallel": {"ge": 0, "le": 1024},
        "max_queue": {"ge": 0},
        "max_restarts": {"ge": 0},
        "restart_window": {"gt": 0},
        "gpu_memory_utilization": {"gt": 0, "le": 1},
        "tensor_parallel_size": {"ge": 1},
        "pipeline_parallel_size": {"ge": 1},
    }
    namespace: dict[str, Any] = {
        "__annotations__": annotations,
        "model_config": SettingsConfigDict(
            env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, protected_namespaces=()
        ),
        "__doc__": "All edubot settings (see configs/edubot.yaml for a commented copy).",
    }
    for name, (default, description) in FIELDS.items():
        factory = (lambda d=default: list(d)) if isinstance(default, list) else None
        kwargs = {"default_factory": factory} if factory else {"default": default}
        namespace[name] = Field(description=description, **kwargs, **bounds.get(name, {}))

    class _FileSource(PydanticBaseSettingsSource):
        # Values of the YAML config file being loaded (set by load_settings for the duration of one load).
        def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
            return (_FILE_VALUES.get() or {}).get(field_name), field_name, False

        def __call__(self) -> dict[str, Any]:
            return dict(_FILE_VALUES.get() or {})

    def settings_customise_sources(
        cls: Any, settings_cls: Any, init_settings: Any, env_settings: Any, *_: Any, **__: Any
    ) -> tuple[Any, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    namespace["settings_customise_sources"] = classmethod(settings_customise_sources)
    return type("Settings", (BaseSettings,), namespace)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}", hint="check --config FILE"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})",
            hint="save the config file as UTF-8",
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {problem}", hint="fix the YAML syntax") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the config file must be a mapping of keys to values", hint="see configs/edubot.yaml"
        )
    return data


def config_file_path(explicit: Path | None = None) -> Path | None:
    """The config file in force: --config FILE, else $EDUBOT_CONFIG, else configs/edubot.yaml if present."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}", hint="pass an existing file to --config")
        return explicit
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(
                f"config file not found: {path} (from {ENV_PREFIX}CONFIG)", hint="unset it or fix the path"
            )
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _source(name: str, flags: dict[str, Any], path: Path | None, file_values: dict[str, Any]) -> str:
    """Which layer gave setting ``name`` its value (the highest one that set it)."""
    if name in flags:
        return "command-line flag"
    if f"{ENV_PREFIX}{name.upper()}" in os.environ:
        return f"{ENV_PREFIX}{name.upper()}"
    if name in file_values:
        return str(path)
    return "default"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from every layer; ``overrides`` are command-line flags (``None`` values are ignored)."""
    from pydantic import ValidationError

    cls = _settings_class()
    path = config_file_path(config_file)
    file_values = _read_yaml(path) if path else {}
    unknown = sorted(set(file_values) - FIELDS.keys())
    if unknown:
        raise ConfigError(
            f"{path}: unknown config key {unknown[0]!r}",
            hint=f"valid keys: {', '.join(FIELDS)}",
        )

    token = _FILE_VALUES.set(file_values)
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        return _embedded_by_name(cls(**flags))  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        raise ConfigError(
            f"invalid setting {name!r} (from {_source(name, flags, path, file_values)}): {err['msg']}",
            hint=describe(name) if name in FIELDS else "see configs/edubot.yaml",
        ) from exc
    finally:
        _FILE_VALUES.reset(token)


EMBEDDED_NAMES = ("embedded", "smollm2")
"""Names of the embedded model, accepted by the ``model`` setting (the same as leaving it empty) and by ``model
inspect``/``model convert``, unless a file or folder of that name exists."""


def _embedded_by_name(settings: Settings) -> Settings:
    model = settings.model
    if model is not None and str(model).lower() in EMBEDDED_NAMES and not model.exists():
        return settings.model_copy(update={"model": None})
    return settings
