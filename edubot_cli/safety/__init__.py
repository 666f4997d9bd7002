"""Student safety: moderation of what students write and what the model answers, the syllabus scope, and the
school's alert hook.

- ``moderation.check_message`` / ``moderation.AnswerFilter``: the one entry point for student messages and the
  one for answers (CPU only); ``moderation.Moderator`` adds the optional guard model (``guard``).
- ``scope.check_scope``: whether a question is covered by the taxonomy (``scope: strict | lenient | off``).
- ``alerts.AlertSender``: ``alert_command`` / ``alert_webhook`` for high-severity flags, off the request path.

Nothing here imports typer, prints or exits; nothing is downloaded: the word list and the offensive-language
model come inside their PyPI wheels (``better-profanity``, ``alt-profanity-check``). See ``docs/safety.md``.
"""
