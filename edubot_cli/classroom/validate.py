"""Checking and normalising what people type for the classroom: class names, nicknames, modes, scope paths, and the
CLI's durations (``30d``) and dates (``2026-03-01``). Pure functions; errors are ``ClassroomError``/``UsageError``
with a hint."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path, PurePosixPath

from ..errors import ClassroomError, UsageError

MODES = ("answer", "hints", "quiz")
NAME_MAX = 100
NICKNAME_MAX = 32


def _clean(text: str) -> str:
    """``text`` with surrounding blanks dropped and inner runs of whitespace as one space."""
    return " ".join(text.split())


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in text)


def class_name(name: str) -> str:
    """A class name as stored: 1 to 100 printable characters, blanks squeezed."""
    clean = _clean(name)
    if not clean or len(clean) > NAME_MAX or _has_control(clean):
        raise ClassroomError(
            f"invalid class name {name!r}: it must be 1 to {NAME_MAX} printable characters",
            hint='name the class as you would on a timetable, e.g. "7B science"',
        )
    return clean


def name_key(name: str) -> str:
    """What makes two names the same (case and blanks aside): ``7B Science`` and ``7b  science`` are one class."""
    return _clean(name).casefold()


class BadNickname(ClassroomError):
    """A nickname that is empty, too long or holds control characters."""


def nickname(typed: str) -> str:
    """A nickname as stored: 1 to 32 printable characters, blanks squeezed."""
    clean = _clean(typed)
    if not clean or len(clean) > NICKNAME_MAX or _has_control(clean):
        raise BadNickname(
            f"a nickname must be 1 to {NICKNAME_MAX} printable characters",
            hint="pick a short nickname; not your full name",
        )
    return clean


def mode(value: str) -> str:
    """One of ``MODES``."""
    if value not in MODES:
        raise ClassroomError(f"unknown mode {value!r}", hint=f"use one of: {', '.join(MODES)}")
    return value


def daily_limit(value: int | None) -> int | None:
    """Questions per student per day: a positive number, or None for no limit."""
    if value is not None and value < 1:
        raise ClassroomError(
            f"invalid daily limit {value}: it must be at least 1", hint="leave it out for no limit"
        )
    return value


def scope(paths: tuple[str, ...] | list[str], taxonomy_root: Path | None = None) -> tuple[str, ...]:
    """Taxonomy paths as stored (``knowledge/science/biology``: relative, forward slashes, no duplicates); with
    ``taxonomy_root``, each must be a folder of that taxonomy."""
    found: dict[str, None] = {}
    for raw in paths:
        text = raw.strip().replace("\\", "/").strip("/")
        parts = PurePosixPath(text).parts
        if not text or ".." in parts or text.startswith("~"):
            raise ClassroomError(
                f"invalid scope {raw!r}: give a folder of the taxonomy",
                hint="e.g. --scope knowledge/science (a path under the taxonomy root)",
            )
        if taxonomy_root is not None and not (taxonomy_root / text).is_dir():
            raise ClassroomError(
                f"scope {text!r} is not a folder of the taxonomy at {taxonomy_root}",
                hint="`edubot taxonomy list` shows its folders; or set taxonomy_path",
            )
        found["/".join(parts)] = None
    return tuple(found)


_DURATION = re.compile(r"^\s*(\d+)\s*(d|h|w|m|min|days?|hours?|weeks?|minutes?)?\s*$", re.IGNORECASE)
_UNITS = {"d": "days", "day": "days", "days": "days", "h": "hours", "hour": "hours", "hours": "hours"}
_UNITS |= {"w": "weeks", "week": "weeks", "weeks": "weeks"}
_UNITS |= {"m": "minutes", "min": "minutes", "minute": "minutes", "minutes": "minutes"}


def duration(text: str, flag: str = "--older-than") -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m`` (or ``30``: days) as a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(
            f"invalid duration {text!r} for {flag}", hint="write a number and a unit: 30d, 12h, 2w or 90m"
        )
    unit = _UNITS[(match.group(2) or "d").lower()]
    return timedelta(**{unit: int(match.group(1))})


def since(text: str, flag: str = "--since") -> datetime:
    """``2026-03-01`` (midnight, this machine's time zone) or an ISO time (``2026-03-01T08:30``, with or without a
    zone; none means this machine's) as an aware datetime."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            moment = datetime.combine(date.fromisoformat(text.strip()), time.min)
        else:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid date {text!r} for {flag}",
            hint="write a date as YYYY-MM-DD, or a time as YYYY-MM-DDTHH:MM",
        ) from None
    return moment.astimezone() if moment.tzinfo is None else moment.astimezone(UTC)
