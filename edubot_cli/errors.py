"""The one error type library code raises, and its exit codes.

Library modules never print or exit: they raise an ``EdubotError`` carrying what went wrong (``message``) and
how to fix it (``hint``). The CLI turns it into one red line plus the hint on stderr and exit code 1.
"""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class EdubotError(Exception):
    """A failure the user can act on: ``message`` says what and where, ``hint`` says how to fix it."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ConfigError(EdubotError):
    """Bad configuration file, environment variable or flag value."""


class UsageError(EdubotError):
    """A flag combination or argument the command cannot work with (exit code 2)."""

    exit_code = EXIT_USAGE


class MissingDependencyError(EdubotError):
    """An optional extra (serve, convert, gpu) or external tool (ilab, chromium) is not installed."""


class TaxonomyError(EdubotError):
    """A taxonomy path or file that cannot be read or written."""


class EngineError(EdubotError):
    """An inference engine failed to start, exited, or cannot be reached."""


class ConvertError(EdubotError):
    """A checkpoint that cannot be converted safely."""


class PullError(EdubotError):
    """A model that cannot be pulled from the Hugging Face hub: unknown, unreachable, or not the hub's file."""


class LabError(EdubotError):
    """The ilab executable is missing, too old, or failed."""


class ChatError(EdubotError):
    """The chat backend or engine cannot be reached or answered with an error."""


class ClassroomError(EdubotError):
    """The classroom store refused or failed: an unknown class or code, a closed class, a nickname taken, a
    database that cannot be opened."""


def missing_extra(module: str, extra: str) -> MissingDependencyError:
    """The error for an optional dependency that is not installed, naming the extra that provides it."""
    return MissingDependencyError(
        f"{module} is not installed (it comes with the '{extra}' extra)",
        hint=f"run `make install` or `pip install 'edubot[{extra}]'`",
    )
