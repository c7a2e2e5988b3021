"""The app ends with its terminal: when the terminal goes away (tmux kills the pane or the
session, or the app gets SIGHUP) at any moment — starting, streaming an answer, running a
command, with an approval open — codeloop and every process it started are gone within 2 s.
Checked in /proc, against the real binary in tmux (20 cases: 5 moments x 4 ways, one of them
with SIGHUP ignored, so that only the end of the terminal's input tells)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.app_tmux_support import LiveApp, descendants, poll, wait_gone
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.fakeserver.server import Paced

pytestmark = pytest.mark.timeout(120)
GONE_S = 2.0


def _long_answer(body: object) -> Paced:
    return Paced(fe.turn(fe.message_item("streaming " * 2000)), delay=0.02)


def _sleep_call(body: object) -> list[dict[str, object]]:
    return fe.turn(fe.function_call_item("c1", "shell", json.dumps({"command": ["sleep", "300"]})))


@pytest.mark.parametrize("how", ["kill-pane", "kill-session", "sighup", "kill-pane-hup-ignored"])
@pytest.mark.parametrize("moment", ["starting", "streaming", "command", "unsandboxed-command", "approval"])
def test_app_and_its_commands_end_when_the_terminal_goes_away(
    tmp_path: Path, fake_openai: FakeOpenAI, moment: str, how: str
) -> None:
    policy = "untrusted" if moment == "approval" else "never"
    sandbox = "danger-full-access" if moment == "unsandboxed-command" else "workspace-write"
    fake_openai.queue_handler(_long_answer if moment == "streaming" else _sleep_call)
    app = LiveApp.start(tmp_path, fake_openai, "-a", policy, "-s", sandbox, ignore_hangup=how.endswith("hup-ignored"))
    try:
        pid = app.pid()
        if moment != "starting":
            app.tmux.type_text("go\r")
            if moment == "streaming":
                app.tmux.wait_for_text("streaming streaming", timeout_s=30)
            elif moment.endswith("command"):
                poll("the sleep command running", lambda: any(_cmdline(p).startswith("sleep") for p in descendants(pid)))
            else:
                app.tmux.wait_for_text("Run this command?", timeout_s=30)
        tree = [pid, *descendants(pid)]
        if how == "sighup":
            os.kill(pid, signal.SIGHUP)
        else:
            app.tmux._run(how.removesuffix("-hup-ignored"), "-t", app.tmux.session)
        took = wait_gone(tree, timeout_s=GONE_S)
        assert took <= GONE_S
    finally:
        app.close()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            parts = f.read().split(b"\0")
    except FileNotFoundError:
        return ""
    return " ".join(os.path.basename(p.decode()) if i == 0 else p.decode() for i, p in enumerate(parts) if p)
