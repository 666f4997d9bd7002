"""Static checks of the web page's files: size budget, no other host, every referenced file present."""

from __future__ import annotations

import re
from pathlib import Path

import edubot_cli

STATIC = Path(edubot_cli.__file__).parent / "server" / "static"
BUDGET_BYTES = (
    80 * 1024
)  # 60 KiB until the waiting states came, 64 KiB until the classroom (join form, its record)


def test_page_source_fits_the_budget() -> None:
    total = sum((STATIC / name).stat().st_size for name in ("index.html", "app.js", "style.css"))
    assert total <= BUDGET_BYTES, f"index.html + app.js + style.css = {total} bytes > {BUDGET_BYTES}"


def test_index_references_only_local_files() -> None:
    html = (STATIC / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs == [
        "favicon.svg",
        "style.css",
        "vendor/marked.min.js",
        "vendor/purify.min.js",
        "app.js",
        "#prompt",
    ]
    for ref in refs:
        if not ref.startswith("#"):
            assert (STATIC / ref).is_file(), ref


def test_no_other_host_in_page_sources() -> None:
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text()
        assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE) == [], name


def test_content_security_policy_allows_only_the_own_origin() -> None:
    html = (STATIC / "index.html").read_text()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    directives = dict(d.strip().split(" ", 1) for d in policy.group(1).split(";"))
    assert directives == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }


def test_english_and_spanish_have_the_same_keys() -> None:
    js = (STATIC / "app.js").read_text()
    block = js[js.index("const T = {") : js.index("};", js.index("const T = {"))]
    en = block[block.index("en: {") : block.index("es: {")]
    es = block[block.index("es: {") :]
    keys = re.compile(r'(?:^|,)\s*([A-Za-z0-9]+): "', re.MULTILINE)
    assert len(keys.findall(en)) > 60
    assert set(keys.findall(en)) == set(keys.findall(es))
    used = set(re.findall(r'\bt\("([A-Za-z0-9]+)"', js)) | set(
        re.findall(r'data-t(?:-label|-ph)?="(\w+)"', js)
    )
    html_used = set(re.findall(r'data-t(?:-label|-ph)?="(\w+)"', (STATIC / "index.html").read_text()))
    assert (used | html_used) - set(keys.findall(en)) == set()


def test_the_teachers_page_references_only_local_files_and_keeps_the_policy() -> None:
    html = (STATIC / "teacher.html").read_text()
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == [
        "favicon.svg",
        "style.css",
        "teacher.css",
        "teacher.js",
    ]
    index = (STATIC / "index.html").read_text()
    policy = re.compile(r'<meta http-equiv="Content-Security-Policy" content="[^"]+">')
    assert policy.findall(html) == policy.findall(index)  # the chat page's policy, word for word
    assert "<script>" not in html and not re.search(r"<[^>]*\son\w+=", html)  # no inline script or handler
    for name in ("teacher.html", "teacher.js", "teacher.css"):
        text = (STATIC / name).read_text()
        assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE) == [], name
    js = (STATIC / "teacher.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js  # students' words are text, always


def test_the_teachers_page_has_english_and_spanish_for_every_string() -> None:
    js = (STATIC / "teacher.js").read_text()
    block = js[js.index("const T = {") : js.index("};", js.index("const T = {"))]
    en = block[block.index("en: {") : block.index("es: {")]
    es = block[block.index("es: {") :]
    keys = re.compile(r'(?:^|,)\s*([A-Za-z0-9_]+): "', re.MULTILINE)
    assert set(keys.findall(en)) == set(keys.findall(es))
    used = set(re.findall(r'\bt\("([A-Za-z0-9_]+)"', js))
    used |= set(re.findall(r'data-t="(\w+)"', (STATIC / "teacher.html").read_text()))
    assert used - set(keys.findall(en)) == set()
