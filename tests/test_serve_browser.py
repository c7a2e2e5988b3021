"""`codeloop serve --demo` in a real headless Chromium, end to end, from the keyboard.

The server runs as its own process on a free port; the page's xterm.js connects over a
websocket and textual-serve starts `codeloop --demo` for the tab. The test does what the tmux
test does in a terminal (tests/test_tmux_app.py): empty the prefilled composer, type the task,
approve two commands and one patch with `y`, read the answer, quit with Ctrl+Q. Then Ctrl+C
stops the server. Screens are read from xterm.js (see tests/browser_driver.py).

CODELOOP_HOME and TMPDIR (where the demo copies its sample project) are in tmp_path. No step
sleeps for a fixed time; every wait polls with a generous deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.browser_driver import (
    BrowserPage,
    ServeProcess,
    alive,
    descendants,
    open_app,
    open_browser,
)
from tests.demo_support import (
    APPROVE_OPTION,
    PATCH_ASK,
    PLACEHOLDER,
    PLAN_STEPS,
    PROMPT,
    RUN_ASK,
)
from tests.tmux_driver import bottom_box, panel

START_S = 60  # the server, the browser, then the app's cold start on a loaded machine
STEP_S = 60
FINISH_S = 90
STOP_S = 60


def _serve(tmp_path: Path) -> ServeProcess:
    home = tmp_path / "codeloop-home"
    scratch = tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    env = {"CODELOOP_HOME": str(home), "TMPDIR": str(scratch)}
    return ServeProcess(["--demo"], env=env, cwd=tmp_path, log=tmp_path / "serve.log", start_s=START_S)


def _composer_ready(screen: str) -> bool:
    box = bottom_box(screen)
    return PLACEHOLDER in box or PROMPT in box


def _clear_composer(tab: BrowserPage) -> None:
    """Ctrl+U until the placeholder shows (harmless on an empty composer, so a press that came
    before the composer had focus is simply repeated)."""
    deadline = time.monotonic() + STEP_S
    while True:
        tab.press("Control+u")
        try:
            tab.wait_for("the emptied composer", lambda s: PLACEHOLDER in bottom_box(s), timeout_s=5)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def _approve(tab: BrowserPage, ask: str, *, must_show: str) -> None:
    screen = tab.wait_for(f"the {ask!r} dialog", lambda s: ask in s and APPROVE_OPTION in s, timeout_s=STEP_S)
    assert must_show in screen, f"{ask!r} dialog does not show {must_show!r}:\n{screen}"
    tab.press("y")


def _turn_finished(screen: str) -> bool:
    plan = panel(screen, "Plan") or ""
    conversation = panel(screen, "Conversation") or ""
    return (
        "Fixed" in conversation
        and all(f"✔ {step}" in plan for step in PLAN_STEPS)
        and "esc to interrupt" not in screen
    )


@pytest.mark.timeout(420)
def test_demo_in_the_browser_fix_the_bug_with_three_approvals_then_quit(tmp_path: Path) -> None:
    server = _serve(tmp_path)
    try:
        with open_browser(tmp_path / "chromium-profile") as browser:
            tab = open_app(browser, server.url, timeout_s=START_S)
            tab.wait_for("the composer", _composer_ready, timeout_s=START_S)
            tab.focus_terminal()

            # The demo prefills the task: clear it and type it, so typed keys are what is sent.
            _clear_composer(tab)
            tab.type(PROMPT)
            tab.wait_for("the typed task", lambda s: PROMPT in bottom_box(s), timeout_s=STEP_S)
            tab.press("Enter")

            _approve(tab, RUN_ASK, must_show="python3 -m unittest")
            _approve(tab, PATCH_ASK, must_show="textstats/core.py")
            _approve(tab, RUN_ASK, must_show="python3 -m unittest")

            screen = tab.wait_for("the final answer and the plan done", _turn_finished, timeout_s=FINISH_S)
            conversation = panel(screen, "Conversation") or ""
            assert "Fixed: word_count miscounted words" in conversation, screen
            assert "return len(text.split())" in conversation, screen
            diff = panel(screen, "Diff preview") or ""
            assert "textstats/core.py" in diff and "len(text.split())" in diff, screen

            # Ctrl+Q ends the tab's app; the page then offers to start a new session.
            tab.press("Control+q")
            tab.page.get_by_text("Session ended.").wait_for(state="visible", timeout=STEP_S * 1000)

        assert server.interrupt(timeout_s=STOP_S) == 0, server.output()
        assert "Traceback" not in server.output(), server.output()
    finally:
        server.stop()

    (workspace,) = (tmp_path / "tmp").glob("codeloop-demo-*")
    assert "return len(text.split())" in (workspace / "textstats" / "core.py").read_text(encoding="utf-8")


def _laid_out_for(cols: int, rows: int) -> Callable[[str], bool]:
    """The app drew a whole screen of this size: the panes' top border spans the width, the
    composer is there and the footer sits on the last row."""

    def ok(screen: str) -> bool:
        lines = screen.splitlines()
        return (
            len(lines) == rows
            and cell_len(lines[0]) == cols
            and lines[0].endswith("╮")
            and _composer_ready(screen)
            and "palette" in lines[-1]
        )

    return ok


@pytest.mark.timeout(300)
def test_resizing_the_window_relays_out_the_app_and_ctrl_c_stops_server_and_app(tmp_path: Path) -> None:
    server = _serve(tmp_path)
    try:
        with open_browser(tmp_path / "chromium-profile", width=1400, height=900) as browser:
            tab = open_app(browser, server.url, timeout_s=START_S)
            tab.wait_for("the composer", _composer_ready, timeout_s=START_S)
            before = tab.size()
            tab.wait_for(f"a {before} screen", _laid_out_for(*before), timeout_s=STEP_S)

            tab.page.set_viewport_size({"width": 900, "height": 600})
            after = tab.wait_for_size(lambda cols, rows: cols < before[0] and rows < before[1], timeout_s=STEP_S)
            tab.wait_for(f"the app laid out again for {after}", _laid_out_for(*after), timeout_s=STEP_S)

            apps = descendants(server.proc.pid)
            assert apps, "the tab's app process is not a child of the server"

            assert server.interrupt(timeout_s=STOP_S) == 0, server.output()
        assert not [pid for pid in apps if alive(pid)], f"app processes outlived the server: {apps}"
        assert "Traceback" not in server.output(), server.output()
    finally:
        server.stop()
