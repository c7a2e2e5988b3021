"""A command printing ~1 MB/s in the real binary (tmux): its live tail shows while it runs, and
typing in the composer is not slowed by it (the updates are coalesced, see live_output.py).

Timing: the keystroke latency is measured on this shared machine, idle first, then with the
flood running; the bound is loose (the flood may cost at most a few frames), and each wait polls
the screen with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.engine_support import shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.tmux_driver import TmuxDriver, bottom_box, panel, require_tmux

PLACEHOLDER = "Ask codeloop"
# ~1.2 MB/s for ~10 s: 60 KB of base64 lines every 50 ms, then a last line.
FLOOD = "for i in $(seq 1 200); do head -c 45000 /dev/zero | base64 -w 100 | sed \"s/^/row-$i /\"; sleep 0.05; done; printf 'FLOOD-%s\\n' END"


def _typed_in(tmux: TmuxDriver, text: str, timeout_s: float = 30) -> float:
    """Type `text`; seconds until the composer shows all of it."""
    started = time.monotonic()
    tmux.type_text(text)
    tmux.wait_for(f"{text!r} in the composer", lambda s: text in bottom_box(s).replace("\n", ""), timeout_s=timeout_s)
    return time.monotonic() - started


@pytest.mark.timeout(240)
def test_flooding_command_shows_live_and_typing_stays_fast(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    tmux_exe = require_tmux()
    codeloop = Path(sys.executable).parent / "codeloop"
    home, ws = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", FLOOD])))
    fake_openai.queue_response(fe.turn(fe.message_item("flood over")))
    env = {
        "TERM": "xterm-256color", "CODELOOP_HOME": str(home),
        "OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "test-key",
    }  # fmt: skip
    with TmuxDriver(tmux_exe, width=120, height=40) as tmux:
        tmux.start([str(codeloop), "--dangerously-bypass-approvals-and-sandbox"], env=env, cwd=str(ws))
        tmux.wait_for("the composer", lambda s: PLACEHOLDER in bottom_box(s) or "EXITED rc=" in s, timeout_s=60)
        idle = _typed_in(tmux, "idle typing check")
        tmux.press("C-u")
        tmux.wait_for("an empty composer", lambda s: PLACEHOLDER in bottom_box(s), timeout_s=30)
        _typed_in(tmux, "flood")
        tmux.press("Enter")
        screen = tmux.wait_for(
            "live rows of the running command",
            lambda s: "running…" in (panel(s, "Conversation") or "") and "row-" in (panel(s, "Conversation") or ""),
            timeout_s=60,
        )
        assert "FLOOD-END" not in screen
        busy = _typed_in(tmux, "typed while the flood runs")
        still_running = "running…" in (panel(tmux.screen(), "Conversation") or "")
        print(f"keystrokes to screen: idle {idle:.2f}s, during ~1.2 MB/s output {busy:.2f}s")
        assert still_running, "the flood ended before the typing was measured"
        assert busy < max(2.0, 3 * idle), (idle, busy)
        tmux.wait_for("the end of the flood", lambda s: "flood over" in s, timeout_s=120)
        tmux.press("C-q")
