"""The vendored marked/DOMPurify/Swagger UI files and the script that refreshes them (``make vendor-js``)."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
from pathlib import Path

import httpx
import pytest

from edubot_cli.errors import EdubotError
from edubot_cli.server import vendor_js
from edubot_cli.server.vendor_js import PINS, Pin, check, integrity, main, tarball_url, vendor


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


LIB = b"/*! demo 1.0.0 */window.demo=1;"
LICENSE = b"MIT License\n"
TARBALL = make_tarball(
    {"package/dist/demo.min.js": LIB, "package/LICENSE": LICENSE, "package/README.md": b"x"}
)


def demo_pin(**overrides: object) -> Pin:
    fields: dict[str, object] = {
        "name": "demo",
        "version": "1.0.0",
        "tarball_sha256": sha(TARBALL),
        "files": {
            "package/dist/demo.min.js": ("demo.min.js", sha(LIB)),
            "package/LICENSE": ("demo.LICENSE.txt", sha(LICENSE)),
        },
    }
    fields.update(overrides)
    return Pin(**fields)  # type: ignore[arg-type]


def registry(body: bytes = TARBALL, status: int = 200) -> tuple[httpx.Client, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(status, content=body)

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def test_committed_vendor_files_match_their_pins() -> None:
    assert check() == []
    names = sorted(
        str(p.relative_to(vendor_js.VENDOR_DIR)) for p in vendor_js.VENDOR_DIR.rglob("*") if p.is_file()
    )
    assert names == [
        "dompurify.LICENSE-MPL.txt",
        "dompurify.LICENSE.txt",
        "marked.LICENSE.txt",
        "marked.min.js",
        "purify.min.js",
        "swagger-ui/LICENSE.txt",
        "swagger-ui/NOTICE.txt",
        "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
        "swagger-ui/swagger-ui.css",
    ]
    # Swagger UI is by far the largest: keep an eye on what the package grows by.
    sizes = {name: (vendor_js.VENDOR_DIR / name).stat().st_size for name in names}
    assert sum(sizes.values()) < 2_200_000


def test_pins_name_the_versions_shipped() -> None:
    assert [(p.name, p.version) for p in PINS] == [
        ("marked", "18.2.1"),
        ("dompurify", "3.4.18"),
        ("swagger-ui-dist", "5.35.0"),
    ]
    marked_js = (vendor_js.VENDOR_DIR / "marked.min.js").read_text()
    purify_js = (vendor_js.VENDOR_DIR / "purify.min.js").read_text()
    assert "marked v18.2.1" in marked_js[:200]
    assert "DOMPurify 3.4.18" in purify_js[:200]
    swagger = (vendor_js.VENDOR_DIR / "swagger-ui" / "swagger-ui-bundle.js").read_text()
    assert "SwaggerUIBundle" in swagger[:400]
    assert swagger.rstrip().endswith(")));")  # the whole bundle, and no source map it would ask for
    # Every pin carries the registry's integrity string too (`npm view NAME@VERSION dist.integrity`).
    assert all(re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", p.integrity) for p in PINS)


def test_tarball_url_uses_the_registry_layout() -> None:
    assert tarball_url(PINS[0]) == "https://registry.npmjs.org/marked/-/marked-18.2.1.tgz"
    assert tarball_url(PINS[1], "http://mirror.local/npm/") == (
        "http://mirror.local/npm/dompurify/-/dompurify-3.4.18.tgz"
    )


def test_vendor_writes_the_pinned_files(tmp_path: Path) -> None:
    client, seen = registry()
    written = vendor(tmp_path, "http://reg.test", client=client, pins=(demo_pin(),))
    assert seen == ["http://reg.test/demo/-/demo-1.0.0.tgz"]
    assert written == [tmp_path / "demo.min.js", tmp_path / "demo.LICENSE.txt"]
    assert (tmp_path / "demo.min.js").read_bytes() == LIB
    assert (tmp_path / "demo.LICENSE.txt").read_bytes() == LICENSE
    assert (tmp_path / "demo.min.js").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.LICENSE.txt", "demo.min.js"]
    assert check(tmp_path, (demo_pin(),)) == []


def test_tarball_checksum_mismatch_writes_nothing(tmp_path: Path) -> None:
    client, _ = registry(
        body=make_tarball({"package/dist/demo.min.js": b"evil()", "package/LICENSE": LICENSE})
    )
    with pytest.raises(EdubotError) as err:
        vendor(tmp_path, "http://reg.test", client=client, pins=(demo_pin(),))
    assert err.value.message.startswith("http://reg.test/demo/-/demo-1.0.0.tgz: sha256 ")
    assert f"does not match the pinned {sha(TARBALL)} for demo@1.0.0" in err.value.message
    assert err.value.hint == "The download was altered or the pin is wrong; nothing was written."
    assert list(tmp_path.iterdir()) == []


def test_integrity_mismatch_writes_nothing(tmp_path: Path) -> None:
    client, _ = registry()
    wrong = "sha512-" + "A" * 86 + "=="
    with pytest.raises(EdubotError) as err:
        vendor(tmp_path, "http://reg.test", client=client, pins=(demo_pin(integrity=wrong),))
    assert err.value.message == (
        f"http://reg.test/demo/-/demo-1.0.0.tgz: integrity {integrity(TARBALL)} does not match the pinned "
        f"{wrong} for demo@1.0.0"
    )
    assert list(tmp_path.iterdir()) == []
    client, _ = registry()
    vendor(tmp_path, "http://reg.test", client=client, pins=(demo_pin(integrity=integrity(TARBALL)),))
    assert (tmp_path / "demo.min.js").read_bytes() == LIB


def test_files_may_go_into_a_subfolder(tmp_path: Path) -> None:
    client, _ = registry()
    pin = demo_pin(files={"package/dist/demo.min.js": ("demo/demo.min.js", sha(LIB))})
    assert vendor(tmp_path, "http://reg.test", client=client, pins=(pin,)) == [
        tmp_path / "demo" / "demo.min.js"
    ]
    assert check(tmp_path, (pin,)) == []


def test_integrity_is_npms_format() -> None:
    # The value `npm view` prints for a tarball: "sha512-" and the base64 of its SHA-512.
    assert integrity(b"") == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )


def test_a_failing_second_package_leaves_the_first_unwritten(tmp_path: Path) -> None:
    client, seen = registry()
    broken = demo_pin(name="other", tarball_sha256="0" * 64)
    with pytest.raises(EdubotError):
        vendor(tmp_path, "http://reg.test", client=client, pins=(demo_pin(), broken))
    assert seen == ["http://reg.test/demo/-/demo-1.0.0.tgz", "http://reg.test/other/-/other-1.0.0.tgz"]
    assert list(tmp_path.iterdir()) == []


def test_missing_member_is_named(tmp_path: Path) -> None:
    client, _ = registry()
    pin = demo_pin(files={"package/dist/gone.js": ("gone.js", "0" * 64)})
    with pytest.raises(EdubotError) as err:
        vendor(tmp_path, "http://reg.test", client=client, pins=(pin,))
    assert err.value.message == (
        "http://reg.test/demo/-/demo-1.0.0.tgz: package/dist/gone.js is missing from demo@1.0.0"
    )


def test_member_checksum_mismatch_is_named(tmp_path: Path) -> None:
    client, _ = registry()
    pin = demo_pin(files={"package/LICENSE": ("demo.LICENSE.txt", "1" * 64)})
    with pytest.raises(EdubotError) as err:
        vendor(tmp_path, "http://reg.test", client=client, pins=(pin,))
    assert err.value.message == (
        f"http://reg.test/demo/-/demo-1.0.0.tgz: package/LICENSE has sha256 {sha(LICENSE)}, pinned {'1' * 64}"
    )
    assert list(tmp_path.iterdir()) == []


def test_http_error_names_the_url(tmp_path: Path) -> None:
    client, _ = registry(body=b"not found", status=404)
    with pytest.raises(EdubotError) as err:
        vendor(tmp_path, "http://reg.test", client=client, pins=(demo_pin(),))
    assert err.value.message == "Cannot download http://reg.test/demo/-/demo-1.0.0.tgz: HTTP 404"


def test_check_reports_missing_and_changed_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "demo.min.js").write_bytes(LIB + b"// edited")
    assert check(tmp_path, (demo_pin(),)) == [
        f"{tmp_path / 'demo.min.js'}: differs from demo@1.0.0",
        f"{tmp_path / 'demo.LICENSE.txt'}: missing",
    ]
    assert main(["--check", "--dest", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'marked.min.js'}: missing" in err
    assert main(["--check", "--dest", str(vendor_js.VENDOR_DIR)]) == 0


def test_unreachable_registry_fails_with_the_url_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        registry_url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        assert main(["--dest", str(tmp_path), "--registry", registry_url]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"Error: Cannot download {registry_url}/marked/-/marked-18.2.1.tgz: ")
    assert err[1:] == ["Hint: Check the network or pass --registry with a mirror."]
    assert list(tmp_path.iterdir()) == []
