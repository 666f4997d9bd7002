"""Refresh the JavaScript libraries the backend's pages ship with (``make vendor-js``).

The pages load nothing from other hosts, so ``marked`` (markdown) and ``DOMPurify`` (HTML sanitiser) for the chat
page, and ``swagger-ui-dist`` (its standalone bundle, stylesheet and licences) for ``/docs``, are copied into
``static/vendor/`` from the npm registry's tarballs. Versions and checksums are pinned here: a tarball whose sha256
or whose npm ``integrity`` (sha512, as ``npm view NAME@VERSION dist.integrity`` prints it) differs from the pin is
refused, and every file written is checked against its own pin. To move to a new version, change ``version`` and
every checksum together, run the script, review the diff.

Run: ``python -m edubot_cli.server.vendor_js [--dest DIR] [--registry URL]``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from edubot_cli.errors import EdubotError
from edubot_cli.fileio import write_atomic

DEFAULT_REGISTRY = "https://registry.npmjs.org"
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


@dataclass(frozen=True)
class Pin:
    """One npm package version: the tarball checksums and the files taken from it."""

    name: str
    version: str
    tarball_sha256: str
    # member path inside the tarball -> (file path under static/vendor/, sha256 of that file)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    # the registry's ``dist.integrity`` of the tarball ("sha512-<base64>"); checked when set
    integrity: str = ""


PINS: tuple[Pin, ...] = (
    Pin(
        name="marked",
        version="18.2.1",
        tarball_sha256="d66c5213fc203466186060105b01f51896764ba64b3797d2620d02e28e34b8ca",
        integrity="sha512-ii4bxCTCqqwpT86XZWgJNs+ZnAIZksmLGYMViWA7PDIXYIeNo1x6cDdX3JOip9NM/cI6p8z57FxliACboTruMA==",
        files={
            "package/lib/marked.umd.js": (
                "marked.min.js",
                "bb95d4c15f1289f78486eaacebf3bb18688475ed58a040ef762ed49337090542",
            ),
            "package/LICENSE": (
                "marked.LICENSE.txt",
                "8e3a3f82f59a60958f56ca08f445647c32a4733dc7ca6c2c46f6eb898471ab9c",
            ),
        },
    ),
    Pin(
        name="dompurify",
        version="3.4.18",
        tarball_sha256="8b86f79c6481fec23dd81d4de32179422668912ed033c0c47e786a6e70cb3379",
        integrity="sha512-ofe3wI/uNm68HInABYFJYqQxRw1EaKAjNdrFVKqjUY+UZurvNd2L/HuQe097s/4RivWiZyP6tT7aoT8atjfhwg==",
        files={
            "package/dist/purify.min.js": (
                "purify.min.js",
                "8053ee2a6a09f9d50f7fcd6fb7f07072f52c7f3fa9aa12147cab4feaf65ee970",
            ),
            "package/LICENSE": (
                "dompurify.LICENSE.txt",
                "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
            ),
            "package/LICENSE-MPL": (
                "dompurify.LICENSE-MPL.txt",
                "fab3dd6bdab226f1c08630b1dd917e11fcb4ec5e1e020e2c16f83a0a13863e85",
            ),
        },
    ),
    # Swagger UI for /docs: the standalone bundle (it includes React and its other dependencies; the smaller
    # swagger-ui.js needs them loaded separately) and its stylesheet, served from /vendor/swagger-ui/.
    Pin(
        name="swagger-ui-dist",
        version="5.35.0",
        tarball_sha256="1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6",
        integrity="sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
        files={
            "package/swagger-ui-bundle.js": (
                "swagger-ui/swagger-ui-bundle.js",
                "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2",
            ),
            "package/swagger-ui.css": (
                "swagger-ui/swagger-ui.css",
                "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d",
            ),
            # the bundle's last comment points to this file by name: the licences of what it includes
            "package/swagger-ui-bundle.js.LICENSE.txt": (
                "swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
                "37eb6e7e59aed57b2c1acf076574b818ea07b74265717e0bd67b59e0baf9abbb",
            ),
            "package/LICENSE": (
                "swagger-ui/LICENSE.txt",
                "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
            ),
            "package/NOTICE": (
                "swagger-ui/NOTICE.txt",
                "0d20d1adef18aee3f40dd258172155521ce702ac445cb5f7b7d60ed32dad2fb2",
            ),
        },
    ),
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity(data: bytes) -> str:
    """npm's ``dist.integrity`` of a tarball: ``sha512-`` and the base64 of its SHA-512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def tarball_url(pin: Pin, registry: str = DEFAULT_REGISTRY) -> str:
    """The registry's tarball address for a pinned version (the layout every npm registry uses)."""
    return f"{registry.rstrip('/')}/{pin.name}/-/{pin.name}-{pin.version}.tgz"


def _fetch(client: httpx.Client, url: str) -> bytes:
    try:
        response = client.get(url, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise EdubotError(
            f"Cannot download {url}: {exc}", hint="Check the network or pass --registry with a mirror."
        ) from exc
    if response.status_code != 200:
        raise EdubotError(
            f"Cannot download {url}: HTTP {response.status_code}",
            hint="Check that the pinned version exists on the registry.",
        )
    return response.content


def extract(pin: Pin, tarball: bytes, source: str) -> dict[str, bytes]:
    """Check the tarball against its pin and return {file name under vendor/: content}."""
    got = sha256(tarball)
    if got != pin.tarball_sha256:
        raise EdubotError(
            f"{source}: sha256 {got} does not match the pinned {pin.tarball_sha256} "
            f"for {pin.name}@{pin.version}",
            hint="The download was altered or the pin is wrong; nothing was written.",
        )
    if pin.integrity and integrity(tarball) != pin.integrity:
        raise EdubotError(
            f"{source}: integrity {integrity(tarball)} does not match the pinned {pin.integrity} "
            f"for {pin.name}@{pin.version}",
            hint="The download was altered or the pin is wrong; nothing was written.",
        )
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member, (dest_name, file_sha) in pin.files.items():
            try:
                handle = archive.extractfile(member)
            except KeyError:
                handle = None
            if handle is None:
                raise EdubotError(
                    f"{source}: {member} is missing from {pin.name}@{pin.version}",
                    hint="Update the file list of this pin in edubot_cli/server/vendor_js.py.",
                )
            data = handle.read()
            if sha256(data) != file_sha:
                raise EdubotError(
                    f"{source}: {member} has sha256 {sha256(data)}, pinned {file_sha}",
                    hint="Update both checksums of this pin together after reviewing the new file.",
                )
            out[dest_name] = data
    return out


def vendor(
    dest: Path = VENDOR_DIR,
    registry: str = DEFAULT_REGISTRY,
    client: httpx.Client | None = None,
    pins: tuple[Pin, ...] = PINS,
) -> list[Path]:
    """Download every pinned package, verify it, then write its files into ``dest``; returns the paths.

    All packages are downloaded and checked before the first file is written, so a failure changes nothing.
    """
    own_client = client is None
    http = client or httpx.Client(timeout=60.0)
    try:
        files: dict[str, bytes] = {}
        for pin in pins:
            url = tarball_url(pin, registry)
            files.update(extract(pin, _fetch(http, url), url))
    finally:
        if own_client:
            http.close()
    written = []
    for name, data in files.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest / name, data, mode=0o644)  # served to every browser
        written.append(dest / name)
    return written


def check(dest: Path = VENDOR_DIR, pins: tuple[Pin, ...] = PINS) -> list[str]:
    """Problems with the vendored files in ``dest`` (missing or unlike their pins); empty when fine."""
    problems = []
    for pin in pins:
        for dest_name, file_sha in pin.files.values():
            path = dest / dest_name
            if not path.is_file():
                problems.append(f"{path}: missing")
            elif sha256(path.read_bytes()) != file_sha:
                problems.append(f"{path}: differs from {pin.name}@{pin.version}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edubot_cli.server.vendor_js",
        description="Download the pinned marked, DOMPurify and Swagger UI builds into the pages' vendor/ folder.",
    )
    parser.add_argument("--dest", type=Path, default=VENDOR_DIR, help="target folder (default: %(default)s)")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help="npm registry (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only verify the files already in --dest")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.dest)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    try:
        written = vendor(args.dest, args.registry)
    except EdubotError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"Hint: {exc.hint}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
