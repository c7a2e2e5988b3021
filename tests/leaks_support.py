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


# Sequences a hostile text carries: each would make a terminal do something if printed raw.
HOSTILE = {
    "osc2-title": "\x1b]2;PWNED-TITLE\x07",
    "osc52-clipboard": "\x1b]52;c;cm0gLXJmIH4K\x07",
    "csi-clear": "\x1b[2J\x1b[H",
    "osc8-link": "\x1b]8;;https://evil.example/\x1b\\docs\x1b]8;;\x1b\\",
    "decrqss": "\x1bP$qm\x1b\\",
    "device-attributes": "\x1b[c\x1b[>c\x05",
    "tmux-passthrough": "\x1bPtmux;\x1b\x1b]2;PWNED-TITLE\x07\x1b\\",
    "c1-osc": "\x9d2;PWNED-TITLE\x9c",
    "c1-csi": "\x9b2J",
    "unterminated-osc": "\x1b]52;c;cm0gLXJmIH4K",
}
TERMINAL_CONTROLS = "\x1b\x07\x05\x90\x9b\x9c\x9d\x9e\x9f"


def raw_controls(text: str) -> list[str]:
    """The characters of `text` a terminal would act on (ESC, BEL, ENQ, 8-bit C1 introducers)."""
    return [c for c in text if c in TERMINAL_CONTROLS]


def tmux_format(driver: Any, fmt: str) -> str:
    """A tmux format (`#{pane_title}`) evaluated for the driver's pane."""
    import subprocess

    done = subprocess.run(
        [driver.tmux, "-S", driver.socket, "display-message", "-p", "-t", driver.session, fmt],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return done.stdout.strip()


def tmux_buffers(driver: Any) -> str:
    """tmux's paste buffers (where an OSC 52 clipboard write lands with set-clipboard on)."""
    import subprocess

    done = subprocess.run([driver.tmux, "-S", driver.socket, "list-buffers"], capture_output=True, text=True, timeout=30)
    return done.stdout


def serve_parts(url: str) -> tuple[str, str, int]:
    """`http://127.0.0.1:PORT/?token=T` → (the bare origin, the token, the port)."""
    address, _, token = url.partition("/?token=")
    return address, token, int(address.rsplit(":", 1)[1])


class umask:
    """`with umask(0o000):` — the process's umask for the block (children inherit it)."""

    def __init__(self, mask: int) -> None:
        self.mask = mask
        self.saved = 0

    def __enter__(self) -> None:
        self.saved = os.umask(self.mask)

    def __exit__(self, *exc: object) -> None:
        os.umask(self.saved)


def loose_modes(root: Path) -> dict[str, str]:
    """Everything under `root` (itself included) that another user could read, list or enter."""
    return {path: oct(mode) for path, mode in modes(root).items() if mode & 0o077}


async def pilot_until(pilot: Any, condition: Callable[[], bool], timeout_s: float = 30) -> None:
    """Let the app run until `condition()` holds (fail after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app never reached the state waited for")
        await pilot.pause(0.02)
