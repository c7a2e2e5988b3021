"""Drive a terminal program in a detached tmux session, as a person at a keyboard would.

Each `TmuxDriver` runs its own tmux server on a private socket (`tmux -S <fresh temp dir>/sock`),
so it never touches a tmux the developer is using; `close()` ends exactly that server and
removes the directory (tmux leaves its socket file behind when the server exits).

Waiting is always by polling `capture-pane` until a condition holds (short poll interval,
generous deadline); a wait that times out fails with the last screen in the message.

Screens are plain text. Textual draws panels as boxes with the title in the top border
(`╭─ Plan ───╮`); `panel()` cuts one such box out of a screen by terminal cell columns, so
text in a neighbouring pane on the same rows does not count.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from rich.cells import cell_len

POLL_S = 0.2


def require_tmux() -> str:
    """The tmux executable. Missing tmux is a broken setup (.ci/run installs it), not a skip."""
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.fail(
            "tmux is not on PATH: this test drives the real app in tmux and must run. "
            "Install it (`apt-get install -y tmux`; .ci/run does) and run the tests again.",
            pytrace=False,
        )
    return tmux


class TmuxDriver:
    def __init__(self, tmux: str, *, width: int, height: int, prefix: str = "codeloop-test") -> None:
        self.tmux = tmux
        self.width = width
        self.height = height
        self.session = f"{prefix}-{uuid.uuid4().hex[:12]}"
        # A short path: a unix socket's path is limited to ~107 bytes, and TMPDIR may be long.
        short_tmp = "/tmp" if os.path.isdir("/tmp") else None
        self.socket_dir = tempfile.mkdtemp(prefix="tmux-", dir=short_tmp)
        self.socket = os.path.join(self.socket_dir, "sock")
        self.started = False

    # ------------------------------------------------------------------ tmux plumbing

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Not nested in a tmux the tests happen to run inside: this is a server of its own.
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        return subprocess.run(
            [self.tmux, "-S", self.socket, *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
            env=env,
        )

    def start(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str, linger_s: int = 120) -> None:
        """Run `argv` in a new detached session; when it ends, the pane prints `EXITED rc=<code>`.

        `env` is applied with `env(1)` inside the pane, which works the same on every tmux
        version (no reliance on `new-session -e` or on what the server's environment holds).
        The shell then lingers `linger_s` so the exit line can be read; `close()` ends it.
        """
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        program = " ".join(shlex.quote(a) for a in argv)
        script = f"env {assignments} {program}; echo \"EXITED rc=$?\"; sleep {int(linger_s)}"
        # tmux hands the command to the user's default shell; exec sh so `$?` means what it says.
        command = f"exec /bin/sh -c {shlex.quote(script)}"
        self.started = True  # set first: close() must end a server even if this call fails
        self._run(
            "new-session", "-d", "-s", self.session, "-x", str(self.width), "-y", str(self.height),
            "-c", cwd, command,
        )  # fmt: skip

    def close(self) -> None:
        """End this driver's tmux server (and with it the program, if still running)."""
        if self.started:
            for command in (("kill-session", "-t", self.session), ("kill-server",)):  # -S: ours only
                try:
                    self._run(*command, check=False)
                except subprocess.TimeoutExpired:
                    pass
            self.started = False
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def __enter__(self) -> TmuxDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ keyboard

    def type_text(self, text: str) -> None:
        """Type `text` literally (`send-keys -l`: no key-name lookup, so `y` or `Enter` are letters)."""
        self._run("send-keys", "-t", self.session, "-l", text)

    def press(self, *keys: str) -> None:
        """Press named keys, one `send-keys` each: `Enter`, `Escape`, `C-q`, or a single letter."""
        for key in keys:
            self._run("send-keys", "-t", self.session, key)

    def burst(self, *keys: str) -> None:
        """Named keys and text in one `send-keys` (one write to the terminal, as a fast typist's
        or a macro's): `burst("F4", "F4", "hello")`. An argument that names no key is typed as is."""
        self._run("send-keys", "-t", self.session, *keys)

    # ------------------------------------------------------------------ screen

    def screen(self) -> str:
        """The visible screen as text."""
        return self._run("capture-pane", "-p", "-t", self.session).stdout

    def scrollback(self) -> str:
        """Everything the pane has shown since it started, scrollback included, as text."""
        return self._run("capture-pane", "-p", "-S", "-", "-t", self.session).stdout

    def wait_for(
        self,
        what: str,
        condition: Callable[[str], Any],
        *,
        timeout_s: float,
        source: Callable[[], str] | None = None,
        poll_s: float = POLL_S,
    ) -> str:
        """Poll the screen until `condition(screen)` is truthy; return that screen.

        On timeout, fail with `what` and the last screen seen, so a CI log shows where the app was.
        """
        capture = source or self.screen
        deadline = time.monotonic() + timeout_s
        last = ""
        while True:
            last = capture()
            if condition(last):
                return last
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}; last screen:\n{last}")
            time.sleep(poll_s)

    def wait_for_text(self, text: str, *, timeout_s: float) -> str:
        return self.wait_for(repr(text), lambda s: text in s, timeout_s=timeout_s)


# ---------------------------------------------------------------------- reading screens


def cell_slice(line: str, start: int, end: int | None = None) -> str:
    """The characters of `line` that occupy terminal columns [start, end)."""
    out: list[str] = []
    col = 0
    for ch in line:
        if col >= start and (end is None or col < end):
            out.append(ch)
        col += cell_len(ch)
    return "".join(out)


def find_cell(lines: Sequence[str], needle: str) -> tuple[int, int] | None:
    """(row, column) of the first occurrence of `needle`, the column in terminal cells."""
    for row, line in enumerate(lines):
        index = line.find(needle)
        if index >= 0:
            return row, cell_len(line[:index])
    return None


def panel(screen: str, title: str) -> str | None:
    """The inside of the box whose top border reads `╭─ <title> ─…╮`, or None if not on screen."""
    lines = screen.splitlines()
    found = find_cell(lines, f"╭─ {title} ")
    if found is None:
        return None
    top, left = found
    border = cell_slice(lines[top], left)
    right_end = border.find("╮")
    if right_end < 0:
        return None
    right = left + cell_len(border[:right_end])
    inside: list[str] = []
    for line in lines[top + 1 :]:
        if cell_slice(line, left, left + 1) == "╰":
            break
        inside.append(cell_slice(line, left + 1, right).rstrip())
    return "\n".join(inside)


def modal_text(screen: str, title: str, until: str) -> str:
    """The text of a modal dialog from its `title` row to the row holding `until`.

    Cut at the title's column on the left and at the dialog's right border (`█`), so what the
    panes behind the dialog show on the same rows is left out.
    """
    lines = screen.splitlines()
    found = find_cell(lines, title)
    if found is None:
        return ""
    top, left = found
    rows: list[str] = []
    for line in lines[top:]:
        part = cell_slice(line, left).split("█", 1)[0].rstrip()
        rows.append(part)
        if until in line:
            break
    return "\n".join(rows)


def bottom_box(screen: str) -> str:
    """The inside of the lowest box that starts at the left edge (the composer, in codeloop)."""
    lines = screen.splitlines()
    tops = [i for i, line in enumerate(lines) if line.startswith("╭")]
    if not tops:
        return ""
    inside: list[str] = []
    for line in lines[tops[-1] + 1 :]:
        if line.startswith("╰"):
            break
        inside.append(line.strip().strip("│").strip())
    return "\n".join(inside)
