"""Helpers shared by the command modules (kept light: imported at start-up)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ..config import Settings


def settings(ctx: typer.Context, **flags: Any) -> Settings:
    """Settings for this invocation: config file from the root ``--config``, then env, then these flags."""
    from ..config import load_settings

    root = ctx.find_root()
    config = (root.obj or {}).get("config") if root.obj else None
    return load_settings(config, **flags)
