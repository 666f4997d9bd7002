"""Talking to the engines: the HTTP/1.1 client, the pool with its queue and health, the calls that relay an
answer (and stop the engine's work when the client leaves), and what engines say about errors."""
