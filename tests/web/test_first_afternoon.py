"""A teacher's first afternoon, as a teacher does it, in a terminal (a pty) and a real Chromium: ``edubot init``;
``taxonomy add`` with a Markdown document, answering the prompts; ``model pull`` from a hub (a local one that
speaks the hub's file API); ``serve`` on the pulled model; then a question on the page, answered from the
teacher's leaf alone, and the waiting shown in words while the model writes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

from edubot_cli.checkpoints.inspect import EMBEDDED_FILE
from edubot_cli.engines.llama_cpp import embedded_model
from edubot_cli.procgroup import free_port
from edubot_cli.taxonomy.prompting import Draft
from edubot_cli.taxonomy.validate import validate
from tests.support.fake_hub import FakeHub
from tests.support.poll import ENGINE_CEILING
from tests.support.serve_process import serve_env, start_serve, wait_healthy

from .conftest import ENGINE_WAIT_MS, OpenPage, send, wait_answer

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.timeout(3600)]

EDUBOT = str(Path(sys.executable).with_name("edubot"))
LEAF = "knowledge/school/museum_trip"
PARAGRAPHS = [
    "The Year 9 trip to the Science Museum is on Friday 14 March, and every student in the year goes.",
    "The coach leaves the school gate at 8:15 in the morning and is back at the school by 16:30.",
    "Each student brings a packed lunch and a water bottle, because the museum has no cafe for school groups.",
    "The trip costs 12 pounds, which parents pay at the school office by Friday 28 February at the latest.",
    "At the museum the class visits the Energy Hall first and then the Space gallery after lunch.",
    "Ms Rivera leads the trip.",
]
QUESTIONS = [
    [("When is the trip?", "On Friday 14 March."), ("Where does the class go?", "To the Science Museum."),
     ("Who goes on the trip?", "Every student in Year 9.")],
    [("When does the coach leave?", "At 8:15 in the morning."), ("Where does the coach leave from?", "The school gate."),
     ("When is the coach back?", "By 16:30.")],
    [("What do students bring?", "A packed lunch and a water bottle."), ("Is there a cafe?", "No cafe for school groups."),
     ("Why bring lunch?", "The museum has no cafe for school groups.")],
    [("How much does the trip cost?", "12 pounds."), ("Where do parents pay?", "At the school office."),
     ("By when?", "By Friday 28 February.")],
    [("What does the class visit first?", "The Energy Hall."), ("What comes after lunch?", "The Space gallery."),
     ("Which gallery is after lunch?", "The Space gallery.")],
]  # fmt: skip
HUB_REPO = "school-tools/smollm2-GGUF"


def _run(args: list[str], cwd: Path, env: dict[str, str], talk: list[tuple[str, str]] = ()) -> str:  # type: ignore[assignment]
    """``edubot ARGS`` in a pty: for each ``(prompt pattern, reply)`` wait for the pattern and type the reply; then
    the whole output, once it has exited with 0."""
    import pexpect

    child = pexpect.spawn(EDUBOT, args, cwd=str(cwd), env=env, encoding="utf-8", timeout=ENGINE_CEILING)
    seen = []
    for pattern, reply in talk:
        child.expect(pattern)
        seen.append(child.before + child.after)
        child.sendline(reply)
    child.expect(pexpect.EOF)
    seen.append(child.before)
    child.close()
    output = "".join(seen).replace("\r\n", "\n")
    assert child.exitstatus == 0, output
    return output


def _add_leaf_dialogue() -> list[tuple[str, str]]:
    talk = [
        (
            r"Your name or GitHub user name \(InstructLab records it.*?\]: ",
            "",
        ),  # Enter: git's name, or the login
        (r"Domain \(e\.g\. Biology\): ", "School trips"),
        (r"Document outline \(a one-line summary of the document\) \[Year 9 museum trip\]: ", ""),
    ]
    for i, pairs in enumerate(QUESTIONS, start=1):
        talk.append(
            (
                rf"Seed example {i}/5: context \(a passage of the document; Enter takes the one shown\).*?: ",
                "",
            )
        )
        for j, (question, answer) in enumerate(pairs, start=1):
            talk += [(rf"question {j}/3 about this context: ", question), (rf"answer {j}/3: ", answer)]
    talk.append((r"Add seed example 6\? \(y/N\).*?: ", "n"))
    talk += [(r"Attribution: [a-z ]+.*?: ", "")] * 4
    return talk


def test_a_teachers_first_afternoon(tmp_path: Path, open_page: OpenPage) -> None:
    env = serve_env(tmp_path) | {
        "NO_COLOR": "1",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),  # this machine's git identity plays no part
        "GIT_CONFIG_NOSYSTEM": "1",
        "EDUBOT_MAX_TOKENS": "24",
    }
    (tmp_path / "gitconfig").write_text("[user]\n\tname = Ms Rivera\n\temail = rivera@school.example\n")
    Draft.for_leaf(PurePosixPath(LEAF)).path.unlink(missing_ok=True)  # no answers kept from an earlier run

    # 1. A project of the teacher's own: no sample leaves.
    out = _run(["init", "year9"], tmp_path, env)
    assert "next (also in README.md there):" in out
    project = tmp_path / "year9"
    assert not list((project / "taxonomy").rglob("qna.yaml"))

    # 2. A leaf from the teacher's Markdown document, answering the prompts as a teacher would.
    (tmp_path / "trip.md").write_text("# Year 9 museum trip\n\n" + "\n\n".join(PARAGRAPHS) + "\n")
    out = _run(["taxonomy", "add", LEAF, "--document", "../trip.md"], project, env, _add_leaf_dialogue())
    assert "next: run `edubot serve`, open http://localhost:8000 and ask “When is the trip?”" in out
    docs = project / "knowledge_docs"
    sha = subprocess.run(["git", "-C", str(docs), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    data = yaml.safe_load((project / "taxonomy" / LEAF / "qna.yaml").read_text())
    assert data["created_by"] == "Ms Rivera"
    assert data["document"] == {
        "repo": docs.as_uri(),
        "commit": sha.strip(),
        "patterns": ["school/museum_trip/trip.md"],
    }
    # The five longest paragraphs were offered, in document order; Enter took each.
    longest = sorted(sorted(range(6), key=lambda i: -len(PARAGRAPHS[i]))[:5])
    assert [s["context"] for s in data["seed_examples"]] == [PARAGRAPHS[i] + "\n" for i in longest]
    report = validate([project / "taxonomy"], strict=True, use_cache=False)
    assert (report.errors, report.warnings) == (0, 0), [
        f"{f.line}: {f.rule} {f.message}" for f in report.findings
    ]

    # 3. A better model in one command (here the embedded file again, from a hub on this machine).
    with FakeHub(tmp_path / "hub") as hub:
        hub.link(HUB_REPO, EMBEDDED_FILE, embedded_model())
        out = _run(
            ["model", "pull", f"hf:{HUB_REPO}/{EMBEDDED_FILE}"], project, env | {"HF_ENDPOINT": hub.url}
        )
    pulled = project / "models" / EMBEDDED_FILE
    assert pulled.read_bytes() == embedded_model().read_bytes()
    assert f"edubot serve --model {Path('models') / EMBEDDED_FILE}" in out

    # 4. Serve the pulled model on the teacher's project.
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    serve = start_serve(
        port,
        "--model",
        str(Path("models") / EMBEDDED_FILE),
        "--parallel",
        "2",
        cwd=project,
        env=env,
        sink=log,
    )
    try:
        wait_healthy(url, serve, timeout=ENGINE_CEILING)
        served = (tmp_path / "serve.log").read_text()
        assert re.search(rf"engine llama-cpp: \S*models/{re.escape(EMBEDDED_FILE)}", served), served

        # 5. A student asks on the page: the answer comes from the teacher's leaf, and only from it.
        s = open_page(url)
        page = s.page
        send(page, "When does the coach leave the school gate?")
        answer = wait_answer(page, 1, timeout=ENGINE_WAIT_MS)
        expect(answer.locator(".body")).to_contain_text("8:15")
        wheres = answer.locator(".sources .where").all_text_contents()
        assert wheres, "the answer cites no source"
        assert all(
            w.startswith((f"{LEAF}/qna.yaml:", "knowledge_docs/school/museum_trip/")) for w in wheres
        ), wheres
        _see_the_waiting(page)
    finally:
        serve.terminate()
        serve.wait(timeout=ENGINE_CEILING)
        log.close()


WATCH_STATUS = """
(() => {
  // Every text the waiting bubble's status shows, in order, and whether a Copy button was there at that moment.
  const seen = [];
  window.__statuses = seen;
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        const status = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
        if (!status?.closest?.(".typing")) continue;
        const text = node.textContent;
        const copy = Boolean(status.closest(".msg")?.querySelector(".copy-msg"));
        if (text) seen.push({ text, copy });
      }
    }
  }).observe(document.getElementById("messages"), { childList: true, subtree: true });
})();
"""


def _see_the_waiting(page: Any) -> None:
    """A question the notes do not answer goes to the model: the bubble says in words what is happening before
    the first word of the answer, and has no Copy button until there is text."""
    page.evaluate(WATCH_STATUS)
    send(page, "Write one sentence about why museums are fun.")
    answer = wait_answer(page, 2, timeout=ENGINE_WAIT_MS)
    seen = page.evaluate("window.__statuses")
    words = [item["text"].strip() for item in seen if not item["text"].rstrip("s ").isdigit()]
    assert words[0] == "Reading your notes…", seen
    assert "Writing…" in words, seen
    assert not any(item["copy"] for item in seen), seen
    expect(answer.locator(".copy-msg")).to_have_count(1)  # the text is there: it can be copied
