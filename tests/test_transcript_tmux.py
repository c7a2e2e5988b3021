"""The real binary in tmux: Ctrl+T opens the transcript, `/` and a search typed key by key at a
typist's pace, n to the next match, Esc closes; and `codeloop resume` without an API key opens
the picker and the session it picks."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.app_tmux_support import START_S, STEP_S, LiveApp, live_app
from tests.engine_support import shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.tmux_driver import TmuxDriver, require_tmux

ROWS = "".join(("needle in row 10\n" if n == 10 else "needle in row 290\n" if n == 290 else f"plain row {n}\n") for n in range(300))
TYPIST_S = 0.12  # between keys: a quick typist, each key its own write to the terminal


def _type_slowly(tmux: TmuxDriver, text: str) -> None:
    for char in text:
        tmux.type_text(char)
        time.sleep(TYPIST_S)


def test_ctrl_t_search_n_and_esc_in_the_real_binary(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["cat", "rows.txt"])))
    fake_openai.queue_response(fe.turn(fe.message_item("Three hundred rows.")))
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "rows.txt").write_text(ROWS)
    for app in live_app(tmp_path, fake_openai, "--yolo"):
        tmux = app.tmux
        tmux.type_text("show rows\r")
        tmux.wait_for_text("Three hundred rows.", timeout_s=STEP_S)
        tmux.press("C-t")
        tmux.wait_for_text("Transcript · session", timeout_s=STEP_S)
        tmux.press("/")
        tmux.wait_for("the search input", lambda s: "search the transcript" in s, timeout_s=STEP_S)
        _type_slowly(tmux, "needle")
        tmux.press("Enter")
        screen = tmux.wait_for("the first match", lambda s: "match 1/2 for 'needle'" in s, timeout_s=STEP_S)
        assert "needle in row 10" in screen, "the view went to the match"
        tmux.press("n")
        screen = tmux.wait_for("the second match", lambda s: "match 2/2 for 'needle'" in s, timeout_s=STEP_S)
        assert "needle in row 290" in screen
        tmux.press("N")
        tmux.wait_for("back to the first", lambda s: "match 1/2 for 'needle'" in s, timeout_s=STEP_S)
        tmux.press("Escape")
        tmux.wait_for("the conversation again", lambda s: "Transcript · session" not in s and "Ask codeloop" in s, timeout_s=STEP_S)
        # The keys are the composer's again: n is typed, not a pager key.
        _type_slowly(tmux, "next")
        tmux.wait_for("the typed word in the composer", lambda s: "next" in app.composer(), timeout_s=STEP_S)


def test_codeloop_resume_without_a_key_opens_the_picker_and_the_session(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    # A recorded session first, made with a key.
    fake_openai.queue_response(fe.turn(fe.message_item("Recorded answer.")))
    for app in live_app(tmp_path, fake_openai, "--yolo"):
        app.tmux.type_text("remember this\r")
        app.tmux.wait_for_text("Recorded answer.", timeout_s=STEP_S)
        app.tmux.press("C-q")
        app.tmux.wait_for("the app to end", lambda s: "EXITED rc=" in s, timeout_s=STEP_S)
    requests = len(fake_openai.requests)
    home = tmp_path / "codeloop-home"
    tmux = TmuxDriver(require_tmux(), width=120, height=36)
    try:
        env = {"TERM": "xterm-256color", "CODELOOP_HOME": str(home), "OPENAI_BASE_URL": fake_openai.base_url, "HOME": str(tmp_path)}
        from tests.app_tmux_support import codeloop_exe

        tmux.start([str(codeloop_exe()), "resume"], env=env, cwd=str(tmp_path / "workspace"))
        screen = tmux.wait_for("the picker", lambda s: "Resume which session?" in s or "EXITED rc=" in s, timeout_s=START_S)
        assert "remember this" in screen, screen
        tmux.press("Enter")
        screen = tmux.wait_for("the resumed session", lambda s: "Resumed session" in s, timeout_s=STEP_S)
        assert "Recorded answer." in screen and "sending needs the key" in screen
        tmux.type_text("go on\r")
        tmux.wait_for("the no-key message", lambda s: "OPENAI_API_KEY is not set" in s.split("go on")[-1], timeout_s=STEP_S)
        assert len(fake_openai.requests) == requests, "nothing was sent without a key"
    finally:
        tmux.close()
    rollout = next((home / "sessions").rglob("*.jsonl"))
    kinds = [json.loads(line)["type"] for line in rollout.read_text().splitlines()]
    assert kinds.count("session_meta") == 1 and len(list((home / "sessions").rglob("*.jsonl"))) == 1, "no new session was made"
