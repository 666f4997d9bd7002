"""A classroom for the server and page tests: a real store (SQLite in a temp ``data_dir``) with a class and a
teacher key, made as the teacher makes them (``edubot class create``, ``edubot class teacher-key``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from edubot_cli.classroom.store import ClassInfo, Store

from .live_backend import isolated_settings


@dataclass
class Room:
    """A store in ``data_dir`` with one open class (``klass``) and the teacher key (``teacher_key``)."""

    data_dir: Path
    store: Store
    klass: ClassInfo
    teacher_key: str

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings overrides for a backend on this store."""
        return {"data_dir": self.data_dir, **overrides}


def make_room(tmp_path: Path, name: str = "7B science", **class_options: Any) -> Room:
    """A store under ``tmp_path`` with the class ``name`` and a teacher key. Close its ``store`` when done."""
    data_dir = tmp_path / "data"
    store = Store.open(isolated_settings({"data_dir": data_dir}))
    klass = store.create_class(name, **class_options)
    return Room(data_dir, store, klass, store.new_teacher_key())


def join(client: httpx.Client, code: str, nickname: str) -> dict[str, Any]:
    """``POST /class/join`` that must succeed (the client keeps the cookie); the answer's JSON."""
    reply = client.post("/class/join", json={"code": code, "nickname": nickname})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def teacher(base_url: str, key: str) -> httpx.Client:
    """A client logged in with the teacher key."""
    client = httpx.Client(base_url=base_url, timeout=60)
    reply = client.post("/teacher/login", json={"key": key})
    assert reply.status_code == 200, reply.text
    return client
