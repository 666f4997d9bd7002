"""Assessing answers, below every part that asks questions: the taxonomy's questions (``questions``), scores that
need no second model (``metrics``), a plain verdict per answer (``verdict``), an optional judge model (``judge``)
and retrieval recall on the taxonomy's own seed data (``retrieval``). ``edubot eval`` and the chat share them."""
