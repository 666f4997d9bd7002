"""One router per concern: root (page, health, models), chat, OpenAI pass-through, observability."""
