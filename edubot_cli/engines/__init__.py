"""Inference engines: existing OpenAI-compatible servers, started as subprocesses (or reached by URL).

``choose.build_engine(settings)`` picks and checks one; ``base.Engine`` is the interface the backend needs.
"""

from .base import ENGINE_NAMES, Engine, EngineSpec
from .choose import build_engine, choose_engine

__all__ = ["ENGINE_NAMES", "Engine", "EngineSpec", "build_engine", "choose_engine"]
