"""``edubot eval``: score a served model on the taxonomy's own questions, grounded and ungrounded.

Typer-free. The pieces:

- ``metrics``: token F1, content-word recall, numbers and names kept, right leaf cited (no second model).
- ``questions.collect(root, holdout=0)`` → ``list[Question]``: knowledge Q&A pairs and skill examples.
- ``judge.Judge(url, model)``: an optional OpenAI-compatible judge, 0–5 with a reason, parsed strictly.
- ``report``: scores per leaf and overall, the JSON report (``SCHEMA_VERSION``), ``compare``, ``load_report``.
- ``run.run_eval(settings, options, ...)`` → ``EvalRun``: the whole run, its run record written.
- ``local.local_backend(...)``: the embedded engine behind a backend of its own (``--local``).
"""

DEFAULT_MAX_TOKENS = 128
"""``--max-tokens`` of ``edubot eval``: about twice the longest reference answer of the sample taxonomy (a worked
word problem); most references are one or two sentences. Here, in the light package module, so that the command's
option declaration does not import the evaluation modules at start-up."""
