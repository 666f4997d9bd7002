"""Web page: time until interactive on the stub (target ≤ 300 ms) and page weight, next to a bare document.

Interactive = the ``edubot:ready`` performance mark app.js sets once the page is wired (conversations loaded,
handlers attached), read with the Performance API relative to navigation start. Each load uses a fresh browser
context (empty cache and storage), so these are cold loads; a reload in the same context gives the warm figure.
The floor is a bare text file from the same server, loaded the same way.
"""

from __future__ import annotations

import gzip
import statistics
from pathlib import Path

import edubot_cli
from tests.benchmarks.targets import Targets
from tests.support.live_backend import LiveBackend
from tests.support.stub_engine import StubEngine
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP

RUNS = 15
TARGET_MS = 300.0
STATIC = Path(edubot_cli.__file__).parent / "server" / "static"
SOURCES = ("index.html", "app.js", "style.css")
VENDORED = ("vendor/marked.min.js", "vendor/purify.min.js")

READY = "performance.getEntriesByName('edubot:ready')[0].startTime"
INTERACTIVE = "performance.getEntriesByType('navigation')[0].domInteractive"
TRANSFERRED = """() => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
  .map(e => ({name: e.name, bytes: e.encodedBodySize}))"""


def _median(values: list[float]) -> float:
    return statistics.median(values)


def test_page_interactive_time_and_weight() -> None:
    from playwright.sync_api import sync_playwright

    with (
        StubEngine() as stub,
        LiveBackend({}, [stub.url]) as backend,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        cold, warm, floor, dom = [], [], [], []
        resources: list[dict] = []
        for _ in range(RUNS):
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            page.goto(f"{backend.url}/vendor/marked.LICENSE.txt")
            floor.append(page.evaluate(INTERACTIVE))
            page.goto(f"{backend.url}/")
            page.wait_for_selector("body[data-ready='true']")
            cold.append(page.evaluate(READY))
            dom.append(page.evaluate(INTERACTIVE))
            resources = page.evaluate(TRANSFERRED)
            page.reload()
            page.wait_for_selector("body[data-ready='true']")
            warm.append(page.evaluate(READY))
            context.close()
        browser.close()

    source = sum((STATIC / name).stat().st_size for name in SOURCES)
    vendored = sum((STATIC / name).stat().st_size for name in VENDORED)
    zipped = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in SOURCES + VENDORED)
    loaded = sum(r["bytes"] for r in resources)
    ready, bare = _median(cold), _median(floor)
    print(f"\n[bench page] bare text document   domInteractive median {bare:7.1f} ms")
    print(f"[bench page] chat page (cold)     domInteractive median {_median(dom):7.1f} ms")
    print(
        f"[bench page] chat page (cold)     ready median {ready:7.1f} ms, max {max(cold):7.1f} ms "
        f"({ready / bare:.1f}x the bare document)"
    )
    print(
        f"[bench page] chat page (reload)   ready median {_median(warm):7.1f} ms ({_median(warm) / ready:.2f}x cold)"
    )
    targets = Targets("page")
    print(
        f"[bench page] target ≤ {TARGET_MS:.0f} ms: {targets.check(f'cold ready ≤ {TARGET_MS:.0f} ms', ready <= TARGET_MS)}"
    )
    print(
        f"[bench page] weight: index.html + app.js + style.css {source / 1024:.1f} KiB (budget 60 KiB, "
        f"{source / (60 * 1024):.0%}); vendored marked + DOMPurify {vendored / 1024:.1f} KiB; "
        f"all {(source + vendored) / 1024:.1f} KiB, {zipped / 1024:.1f} KiB gzipped"
    )
    print(
        f"[bench page] bytes loaded at start ({len(resources)} requests incl. /health and /): {loaded / 1024:.1f} KiB"
    )
    for r in resources:
        print(f"[bench page]   {r['bytes']:7d} B  {r['name'].removeprefix(backend.url)}")
    assert ready > 0 and source <= 60 * 1024
    targets.assert_met()
