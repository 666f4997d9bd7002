"""A real PostgreSQL server for the tests, started by the tests themselves: ``initdb`` into a temporary folder,
``pg_ctl start`` on a free TCP port of 127.0.0.1 (and a unix socket in that folder), one fresh database per test,
stopped and removed at the end of the session. Nothing is mocked.

The binaries are found on PATH, else under Debian's ``/usr/lib/postgresql/<version>/bin`` (the newest). When there
are none, the test fails (it is not skipped) and says to install Debian's ``postgresql`` package.

PostgreSQL refuses to run as root: as root, ``initdb`` and the server run as the user ``nobody`` (the folder is
given to it); as anyone else, as that user.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

INSTALL_HINT = (
    "PostgreSQL is not installed: the classroom store's tests run against a real PostgreSQL server. Install "
    "Debian's `postgresql` package (`apt-get install -y postgresql`; `make test` does it where it is missing)."
)
UNPRIVILEGED_USER = "nobody"
SUPERUSER = "edubot"


def find_binaries(path: str | None = None, lib: Path = Path("/usr/lib/postgresql")) -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: from ``path`` (default: $PATH), else the newest
    ``<lib>/<version>/bin``; None when there is none."""
    on_path = shutil.which("initdb", path=path)
    if on_path and shutil.which("pg_ctl", path=path):
        return Path(on_path).resolve().parent
    versions = sorted(
        (p.parent for p in lib.glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()),
        key=lambda bindir: [int(x) if x.isdigit() else 0 for x in bindir.parent.name.split(".")],
    )
    return versions[-1] if versions else None


def require_binaries(path: str | None = None, lib: Path = Path("/usr/lib/postgresql")) -> Path:
    """``find_binaries``, or the test fails saying what to install (never a skip: these tests must run)."""
    bindir = find_binaries(path, lib)
    if bindir is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return bindir


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One throwaway PostgreSQL cluster. ``start()``, then ``database()`` per test, then ``stop()``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="edubot-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._names = itertools.count(1)
        self._run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{self.bindir}:/usr/bin:/bin", "LC_ALL": "C", "HOME": str(self.root)}
        out = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.root,
            env=env,
            check=False,
            timeout=120,
            **self._run_as,
        )
        if out.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}{out.stderr}\n{tail}"
            )
        return out

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-k {self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ]
        )
        for attempt in range(5):  # the free port may be taken between the probe and the start
            self.port = _free_port()
            try:
                self._run(
                    "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.root / "server.log"),
                    "-o", f"{options} -p {self.port}",
                )  # fmt: skip
                return self
            except RuntimeError:
                if attempt == 4:
                    raise
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by ``database()`` (its connections closed first)."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (fails, with what to install, when PostgreSQL is missing)."""
    server = PostgresServer(require_binaries())
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database on the session's PostgreSQL server, dropped after the test."""
    url = postgres_server.database()
    yield url
    postgres_server.drop(url)
