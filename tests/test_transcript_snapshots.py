"""Snapshots of the transcript pager (Ctrl+T, with a search) and of a resumed session (its
commands, patch, plan, notices and token budget shown again from the rollout)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.app_support import calm, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.screens.transcript import TranscriptScreen
from tui.config import TuiSettings, load_config, resolve_provider
from tui.engine.bootstrap import resume_session

WORKSPACE = Path("/tmp/codeloop-snapshots/workspace")
SIZE = (120, 36)
SESSION_ID = "5e55a0b1-0000-4000-8000-00000000c0de"
DIFF = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"
PLAN = {"type": "plan_updated", "plan": [{"step": "Read calc.py", "status": "completed"}, {"step": "Fix add", "status": "completed"}, {"step": "Run the tests", "status": "in_progress"}], "explanation": None}


def _log() -> list[ev.Event]:
    return [
        ev.UserMessageRecorded("The tests fail. Fix the bug."),
        ev.ReasoningSummary("**Reading the failure**\n\nThe test adds two numbers."),
        ev.ExecCommandBegan("c1", ["python3", "-m", "unittest"], str(WORKSPACE), True),
        ev.ExecCommandEnded("c1", 1, 0.4, "F.\nFAIL: test_add\nAssertionError: -1 != 3\n"),
        ev.ToolCallEnded("c1", "shell", "Exit code: 1\nWall time: 0.4 seconds\nOutput:\nF.\nFAIL: test_add (tests.test_calc)\nTraceback (most recent call last):\n  File \"tests/test_calc.py\", line 6\nAssertionError: -1 != 3\n", False),
        ev.PatchApplyBegan("p1", [ev.FileChangeSummary("calc.py", "update", 1, 1, DIFF)]),
        ev.PlanUpdated([ev.PlanStep("Read calc.py", "completed"), ev.PlanStep("Fix add", "in_progress")]),
        ev.CompactionDone(250_000, 18_000, "remote", "auto"),
        ev.WarningIssued("The sandbox (workspace-write) may have stopped this command."),
        ev.AgentMessage("Fixed: `add` subtracted. The tests pass now."),
    ]


def test_transcript_with_a_search(snap_compare: Any, fake_openai: FakeOpenAI) -> None:
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    session = make_session(fake_openai, WORKSPACE, context_window=272_000, session_id=SESSION_ID)
    session.log.extend(_log())
    app = CodeloopApp(session, branch="main", tui=TuiSettings())

    async def run_before(pilot: Any) -> None:
        calm(app)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        await pilot.press("slash", *"add", "enter")
        await until(pilot, lambda: len(app.screen.query_one("TranscriptView").matches) > 0)  # type: ignore[attr-defined]
        await pilot.press("n")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def _rollout(home: Path) -> Path:
    path = home / f"sessions/2026/01/02/rollout-2026-01-02T10-00-00-{SESSION_ID}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "The tests fail. Fix the bug."}]}
    call = {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": json.dumps({"command": ["python3", "-m", "unittest"]})}
    out = {"type": "function_call_output", "call_id": "c1", "output": "Exit code: 1\nOutput:\nFAIL: test_add\n"}
    answer = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Fixed: `add` subtracted."}]}
    lines: list[tuple[str, Any]] = [
        ("session_meta", {"id": SESSION_ID, "cwd": str(WORKSPACE), "model": "gpt-5.4", "instructions": "BASE"}),
        ("session_settings", {"model": "gpt-5.4-mini", "reasoning_effort": None, "approval_policy": "on-request", "sandbox_mode": "danger-full-access", "cwd": str(WORKSPACE)}),
        ("response_item", user),
        ("response_item", call),
        ("event_msg", {"type": "exec_command_began", "call_id": "c1", "command": ["python3", "-m", "unittest"], "cwd": str(WORKSPACE), "sandboxed": False}),
        ("event_msg", {"type": "exec_command_ended", "call_id": "c1", "exit_code": 1, "duration_s": 0.4, "output": "F.\nFAIL: test_add\nAssertionError: -1 != 3\n"}),
        ("response_item", out),
        ("event_msg", {"type": "patch_apply_began", "call_id": "p1", "changes": [{"path": "calc.py", "kind": "update", "added": 1, "removed": 1, "diff": DIFF, "move_to": None}]}),
        ("event_msg", PLAN),
        ("event_msg", {"type": "token_usage", "input_tokens": 41_000, "cached_input_tokens": 30_000, "output_tokens": 900,
                       "reasoning_tokens": 200, "total_tokens": 41_900, "session_total_tokens": 41_900, "model_context_window": 272_000}),
        ("event_msg", {"type": "warning", "message": "Remote compaction failed (HTTP 500); summarising locally instead."}),
        ("response_item", answer),
    ]
    path.write_text("".join(json.dumps({"timestamp": "2026-01-02T10:00:00.000+00:00", "type": k, "payload": p}) + "\n" for k, p in lines))
    return path


def test_a_resumed_session_shows_what_it_showed(snap_compare: Any, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    home = tmp_path / "home"
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake_openai.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(WORKSPACE)), env=env)
    session = resume_session(rc, resolve_provider(rc, env), _rollout(home), interactive=True)
    app = CodeloopApp(session, branch="main", tui=TuiSettings(), resumed=True, auto_compact_limit=244_800)

    async def run_before(pilot: Any) -> None:
        calm(app)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(150, 42), run_before=run_before)
