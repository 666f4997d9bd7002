"""The PostgreSQL fixture: where it finds the binaries, that it fails (not skips) without them, and the server it
starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres import INSTALL_HINT, PostgresServer, find_binaries, require_binaries


def _fake_bin(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("initdb", "pg_ctl"):
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    return folder


def test_found_on_path_first_then_the_newest_debian_version(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    _fake_bin(lib / "13" / "bin")
    newest = _fake_bin(lib / "16" / "bin")
    _fake_bin(lib / "9.6" / "bin")
    assert find_binaries(path=str(tmp_path / "empty"), lib=lib) == newest
    on_path = _fake_bin(tmp_path / "local")
    assert find_binaries(path=str(on_path), lib=lib) == on_path


def test_missing_binaries_fail_the_test_with_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as info:
        require_binaries(path=str(tmp_path), lib=tmp_path / "none")
    assert str(info.value) == INSTALL_HINT
    assert "Debian's `postgresql` package" in INSTALL_HINT


def test_the_server_gives_a_fresh_database_per_call(postgres_server: PostgresServer) -> None:
    import psycopg

    first, second = postgres_server.database(), postgres_server.database()
    assert first != second
    conninfo = first.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("SELECT current_user, version()").fetchone()[0] == "edubot"  # type: ignore[index]
        conn.execute("CREATE TABLE t (x int)")
    postgres_server.drop(first)
    postgres_server.drop(second)
    assert (postgres_server.root / "data" / "postmaster.pid").exists()


def test_stop_ends_the_server_and_removes_its_folder() -> None:
    import socket

    server = PostgresServer(require_binaries()).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10):
            pass
        assert (server.root / f".s.PGSQL.{server.port}").exists()  # the unix socket, in the folder
    finally:
        server.stop()
    assert not server.root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=10):
        pass
