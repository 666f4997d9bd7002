"""Join codes and secret tokens.

A join code is 8 symbols from an alphabet without look-alikes (no 0/O, 1/I/L): 31⁸ ≈ 8.5 × 10¹¹ codes, typed on a
phone as ``ABCD-EFGH``, accepted in any case, with or without the dash or spaces. Session tokens and the teacher
key are ``secrets.token_urlsafe(32)`` (256 bits); the store keeps only their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_SEPARATORS = str.maketrans("", "", "- \t\u00a0\u2010\u2011\u2012\u2013\u2014")


def new_code() -> str:
    """A fresh join code in its stored form: 8 symbols of ``ALPHABET``, no dash."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """``ABCDEFGH`` (or any form ``normalize_code`` accepts) as it is shown: ``ABCD-EFGH``."""
    plain = normalize_code(code) or code
    half = len(plain) // 2
    return f"{plain[:half]}-{plain[half:]}"


def normalize_code(typed: str) -> str | None:
    """The stored form of a code as a student typed it (``abcd efgh``, ``ABCD-EFGH``), or None when it cannot be
    one (wrong length, a symbol outside ``ALPHABET``)."""
    plain = typed.translate(_SEPARATORS).upper()
    if len(plain) != CODE_LENGTH or any(ch not in ALPHABET for ch in plain):
        return None
    return plain


def new_token() -> str:
    """A random secret for a session cookie or the teacher key (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256 in hex. A random 256-bit token needs no salt or slow hash."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
