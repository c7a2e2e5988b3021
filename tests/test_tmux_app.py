"""The real `codeloop --demo` binary in a real terminal (tmux), driven from the keyboard.

Everything a person would do: wait for the composer, empty it (the demo prefills the task) and
type the task, approve two commands and one patch, read the answer, the plan and the diff, quit
with Ctrl+Q. The app runs in its own process on a 160x48 xterm-256color pane, with CODELOOP_HOME
and TMPDIR (where the demo copies its sample project) inside the test's tmp_path.

Timing: every wait polls the screen with a generous deadline (a slow, shared 2-core machine
must pass), and no step sleeps for a fixed time.

tmux is a test dependency (.ci/run installs it): without it this test fails, it does not skip.
"""

from __future__ import annotations

import json
import re

import sys
import time
from pathlib import Path

import pytest

from tests.demo_support import (
    APPROVE_OPTION,
    PATCH_ASK,
    PLACEHOLDER,
    PLAN_STEPS,
    PROMPT,
    RUN_ASK,
)
from tests.tmux_driver import TmuxDriver, bottom_box, modal_text, panel, require_tmux

START_S = 60  # cold start: Python, Textual and the demo server, on a loaded machine
STEP_S = 60  # one model step: streamed text, a sandboxed command or a patch
FINISH_S = 90  # the retest, the final plan update and the streamed answer
EXIT_S = 30


def _codeloop() -> Path:
    exe = Path(sys.executable).parent / "codeloop"
    assert exe.exists(), f"the console script {exe} is missing; install the project (`pip install -e .`)"
    return exe


def _clear_composer(tmux: TmuxDriver) -> None:
    """Empty the composer (the demo prefills the task) with Ctrl+U until the placeholder shows.

    Ctrl+U deletes to the start of the line, so pressing it again on an empty composer is
    harmless: it is repeated in case the first press came before the composer had focus.
    """
    deadline = time.monotonic() + STEP_S
    while PLACEHOLDER not in bottom_box(tmux.screen()):
        assert time.monotonic() < deadline, f"the composer did not empty on Ctrl+U:\n{tmux.screen()}"
        tmux.press("C-u")
        try:
            tmux.wait_for(f"the placeholder {PLACEHOLDER!r}", lambda s: PLACEHOLDER in bottom_box(s), timeout_s=5)
        except AssertionError:
            continue


def _plan_done(screen: str) -> bool:
    plan = panel(screen, "Plan")
    if plan is None:
        return False
    return all(f"✔ {step}" in plan for step in PLAN_STEPS) and "▶" not in plan and "○" not in plan


def _turn_finished(screen: str) -> bool:
    conversation = panel(screen, "Conversation") or ""
    return "Fixed" in conversation and _plan_done(screen) and "esc to interrupt" not in screen


def _approve(tmux: TmuxDriver, ask: str, *, must_show: str) -> str:
    """Wait for the approval dialog titled `ask`, check it names `must_show`, press `y`."""
    screen = tmux.wait_for(
        f"the {ask!r} dialog", lambda s: ask in s and APPROVE_OPTION in s, timeout_s=STEP_S
    )
    dialog = modal_text(screen, ask, APPROVE_OPTION)
    assert must_show in dialog, f"{ask!r} dialog does not show {must_show!r}:\n{dialog}\n\nscreen:\n{screen}"
    tmux.press("y")
    return screen


@pytest.mark.timeout(360)
def test_demo_in_tmux_fix_the_bug_with_three_approvals_then_quit(tmp_path: Path) -> None:
    tmux_exe = require_tmux()
    codeloop = _codeloop()
    home = tmp_path / "codeloop-home"
    scratch = tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    env = {"TERM": "xterm-256color", "CODELOOP_HOME": str(home), "TMPDIR": str(scratch)}

    tmux = TmuxDriver(tmux_exe, width=160, height=48)
    try:
        tmux.start([str(codeloop), "--demo"], env=env, cwd=str(tmp_path))
        screen = tmux.wait_for(
            "the composer (its placeholder, or the task the demo prefills)",
            lambda s: PLACEHOLDER in bottom_box(s) or PROMPT in bottom_box(s) or "EXITED rc=" in s,
            timeout_s=START_S,
        )
        assert "EXITED rc=" not in screen, f"codeloop --demo did not start:\n{tmux.scrollback()}"
        _clear_composer(tmux)

        tmux.type_text(PROMPT)
        tmux.wait_for("the typed task in the composer", lambda s: PROMPT in bottom_box(s), timeout_s=STEP_S)
        tmux.press("Enter")

        # 1. the first test run, 2. the patch, 3. the test run after the fix.
        _approve(tmux, RUN_ASK, must_show="python3 -m unittest")
        _approve(tmux, PATCH_ASK, must_show="textstats/core.py")
        _approve(tmux, RUN_ASK, must_show="python3 -m unittest")

        screen = tmux.wait_for(
            "the final answer ('Fixed'), every plan step ✔ and the turn over",
            _turn_finished,
            timeout_s=FINISH_S,
        )
        diff = panel(screen, "Diff preview")
        assert diff is not None and "textstats/core.py" in diff and "len(text.split())" in diff, (
            f"diff pane:\n{diff}\n\nscreen:\n{screen}"
        )

        tmux.press("C-q")
        tmux.wait_for_text("EXITED rc=", timeout_s=EXIT_S)
        history = tmux.scrollback()
        assert "EXITED rc=0" in history, history
        assert "Traceback" not in history, history
    finally:
        tmux.close()

    # The patch was real: the demo's copy of the sample project now holds the fix, and it is
    # kept (it changed), its path said on exit with the session and how to resume it.
    (workspace,) = scratch.glob("codeloop-demo-*")
    assert "return len(text.split())" in (workspace / "textstats" / "core.py").read_text(encoding="utf-8")
    unwrapped = history.replace("\n", "")
    assert f"is kept at {workspace}" in unwrapped, history
    (rollout,) = home.glob("sessions/**/rollout-*.jsonl")
    session_id = json.loads(rollout.read_text(encoding="utf-8").splitlines()[0])["payload"]["id"]
    assert f"Resume it: codeloop resume {session_id}" in unwrapped, history
    assert re.search(rf"Session {session_id}: [\d,]+ tokens in \([\d,]+ cached\), [\d,]+ out\.", unwrapped), history


@pytest.mark.timeout(180)
def test_demo_quit_at_once_removes_its_workspace_and_prints_no_session(tmp_path: Path) -> None:
    """Nothing changed, nothing sent: the throwaway copy goes, and there is no session to resume."""
    home, scratch = tmp_path / "codeloop-home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    env = {"TERM": "xterm-256color", "CODELOOP_HOME": str(home), "TMPDIR": str(scratch)}
    with TmuxDriver(require_tmux(), width=120, height=36) as tmux:
        tmux.start([str(_codeloop()), "--demo"], env=env, cwd=str(tmp_path))
        tmux.wait_for("the demo's prefilled task", lambda s: PROMPT in bottom_box(s) or "EXITED rc=" in s, timeout_s=START_S)
        assert len(list(scratch.glob("codeloop-demo-*"))) == 1
        tmux.press("C-q")
        tmux.wait_for_text("EXITED rc=", timeout_s=EXIT_S)
        history = tmux.scrollback()
    assert "EXITED rc=0" in history and "Traceback" not in history, history
    assert list(scratch.glob("codeloop-demo-*")) == [], "the unchanged demo workspace was left behind"
    assert "Resume it" not in history and "is kept at" not in history, history
