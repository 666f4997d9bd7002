"""The report for the teacher: HTML and Markdown with every question, reference, answer, verdict and source title,
the summary first, and every piece of untrusted text escaped."""

from __future__ import annotations

from typing import Any

from edubot_cli.assessment.questions import Question
from edubot_cli.evaluation.document import md_escape, to_html, to_markdown, verdict_lines
from edubot_cli.evaluation.report import Answer, Item, build_report

EVIL = '<script>alert("x")</script> & [link](http://x) *bold* # | `code`'


def report(partial: bool = False) -> dict[str, Any]:
    first = Item(
        Question("k/a&b", "k/a&b/qna.yaml", 7, "knowledge", "q", "c", "Who <b>won</b>?", "Ann & Bo won."),
        {
            "grounded": Answer(
                text=EVIL,
                verdict="partly",
                source_titles=['k/a&b (Sport "quotes")', "k/c"],
                content_recall=0.5,
                faithfulness="checked",
            ),
            "ungrounded": Answer(error="the question does not fit <the context>"),
        },
    )
    second = Item(
        Question("k/c", "k/c/qna.yaml", 9, "knowledge", "q", "c", "Why?\nSay why.", "Because."),
        {
            "grounded": Answer(text="Because.\nThat is all.", verdict="right"),
            "ungrounded": Answer(text="No."),
        },
    )
    second.answers["ungrounded"].verdict = "wrong"
    meta = {
        "started_at": "2026-12-07T10:00:00+00:00",
        "target": {"url": None, "local": True},
        "taxonomy": {"path": "/t", "hash": "sha256:0"},
        "settings": {"modes": ["grounded", "ungrounded"], "holdout": 1, "judge": None},
    }
    return build_report(
        [first, second], modes=("grounded", "ungrounded"), meta=meta, total=3 if partial else 2
    )


SUMMARY = [
    "Right answers: 50% grounded (1 of 2), 0% ungrounded (0 of 1)",
    "Partly right: 50% grounded, 0% ungrounded; wrong: 0% grounded, 100% ungrounded",
    "Factoid questions (1): right 0% grounded, – ungrounded",
    "Faithfulness (grounded): 1 checked",
]
RATIOS = "2 questions (holdout 1); content recall 0.50 grounded, – ungrounded; right leaf cited –; 1 error"


def test_the_verdict_lines() -> None:
    assert verdict_lines(report()) == SUMMARY
    assert verdict_lines(report(partial=True)) == [
        "Partial report: interrupted after 2 of 3 questions (answered in every mode).",
        *SUMMARY,
    ]


def test_html_structure_and_escaping() -> None:
    page = to_html(report())
    body = page[page.index("<body>") :]
    assert body.splitlines() == [
        "<body>",
        "<h1>edubot eval</h1>",
        '<p class="about">2026-12-07T10:00:00+00:00 · the embedded engine (--local) · taxonomy /t</p>',
        '<ul class="summary">',
        *(f"<li>{line}</li>" for line in SUMMARY),
        f"<li>{RATIOS}</li>",
        "</ul>",
        '<section class="item">',
        "<h2>1. k/a&amp;b</h2>",
        '<p class="where">k/a&amp;b/qna.yaml:7 · factoid</p>',
        "<h3>Question</h3>",
        '<p class="text">Who &lt;b&gt;won&lt;/b&gt;?</p>',
        "<h3>Reference answer</h3>",
        '<p class="text">Ann &amp; Bo won.</p>',
        '<div class="answer partly">',
        "<h3>grounded: partly</h3>",
        '<p class="text">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; [link](http://x) *bold* # | `code`</p>',
        '<p class="sources">Sources: [1] k/a&amp;b (Sport &quot;quotes&quot;); [2] k/c</p>',
        "</div>",
        '<div class="answer error">',
        "<h3>ungrounded: error</h3>",
        '<p class="error">the question does not fit &lt;the context&gt;</p>',
        "</div>",
        "</section>",
        '<section class="item">',
        "<h2>2. k/c</h2>",
        '<p class="where">k/c/qna.yaml:9</p>',
        "<h3>Question</h3>",
        '<p class="text">Why?',
        'Say why.</p>',
        "<h3>Reference answer</h3>",
        '<p class="text">Because.</p>',
        '<div class="answer right">',
        "<h3>grounded: right</h3>",
        '<p class="text">Because.',
        'That is all.</p>',
        "</div>",
        '<div class="answer wrong">',
        "<h3>ungrounded: wrong</h3>",
        '<p class="text">No.</p>',
        "</div>",
        "</section>",
        "</body>",
        "</html>",
    ]  # fmt: skip
    assert page.startswith(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>edubot eval</title>'
    )
    assert "<script>" not in page


def test_html_marks_a_partial_report() -> None:
    page = to_html(report(partial=True))
    assert (
        '<p class="partial">Partial report: interrupted after 2 of 3 questions (answered in every mode).</p>\n'
        '<ul class="summary">\n<li>Right answers:'
    ) in page


def test_markdown_structure_and_escaping() -> None:
    assert to_markdown(report(partial=True)).splitlines() == [
        "# edubot eval",
        "",
        "2026-12-07T10:00:00+00:00 · the embedded engine (--local) · taxonomy /t",
        "",
        "**Partial report: interrupted after 2 of 3 questions (answered in every mode).**",
        "",
        f"- **{SUMMARY[0]}**",
        *(f"- {line}" for line in SUMMARY[1:]),
        f"- {RATIOS}",
        "",
        "## 1. k/a\\&b",
        "",
        "k/a\\&b/qna.yaml:7 · factoid",
        "",
        "**Question**",
        "",
        "> Who \\<b\\>won\\</b\\>?",
        "",
        "**Reference answer**",
        "",
        "> Ann \\& Bo won.",
        "",
        "**grounded: partly**",
        "",
        '> \\<script\\>alert("x")\\</script\\> \\& \\[link\\](http://x) \\*bold\\* \\# \\| \\`code\\`',
        "",
        'Sources: \\[1\\] k/a\\&b (Sport "quotes"); \\[2\\] k/c',
        "",
        "**ungrounded: error**",
        "",
        "> the question does not fit \\<the context\\>",
        "",
        "## 2. k/c",
        "",
        "k/c/qna.yaml:9",
        "",
        "**Question**",
        "",
        "> Why?",
        "> Say why.",
        "",
        "**Reference answer**",
        "",
        "> Because.",
        "",
        "**grounded: right**",
        "",
        "> Because.",
        "> That is all.",
        "",
        "**ungrounded: wrong**",
        "",
        "> No.",
    ]  # fmt: skip


def test_md_escape() -> None:
    assert md_escape("a_b <i> ~x~ \\") == "a\\_b \\<i\\> \\~x\\~ \\\\"
