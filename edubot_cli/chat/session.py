"""Conversation state and the shared ``edubot-conversation`` JSON format (docs/conversation-format.md).

The terminal chat saves and loads this format; the web page exports and imports the same document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ChatError
from ..fileio import write_atomic
from ..grounding.sources import Source, sources_from_json
from . import MAX_TOKENS_RANGE, TEMPERATURE_RANGE

FORMAT_NAME = "edubot-conversation"
FORMAT_VERSION = 1
TITLE_LENGTH = 60
DEFAULT_TITLE = "New conversation"
STAT_FIELDS = ("completion_tokens", "tokens_per_second", "ttft_seconds", "latency_seconds")


def now_iso() -> str:
    """The current UTC time as JavaScript's ``toISOString()`` writes it (milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ChatDefaults:
    """What applies when the conversation does not choose: from the config file, environment and flags; with
    ``server_sampling`` the backend's temperature and max tokens, which apply whatever the conversation says (a
    class's server: ``client_sampling`` off)."""

    system_prompt: str | None
    temperature: float
    max_tokens: int
    server_sampling: bool = False

    def temperature_for(self, conversation: Conversation) -> float:
        if self.server_sampling or conversation.temperature is None:
            return self.temperature
        return conversation.temperature

    def max_tokens_for(self, conversation: Conversation) -> int:
        if self.server_sampling or conversation.max_tokens is None:
            return self.max_tokens
        return conversation.max_tokens


@dataclass
class AnswerStats:
    """Figures measured for one streamed answer; ``None`` when unknown."""

    completion_tokens: int | None = None
    tokens_per_second: float | None = None
    ttft_seconds: float | None = None
    latency_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in STAT_FIELDS}


@dataclass
class Message:
    """One turn: a question (``user``) or an answer (``assistant``)."""

    role: str
    content: str
    created_at: str = field(default_factory=now_iso)
    stats: AnswerStats | None = None
    stopped: bool = False
    sources: list[Source] = field(default_factory=list)  # a grounded answer's sources

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content, "created_at": self.created_at}
        if self.stats is not None:
            data["stats"] = self.stats.to_json()
        if self.stopped:
            data["stopped"] = True
        if self.sources:
            data["sources"] = [source.to_json() for source in self.sources]
        return data


@dataclass
class Conversation:
    """The conversation being held: its turns plus the settings the user chose (``None`` = server default)."""

    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    messages: list[Message] = field(default_factory=list)
    title: str = DEFAULT_TITLE
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    # --- turns ---

    def add(
        self,
        role: str,
        content: str,
        stats: AnswerStats | None = None,
        stopped: bool = False,
        sources: list[Source] | None = None,
    ) -> Message:
        """Append a turn; the first question becomes the title."""
        message = Message(role, content, stats=stats, stopped=stopped, sources=list(sources or []))
        self.messages.append(message)
        if role == "user" and self.title == DEFAULT_TITLE:
            self.title = make_title(content)
        self.updated_at = message.created_at
        return message

    def answers(self) -> list[Message]:
        """The assistant turns, oldest first (``/md N`` numbers them from 1)."""
        return [m for m in self.messages if m.role == "assistant"]

    def pending_question(self) -> str | None:
        """The last question if it has no answer yet."""
        if self.messages and self.messages[-1].role == "user":
            return self.messages[-1].content
        return None

    def drop_pending_question(self) -> None:
        """Forget an unanswered last question (it failed, and the user asks something else)."""
        if self.pending_question() is not None:
            self.messages.pop()

    def undo(self) -> int:
        """Remove the last question and its answer (if any); return how many messages went."""
        removed = 0
        if self.messages and self.messages[-1].role == "assistant":
            self.messages.pop()
            removed += 1
        if self.messages and self.messages[-1].role == "user":
            self.messages.pop()
            removed += 1
        if removed:
            self.updated_at = now_iso()
        return removed

    def question_to_retry(self) -> str | None:
        """Drop the last answer (if any) and return the question it answered, left in place for resending."""
        if self.messages and self.messages[-1].role == "assistant":
            self.messages.pop()
        return self.pending_question()

    def drop_oldest_turns(self) -> int:
        """Drop the oldest half (rounded up) of the turns before an unanswered last question; return how many
        messages went (0 when nothing but that question is left)."""
        end = len(self.messages) - (1 if self.pending_question() is not None else 0)
        if end <= 0:
            return 0
        # a turn starts at each question (a leading answer, possible in a loaded file, is a turn of its own)
        starts = [0] + [i for i in range(1, end) if self.messages[i].role == "user"]
        drop = (len(starts) + 1) // 2
        cut = starts[drop] if drop < len(starts) else end
        del self.messages[:cut]
        self.updated_at = now_iso()
        return cut

    def clear(self) -> None:
        """Start over, keeping the system prompt and sampling settings."""
        self.messages.clear()
        self.title = DEFAULT_TITLE
        self.created_at = self.updated_at = now_iso()

    def api_messages(self, default_system: str | None) -> list[dict[str, str]]:
        """The OpenAI ``messages`` list: the system prompt (the chosen one, else the default), then the turns."""
        system = self.system if self.system is not None else default_system
        head = [{"role": "system", "content": system}] if system else []
        return head + [{"role": m.role, "content": m.content} for m in self.messages]

    # --- the JSON format ---

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "system": self.system,
            "settings": {"temperature": self.temperature, "max_tokens": self.max_tokens},
            "messages": [m.to_json() for m in self.messages],
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "conversation") -> Conversation:
        """Build a conversation from a parsed document, or raise ``ChatError`` naming ``source`` and the field."""

        def bad(where: str, expected: str) -> ChatError:
            return ChatError(
                f"{source}: {where} must be {expected}",
                hint="see docs/conversation-format.md for the edubot-conversation format",
            )

        if not isinstance(data, dict):
            raise bad("the document", "a JSON object")
        if data.get("format") != FORMAT_NAME:
            raise bad("'format'", f'"{FORMAT_NAME}"')
        if data.get("version") != FORMAT_VERSION:
            raise ChatError(
                f"{source}: unsupported version {data.get('version')!r} (this edubot reads version {FORMAT_VERSION})",
                hint="upgrade edubot, or export the conversation again",
            )
        for name in ("title", "created_at", "updated_at"):
            if not isinstance(data.get(name), str):
                raise bad(f"'{name}'", "a string")
        system = data.get("system", "missing")
        if system is not None and not isinstance(system, str):
            raise bad("'system'", "a string or null")
        settings = data.get("settings")
        if not isinstance(settings, dict):
            raise bad("'settings'", "an object")
        low_t, high_t = TEMPERATURE_RANGE
        temperature = settings.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not low_t <= temperature <= high_t
        ):
            raise bad("'settings.temperature'", f"a number from {low_t:g} to {high_t:g} or null")
        low_m, high_m = MAX_TOKENS_RANGE
        max_tokens = settings.get("max_tokens")
        if max_tokens is not None and (
            isinstance(max_tokens, bool)
            or not isinstance(max_tokens, int)
            or not low_m <= max_tokens <= high_m
        ):
            raise bad("'settings.max_tokens'", f"an integer from {low_m} to {high_m} or null")
        raw_messages = data.get("messages")
        if not isinstance(raw_messages, list):
            raise bad("'messages'", "an array")
        messages = [_message_from_json(raw, f"messages[{i}]", bad) for i, raw in enumerate(raw_messages)]
        return cls(
            system=system,
            temperature=None if temperature is None else float(temperature),
            max_tokens=max_tokens,
            messages=messages,
            title=data["title"],
            created_at=data["created_at"],
            updated_at=data["updated_at"],
        )

    def save(self, path: Path) -> None:
        """Write the conversation to ``path`` atomically (temp file in the same folder, then rename)."""
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"
        try:
            write_atomic(path, text)
        except OSError as exc:
            raise ChatError(
                f"cannot write {path}: {exc.strerror}", hint="check the folder exists and is writable"
            ) from exc

    @classmethod
    def load(cls, path: Path) -> Conversation:
        """Read a conversation file, or raise ``ChatError`` saying what is wrong and where."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ChatError(f"cannot read {path}: no such file", hint="check the path") from exc
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ChatError(f"cannot read {path}: {reason}", hint="check the path") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ChatError(
                f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}",
                hint="pass a file written by /save or the web page's export",
            ) from exc
        return cls.from_json(data, str(path))


def make_title(question: str) -> str:
    """A conversation title from its first question: one line, at most ``TITLE_LENGTH`` characters."""
    line = " ".join(question.split())
    if not line:
        return DEFAULT_TITLE
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def _message_from_json(raw: Any, where: str, bad: Any) -> Message:
    if not isinstance(raw, dict):
        raise bad(where, "an object")
    if raw.get("role") not in ("user", "assistant"):
        raise bad(f"{where}.role", '"user" or "assistant"')
    for name in ("content", "created_at"):
        if not isinstance(raw.get(name), str):
            raise bad(f"{where}.{name}", "a string")
    stats = None
    raw_stats = raw.get("stats")
    if raw_stats is not None:
        if not isinstance(raw_stats, dict):
            raise bad(f"{where}.stats", "an object")
        values: dict[str, Any] = {}
        for name in STAT_FIELDS:
            value = raw_stats.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise bad(f"{where}.stats.{name}", "a number or null")
            values[name] = value
        stats = AnswerStats(**values)
    stopped = raw.get("stopped", False)
    if not isinstance(stopped, bool):
        raise bad(f"{where}.stopped", "true or false")
    sources: list[Source] | None = []
    if raw.get("sources") is not None:
        sources = sources_from_json(raw["sources"])
        if sources is None:
            raise bad(f"{where}.sources", "a list of {n, line, file, yaml_path, title, snippet}")
    return Message(
        raw["role"],
        raw["content"],
        created_at=raw["created_at"],
        stats=stats,
        stopped=stopped,
        sources=sources or [],
    )
