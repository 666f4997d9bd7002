"""Shared test infrastructure: a scripted OpenAI-compatible stub engine and a live backend runner."""
