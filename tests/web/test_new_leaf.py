"""A teacher's new knowledge leaf, written with `edubot taxonomy add` while the real engine serves, is cited in
the next answer: on the page and in `edubot chat`, without a restart.

The leaf is about a made-up island, so nothing but the leaf can be the source. What is asserted is retrieval and
its citation, which do not depend on how the small model words its answer.
"""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from typer.testing import CliRunner

from edubot_cli.main import app
from edubot_cli.server.api.grounded import RECHECK
from tests.support.live_backend import LiveBackend, served_embedded

from .conftest import OpenPage, send, wait_answer

pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.timeout(600)]
SHIPPED = Path(__file__).resolve().parents[2] / "taxonomy"
LEAF = "knowledge/geography/kelvar_island"
TITLE = "Geography: Kelvar Island lies in the cold northern sea.…"  # the domain, then the passage's opening
QUESTION = "What is the only town on Kelvar Island called?"
FACTS = [
    "Kelvar Island lies in the cold northern sea. Its only town is called Brennholt.",
    "Kelvar Island is covered in black volcanic sand. Its tallest peak is Mount Ostra.",
    "The people of Kelvar Island fish for cod. They dry the fish on wooden racks.",
    "A ferry reaches Kelvar Island twice a week. The crossing takes nine hours.",
    "Puffins nest on the cliffs of Kelvar Island. They arrive every spring.",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LiveBackend]]:
    """The real engine behind a backend grounded on a copy of the shipped taxonomy."""
    work = tmp_path_factory.mktemp("new-leaf")
    root = work / "taxonomy"
    shutil.copytree(SHIPPED, root)
    overrides = {"taxonomy_path": root, "grounding": None, "temperature": 0, "max_tokens": 16}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDUBOT_CACHE_DIR", str(work / "cache"))
        with served_embedded(work / "logs", overrides) as (_, backend):
            yield root, backend


def add_leaf(root: Path, seeds: Path) -> None:
    with seeds.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, ["context", "question", "answer"])
        writer.writeheader()
        for fact in FACTS:
            first, second = fact.split(". ")
            for question, answer in [
                (f"{first}?", first + "."),
                (f"{second}?", second),
                ("Tell me more.", fact),
            ]:
                writer.writerow({"context": fact, "question": question, "answer": answer})
    result = CliRunner().invoke(app, [
        "taxonomy", "add", LEAF, "--kind", "knowledge", "--from", str(seeds), "--taxonomy", str(root),
        "--created-by", "teacher", "--domain", "Geography", "--outline", "Kelvar Island",
        "--repo", "https://github.com/example/geography", "--commit", "abc1234", "--pattern", "kelvar.md",
    ])  # fmt: skip
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    time.sleep(RECHECK)  # the backend looks at the taxonomy again once a second at most


def test_a_leaf_added_while_serving_is_cited_on_the_page_and_in_the_terminal(
    open_page: OpenPage, served: tuple[Path, LiveBackend], tmp_path: Path
) -> None:
    root, backend = served
    first = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", QUESTION])
    assert first.exit_code == 0, first.output
    assert LEAF not in first.stderr  # not there before the teacher adds it

    add_leaf(root, tmp_path / "kelvar.csv")

    s = open_page(backend.url)
    page = s.page
    send(page, QUESTION)
    answer = wait_answer(page, 1)
    summary = answer.locator(".sources li summary").first
    expect(summary).to_have_text(f"[1] {TITLE}")
    summary.click()
    expect(answer.locator(".sources .where").first).to_contain_text(f"{LEAF}/qna.yaml:7")
    expect(answer.locator(".sources blockquote").first).to_contain_text("Its only town is called Brennholt.")

    after = CliRunner().invoke(app, ["chat", "--url", backend.url, "-q", QUESTION])
    assert after.exit_code == 0, after.output
    assert after.stderr.splitlines()[0] == f"[1] {TITLE} — {LEAF}/qna.yaml:7"
