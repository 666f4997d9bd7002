"""The terminal chat: an OpenAI-compatible streaming client, conversation state and its JSON format, slash
commands, markdown rendering and the prompt_toolkit REPL."""

# What a conversation's temperature and max_tokens accept (the backend's /chat limits). Here, not in session.py,
# so that `edubot chat`'s option declarations can use them without importing the chat modules at start-up.
TEMPERATURE_RANGE = (0.0, 2.0)
MAX_TOKENS_RANGE = (1, 4096)
