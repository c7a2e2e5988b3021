"""Helpers for the private-data attack suite (tests/test_attacks_leaks.py)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.exec_support import Outcome, attack

# Looks like nothing in particular: only knowing the value can catch it.
CREDENTIAL = "Qm7vRk2pXw9LtZ4nHc8sBd3F"
FULL_AUTO = ("--sandbox", "workspace-write", "--ask-for-approval", "never")


def workspace(tmp_path: Path, files: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A workspace with `files`, and an empty CODELOOP_HOME beside it."""
    ws, home = tmp_path / "ws", tmp_path / "codeloop-home"
    ws.mkdir()
    home.mkdir()
    for name, text in (files or {}).items():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(text)
    return ws, home


def all_cmdlines() -> list[bytes]:
    """Every process's command line on the machine, as any user can read it."""
    found: list[bytes] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found.append(Path(f"/proc/{entry}/cmdline").read_bytes())
            except OSError:
                pass  # gone meanwhile
    return found


def attack_while(
    until: Callable[[], bool], during: Callable[[], Any], *args: Any, timeout_s: float = 60, **kwargs: Any
) -> tuple[Outcome, Any]:
    """`attack(*args, **kwargs)` in a thread; once `until()` holds, `during()` runs and its result is
    returned with the outcome (None if `until` never held)."""
    result: dict[str, Outcome] = {}
    thread = threading.Thread(target=lambda: result.setdefault("outcome", attack(*args, **kwargs)))
    thread.start()
    seen = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and thread.is_alive():
        if until():
            seen = during()
            break
        time.sleep(0.02)
    thread.join(timeout_s)
    return result["outcome"], seen


def modes(root: Path) -> dict[str, int]:
    """Permission bits of `root` and everything under it, by path relative to `root`."""
    found = {".": root.stat().st_mode & 0o777}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = path.stat().st_mode & 0o777
    return found
