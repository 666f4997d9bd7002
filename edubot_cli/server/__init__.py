"""The HTTP backend: JSON/SSE chat API, OpenAI-compatible pass-through and the static web page.

Build it with ``edubot_cli.server.app.create_app``; this package's ``__init__`` imports nothing heavy so that the
CLI starts fast.
"""
