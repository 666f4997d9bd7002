"""Process groups on Linux: who is still alive in one, and signalling all of it.

Engines and ilab each run in a process group of their own so that stopping them stops everything they started;
both stop paths use these helpers.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of ``pid`` from /proc, or None if it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of group ``pgid`` (Linux, from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[1] == pgid and stat[0] != "Z":
                members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies do not count)."""
    # A zombie still counts for killpg(pgid, 0), and an init process that never reaps (as in some containers)
    # would keep zombies forever: on Linux, look for live members instead.
    if Path("/proc/self/stat").exists():
        return bool(group_members(pgid))
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to every process of group ``pgid``; a group that is already gone is fine."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)
