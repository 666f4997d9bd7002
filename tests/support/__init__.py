"""Shared test infrastructure: stub and canned engines, a live backend, a fake supervisor, poll helpers."""
