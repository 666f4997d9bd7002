"""``edubot eval``: score a served model on the taxonomy's own questions, grounded and ungrounded.

Typer-free. The pieces:

- ``metrics``: token F1, content-word recall, numbers and names kept, right leaf cited (no second model).
- ``questions.collect(root, holdout=0)`` → ``list[Question]``: knowledge Q&A pairs and skill examples.
- ``judge.Judge(url, model)``: an optional OpenAI-compatible judge, 0–5 with a reason, parsed strictly.
- ``report``: scores per leaf and overall, the JSON report (``SCHEMA_VERSION``), ``compare``, ``load_report``.
- ``verdict``: right, partly or wrong per answer from the metrics; which questions are factoid.
- ``pool.run_jobs``: the questions asked a few at once, Ctrl-C keeping what was finished.
- ``run.run_eval(settings, options, ...)`` → ``EvalRun``: the whole run, its run record written.
- ``document``: the report for the teacher as HTML or Markdown (``--format html|markdown``).
"""

DEFAULT_MAX_TOKENS = 128
"""``--max-tokens`` of ``edubot eval``: about twice the longest reference answer of the sample taxonomy (a worked
word problem); most references are one or two sentences. Here, in the light package module, so that the command's
option declaration does not import the evaluation modules at start-up."""
DEFAULT_CONCURRENCY = 8
"""``--concurrency`` of ``edubot eval`` when the backend does not report a smaller capacity (``GET /health``), and
the embedded engine's slots with ``--local``: enough to keep a small engine busy without starving a classroom's
server of its slots."""
