"""The evaluation for people: the verdict lines that head every output, the line of bare ratios, and the report
for the teacher as HTML or Markdown (``edubot eval --format html|markdown``): the summary, then every question with
its reference answer and, per mode, the answer, its verdict and its sources' titles; ``--output`` writing one of
them to a file (``check_output`` before anything is asked, ``write_output`` at the end).

Everything taken from the report (questions, answers, titles, paths) is untrusted text: HTML escapes all of it
(``html.escape``, quotes included), Markdown backslash-escapes the characters that would make it markup
(``MARKDOWN_SPECIAL``) and quotes each text line by line, so that an answer can neither run a script nor change the
document's structure.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from ..assessment.verdict import PARTLY, RIGHT, VERDICTS, WRONG
from ..fileio import write_atomic
from .report import EvalError

MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")
"""Characters a Markdown renderer may read as markup: emphasis, code, links and images, raw HTML, headings,
tables, strikethrough, entities. (A list marker or a rule inside a quoted answer stays inside its quote.)"""
TITLE = "edubot eval"


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def _counts(report: dict[str, Any], mode: str) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for item in report["items"]:
        result = item["results"].get(mode)
        if result is not None and result.get("verdict") in counts:
            counts[result["verdict"]] += 1
    return counts


def verdict_lines(report: dict[str, Any]) -> list[str]:
    """The lines that head the report: partial or not, the share of right answers per mode (with the counts),
    partly and wrong, the factoid questions' share right and the answers by faithfulness."""
    modes = report["settings"]["modes"]
    overall = report["overall"]
    lines = []
    if report.get("partial"):
        lines.append(
            f"Partial report: interrupted after {report['asked']} of {report['total']} questions "
            "(answered in every mode)."
        )
    right = []
    for mode in modes:
        answered = overall[mode]["answered"]
        right.append(
            f"{_percent(overall[mode][RIGHT])} {mode} ({_counts(report, mode)[RIGHT]} of {answered})"
        )
    lines.append("Right answers: " + ", ".join(right))
    lines.append(
        "Partly right: "
        + ", ".join(f"{_percent(overall[m][PARTLY])} {m}" for m in modes)
        + "; wrong: "
        + ", ".join(f"{_percent(overall[m][WRONG])} {m}" for m in modes)
    )
    factoid = overall[modes[0]]["factoid_questions"]
    if factoid:
        lines.append(
            f"Factoid questions ({factoid}): right "
            + ", ".join(f"{_percent(overall[m]['factoid_right'])} {m}" for m in modes)
        )
    for mode in modes:
        counted = overall[mode].get("faithfulness") or {}
        if counted and mode == "grounded":  # an ungrounded answer is never checked
            lines.append(f"Faithfulness ({mode}): " + ", ".join(f"{n} {word}" for word, n in counted.items()))
    return lines


def _score(value: Any, percent: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:.0%}" if percent else f"{value:.2f}"


def ratios_line(report: dict[str, Any]) -> str:
    """One line of bare ratios: questions, content recall per mode (and the ratio with both), right leaf cited,
    the judge's mean grade, errors."""
    modes = report["settings"]["modes"]
    overall = report["overall"]
    questions = overall[modes[0]]["questions"]
    holdout = report["settings"]["holdout"]
    parts = [
        f"{questions} question{'s' if questions != 1 else ''}" + (f" (holdout {holdout})" if holdout else "")
    ]
    recall = {mode: overall[mode]["content_recall"] for mode in modes}
    parts.append("content recall " + ", ".join(f"{_score(recall[m])} {m}" for m in modes))
    if len(modes) == 2 and recall["grounded"] is not None and recall["ungrounded"]:
        parts[-1] += f" ({recall['grounded'] / recall['ungrounded']:.2f}x)"
    if "grounded" in modes:
        parts.append(f"right leaf cited {_score(overall['grounded']['cited_leaf'], percent=True)}")
    if report["settings"]["judge"] is not None:
        grades = ", ".join(
            f"{'–' if overall[m]['judge'] is None else format(overall[m]['judge'], '.1f')} {m}" for m in modes
        )
        failed = sum(overall[m]["judge_errors"] for m in modes)
        parts.append(f"judge {grades} ({failed} judge error{'s' if failed != 1 else ''})")
    errors = sum(overall[m]["errors"] for m in modes)
    parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return "; ".join(parts)


def _about(report: dict[str, Any]) -> str:
    target = "the embedded engine (--local)" if report["target"]["local"] else report["target"]["url"]
    return f"{report['started_at']} · {target} · taxonomy {report['taxonomy']['path']}"


def _sources(titles: list[str]) -> str:
    """``[1] title; [2] title``: numbered as the answer cites them."""
    return "; ".join(f"[{n}] {title}" for n, title in enumerate(titles, 1))


def _where(item: dict[str, Any]) -> str:
    return f"{item['file']}:{item['line']}" + (" · factoid" if item.get("factoid") else "")


# ---- HTML ----

STYLE = """\
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.text { white-space: pre-wrap; }
.where, .about { color: #666; font-size: 0.9em; }
.summary li:first-child { font-size: 1.2em; font-weight: bold; }
.partial { background: #fff3cd; padding: 0.5rem; }
.answer { border-left: 4px solid #999; padding-left: 0.75rem; margin: 0.75rem 0; }
.answer.right { border-color: #2e7d32; }
.answer.partly { border-color: #f9a825; }
.answer.wrong { border-color: #c62828; }
.error { color: #c62828; }
"""


def _h(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_answer(mode: str, result: dict[str, Any]) -> list[str]:
    word = result.get("verdict") or "error"
    lines = [f'<div class="answer {_h(word)}">', f"<h3>{_h(mode)}: {_h(word)}</h3>"]
    if result.get("error") is not None:
        lines.append(f'<p class="error">{_h(result["error"])}</p>')
    else:
        lines.append(f'<p class="text">{_h(result["answer"])}</p>')
    titles = result.get("source_titles") or []
    if titles:
        lines.append(f'<p class="sources">Sources: {_h(_sources(titles))}</p>')
    lines.append("</div>")
    return lines


def to_html(report: dict[str, Any]) -> str:
    """The whole report as one HTML page (see the module doc)."""
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{TITLE}</title>",
        f"<style>\n{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{TITLE}</h1>",
        f'<p class="about">{_h(_about(report))}</p>',
    ]
    heads = verdict_lines(report)
    if report.get("partial"):
        lines.append(f'<p class="partial">{_h(heads.pop(0))}</p>')
    lines.append('<ul class="summary">')
    lines += [f"<li>{_h(line)}</li>" for line in [*heads, ratios_line(report)]]
    lines.append("</ul>")
    for n, item in enumerate(report["items"], 1):
        lines += [
            '<section class="item">',
            f"<h2>{n}. {_h(item['leaf'])}</h2>",
            f'<p class="where">{_h(_where(item))}</p>',
            "<h3>Question</h3>",
            f'<p class="text">{_h(item["question"])}</p>',
            "<h3>Reference answer</h3>",
            f'<p class="text">{_h(item["reference"])}</p>',
        ]
        for mode, result in item["results"].items():
            lines += _html_answer(mode, result)
        lines.append("</section>")
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


# ---- Markdown ----


def md_escape(text: object) -> str:
    """``text`` with every character that Markdown may read as markup backslash-escaped."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def _quoted(text: str) -> list[str]:
    return [f"> {md_escape(line)}".rstrip() for line in text.strip().splitlines()] or [">"]


def to_markdown(report: dict[str, Any]) -> str:
    """The whole report as Markdown (see the module doc)."""
    heads = verdict_lines(report)
    lines = [f"# {TITLE}", "", md_escape(_about(report)), ""]
    if report.get("partial"):
        lines += [f"**{md_escape(heads.pop(0))}**", ""]
    lines += [f"- **{md_escape(heads[0])}**", *(f"- {md_escape(line)}" for line in heads[1:])]
    lines += [f"- {md_escape(ratios_line(report))}", ""]
    for n, item in enumerate(report["items"], 1):
        lines += [f"## {n}. {md_escape(item['leaf'])}", "", md_escape(_where(item)), ""]
        lines += ["**Question**", "", *_quoted(item["question"]), ""]
        lines += ["**Reference answer**", "", *_quoted(item["reference"]), ""]
        for mode, result in item["results"].items():
            word = result.get("verdict") or "error"
            lines += [f"**{md_escape(mode)}: {md_escape(word)}**", ""]
            text = result["error"] if result.get("error") is not None else result["answer"]
            lines += [*_quoted(text), ""]
            titles = result.get("source_titles") or []
            if titles:
                lines += [f"Sources: {md_escape(_sources(titles))}", ""]
    return "\n".join(lines)


# ---- --output ----


def document(report: dict[str, Any], fmt: str) -> str:
    """The report as ``fmt``: ``json``, ``html`` or ``markdown``."""
    if fmt == "html":
        return to_html(report)
    if fmt == "markdown":
        return to_markdown(report)
    return json.dumps(report, indent=2, ensure_ascii=False)


def check_output(path: Path, force: bool) -> None:
    """Refuse an ``--output`` that is a folder, exists (without ``force``) or has no folder to go to: before
    anything is asked, so that no run is lost to it."""
    if path.is_dir():
        raise EvalError(f"--output {path} is a folder", hint="give a file name, e.g. --output report.html")
    if path.exists() and not force:
        raise EvalError(f"{path} already exists", hint="pass --force to overwrite it")
    if not path.absolute().parent.is_dir():
        raise EvalError(
            f"the folder of {path} does not exist", hint="create it, or write the report elsewhere"
        )


def write_output(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file and rename), ending with a newline."""
    try:
        write_atomic(path, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise EvalError(
            f"cannot write {path}: {exc.strerror}", hint="check the folder's permissions"
        ) from exc
