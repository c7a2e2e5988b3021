"""Drive `codeloop serve` from a headless Chromium, as a person with a browser would.

Chromium is Debian's (`/usr/bin/chromium`, installed by .ci/run), driven by Playwright for Python
with no Playwright-downloaded browser. The machine has no network: the page's one outside
request (a web font stylesheet) is aborted, so nothing waits on DNS.

Reading the screen: textual-serve's page draws the terminal with xterm.js's canvas renderer, so
the DOM holds no text (`.xterm-rows` does not exist) and the accessibility tree is off. The test
reads what xterm.js holds on screen, its active buffer, through its public API. The page keeps
its `Terminal` in a closure; an init script catches it where the page stores it
(`this.terminal = new Terminal(...)`) with a one-shot setter, leaving the served page unchanged.

Waiting is always by polling the screen with a generous deadline; a wait that times out fails
with the last screen in the message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that reaches out: no GPU, QUIC, first-run, component or sync traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
POLL_S = 0.25

_CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && value.buffer.active) window.__xterm = value;
  },
});
"""

_SCREEN = """
() => {
  const term = window.__xterm;
  if (!term) return null;
  const buffer = term.buffer.active;
  const rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true, 0, term.cols) : "");  // a line keeps cells past a shrink
  }
  return rows.join("\\n");
}
"""


def require_chromium() -> Path:
    """Debian's Chromium. Missing is a broken setup (.ci/run installs it), not a skip."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: this test drives `codeloop serve` in a real browser and must "
            "run. Install it (`apt-get install -y chromium`; .ci/run does) and run the tests again.",
            pytrace=False,
        )
    return CHROMIUM


class ServeProcess:
    """`codeloop serve ... --port 0` in its own process; `url` is the one it printed.

    Its output goes to a file (a pipe nobody reads while the test drives the browser could fill
    and stall the server).
    """

    def __init__(self, args: list[str], *, env: Mapping[str, str], cwd: Path, log: Path, start_s: float = 60) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tui", "serve", "--port", "0", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                cwd=cwd,
            )
        deadline = time.monotonic() + start_s
        while "serving the app on http://" not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"`codeloop serve` did not print its URL:\n{self.stop()}")
            time.sleep(POLL_S)
        self.url = self.output().split("serving the app on ", 1)[1].split()[0]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def interrupt(self, timeout_s: float = 60) -> int:
        """Ctrl+C: SIGINT, then wait for the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout_s)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        return self.output()


class BrowserPage:
    """One tab showing the served app; `screen()` is the terminal's text, row by row."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def screen(self) -> str:
        return self.page.evaluate(_SCREEN) or ""

    def size(self) -> tuple[int, int]:
        """The terminal's columns and rows (xterm.js fits them to the window)."""
        cols, rows = self.page.evaluate("() => [window.__xterm.cols, window.__xterm.rows]")
        return int(cols), int(rows)

    def wait_for_size(self, ok: Callable[[int, int], bool], *, timeout_s: float) -> tuple[int, int]:
        deadline = time.monotonic() + timeout_s
        while not ok(*(size := self.size())):
            assert time.monotonic() < deadline, f"the terminal stayed {size}"
            time.sleep(POLL_S)
        return size

    def wait_for(self, what: str, ok: Callable[[str], bool], *, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.screen()
            if ok(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}; screen:\n{screen}")
            time.sleep(POLL_S)

    def focus_terminal(self) -> None:
        # Keys go to xterm.js's hidden textarea; focusing it (not clicking) sends no mouse event.
        self.page.focus(".xterm-helper-textarea")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


@contextmanager
def open_browser(profile_dir: Path, *, width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A headless Chromium with a fresh profile; yields a Playwright BrowserContext."""
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(chromium),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        try:
            context.add_init_script(_CATCH_TERMINAL)

            def only_local(route: Any) -> None:
                if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
                    route.continue_()
                else:
                    route.abort()

            context.route("**/*", only_local)
            yield context
        finally:
            context.close()


def open_app(context: Any, url: str, *, timeout_s: float) -> BrowserPage:
    page = context.new_page()
    page.goto(url)
    tab = BrowserPage(page)
    deadline = time.monotonic() + timeout_s
    while page.evaluate("() => window.__xterm === undefined"):
        assert time.monotonic() < deadline, "the page's xterm.js terminal never appeared"
        time.sleep(POLL_S)
    return tab


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc), e.g. the app processes a server started."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
