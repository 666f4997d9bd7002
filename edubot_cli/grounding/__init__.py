"""Grounded answers from the taxonomy: a retrieval index (SQLite FTS5, BM25) and prompt assembly with sources.

Typer-free; importing the package imports none of its modules (the terminal chat reads ``sources`` alone). The
pieces:

- ``index.TaxonomyIndex(root, path=None, *, holdout=0, docs_dir=None)``: ``.refresh(rebuild=False)`` →
  ``IndexReport``; ``.search(query, k, *, exclude=())`` → ``list[Source]``; ``.retrieve(...)`` →
  ``list[Passage]`` (sources with their full text, for the prompt); ``.held_out()`` → ``list[HeldOut]``.
- ``index.build_index(root, ...)``: what ``edubot taxonomy index`` runs.
- ``prompt.grounded_messages(system_prompt, history, question, sources, budget_tokens)`` → ``GroundedPrompt``
  (``.messages``, ``.sources`` that made it in); ``prompt.retrieval_query(question, history)``.
- retrieval recall on the seed data lives with the other assessments: ``assessment.retrieval``.
"""
