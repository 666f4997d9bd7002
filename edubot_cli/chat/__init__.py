"""The terminal chat: an OpenAI-compatible streaming client, conversation state and its JSON format, slash
commands, markdown rendering and the prompt_toolkit REPL."""
