"""Resume shows the session as it was: commands with their output, patches, plan, notices,
compaction markers and the token budget, under the settings the session recorded."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import of_type, run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.transcript_text import transcript_items
from tui.config import ProviderSettings, ResolvedConfig, load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session
from tui.engine.keyless import MissingKeyClient, configure_keyless
from tui.engine.replay import SETTINGS_RECORD, event_from_json, replay_rollout
from tui.engine.rollout import read_rollout
from tui.engine.session import Session

PATCH = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch\n"
PLAN = json.dumps({"plan": [{"step": "read calc.py", "status": "completed"}, {"step": "fix add", "status": "in_progress"}]})
LONG = "".join(f"line {n:05d} of a long output\n" for n in range(600))  # ~17 KB, past the 4,000-char tail


def _configure(fake: FakeOpenAI, cwd: Path, home: Path, **flags: Any) -> tuple[ResolvedConfig, ProviderSettings]:
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(cwd), **flags), env=env)
    return rc, resolve_provider(rc, env)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (ws / "long.txt").write_text(LONG)
    return ws


async def _recorded_session(fake: FakeOpenAI, ws: Path, home: Path, **flags: Any) -> Session:
    fake.queue_response(fe.turn(fe.reasoning_item("Look first"), shell_call("c1", ["cat", "long.txt"])))
    fake.queue_response(fe.turn(fe.function_call_item("p1", "update_plan", PLAN)))
    fake.queue_response(fe.turn(fe.custom_tool_call_item("c2", "apply_patch", PATCH)))
    fake.queue_response(fe.turn(fe.message_item("Added notes.txt.")))
    rc, provider = _configure(fake, ws, home, **({"yolo": True} | flags))
    sess = build_session(rc, provider, interactive=False)
    await run_turn(sess, "add a notes file")
    await sess.submit(ev.Shutdown())
    return sess


async def test_resume_replays_commands_patches_plan_and_usage(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    live = await _recorded_session(fake_openai, ws, home)
    assert live.rollout is not None
    rc, provider = _configure(fake_openai, ws, home, yolo=True)
    sess = resume_session(rc, provider, live.rollout.path, interactive=True)
    replayed = sess.log[: sess.replayed]
    assert [e.text for e in of_type(replayed, ev.UserMessageRecorded)] == ["add a notes file"]
    assert [e.command for e in of_type(replayed, ev.ExecCommandBegan)] == [["cat", "long.txt"]]
    ended = of_type(replayed, ev.ExecCommandEnded)
    assert len(ended) == 1 and ended[0].exit_code == 0
    outputs = {e.call_id: e.output for e in of_type(replayed, ev.ToolCallEnded)}
    assert "line 00000 of a long output" in outputs["c1"] and "line 00599" in outputs["c1"]
    assert [c.path for e in of_type(replayed, ev.PatchApplyBegan) for c in e.changes] == ["notes.txt"]
    plan = of_type(replayed, ev.PlanUpdated)[-1]
    assert [(s.step, s.status) for s in plan.plan] == [("read calc.py", "completed"), ("fix add", "in_progress")]
    assert len(of_type(replayed, ev.TokenUsage)) == 4
    assert sess.total_usage == live.total_usage and sess.total_usage.total_tokens > 0
    assert [e.text for e in of_type(replayed, ev.AgentMessage)] == ["Added notes.txt."]
    # The replay is what the live session logged, event for event (minus what was not kept).
    assert [type(e) for e in replayed] == [type(e) for e in live.log if not isinstance(e, ev.WarningIssued)]
    # The transcript holds the whole output, not the 4,000-character tail the cell keeps.
    command = next(i for i in transcript_items(sess.log) if i.kind == "command")
    assert command.heading.startswith("$ cat long.txt") and "[exit 0" in command.heading
    assert command.body[0] == "Exit code: 0", "what the model read, status lines included"
    assert {"line 00000 of a long output", "line 00300 of a long output", "line 00599 of a long output"} <= set(command.body)
    await sess.submit(ev.Shutdown())


async def test_settings_are_recorded_at_start_and_on_every_change(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    rc, provider = _configure(fake_openai, ws, home, yolo=True, model="gpt-5.4", config=["model_reasoning_effort=\"high\""])
    sess = build_session(rc, provider, interactive=True)
    await sess.submit(ev.OverrideSettings(model="gpt-5.4-mini"))
    await sess.submit(ev.OverrideSettings(approval_policy="on-request"))
    await sess.submit(ev.Shutdown())
    assert sess.rollout is not None
    lines = read_rollout(sess.rollout.path)
    assert lines[0]["type"] == "session_meta", "the meta line stays first"
    records = [line["payload"] for line in lines if line["type"] == SETTINGS_RECORD]
    assert [(r["model"], r["reasoning_effort"], r["approval_policy"], r["sandbox_mode"]) for r in records] == [
        ("gpt-5.4", "high", "never", "danger-full-access"),
        ("gpt-5.4-mini", "high", "never", "danger-full-access"),
        ("gpt-5.4-mini", "high", "on-request", "danger-full-access"),
    ]

    # Resumed with no flag: the recorded settings come back, over config.toml's defaults, and it says so.
    rc, provider = _configure(fake_openai, ws, home)
    resumed = resume_session(rc, provider, sess.rollout.path, interactive=True)
    s = resumed.settings
    assert (s.model, s.approval_policy, s.sandbox.mode) == ("gpt-5.4-mini", "on-request", "danger-full-access")
    assert resumed.options.reasoning is not None and resumed.options.reasoning.get("effort") == "high"
    notes = [e.message for e in resumed.log[resumed.replayed :] if isinstance(e, ev.WarningIssued)]
    assert any("recorded: model gpt-5.4-mini" in n or "recorded: " in n and "gpt-5.4-mini" in n for n in notes), notes
    await resumed.submit(ev.Shutdown())

    # Flags on the command line win over the record, and the user is told which.
    rc, provider = _configure(fake_openai, ws, home, model="gpt-5.2", approval_policy="untrusted")
    flagged = resume_session(rc, provider, sess.rollout.path, interactive=True)
    s = flagged.settings
    assert (s.model, s.approval_policy, s.sandbox.mode) == ("gpt-5.2", "untrusted", "danger-full-access")
    notes = [e.message for e in flagged.log[flagged.replayed :] if isinstance(e, ev.WarningIssued)]
    assert any("command line overrides" in n and "model gpt-5.2 (recorded: gpt-5.4-mini)" in n for n in notes), notes
    await flagged.submit(ev.Shutdown())


async def test_a_resumed_session_sends_with_the_recorded_model(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    live = await _recorded_session(fake_openai, ws, home, model="gpt-5.4-mini")
    assert live.rollout is not None
    fake_openai.queue_response(fe.turn(fe.message_item("still here")))
    rc, provider = _configure(fake_openai, ws, home)  # config.toml's default model is another
    sess = resume_session(rc, provider, live.rollout.path, interactive=False)
    await run_turn(sess, "go on")
    await sess.submit(ev.Shutdown())
    assert fake_openai.responses_bodies()[-1]["model"] == "gpt-5.4-mini"


def _old_rollout(path: Path) -> None:
    """A rollout as codeloop wrote it before this change: no settings, no command starts."""
    sid = "0ld5e551-0000-4000-8000-000000000001"
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]}
    call = {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": json.dumps({"command": ["ls", "-la"], "workdir": "/w"})}
    out = {"type": "function_call_output", "call_id": "c1", "output": "Exit code: 0\nOutput:\ncalc.py"}
    answer = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "One file."}]}
    lines: list[tuple[str, Any]] = [
        ("session_meta", {"id": sid, "cwd": str(path.parent), "model": "gpt-5.4-mini", "instructions": "BASE"}),
        ("turn_context", {"model": "gpt-5.4-mini", "approval_policy": "on-request", "sandbox_mode": "danger-full-access", "cwd": str(path.parent)}),
        ("response_item", user),
        ("response_item", call),
        ("event_msg", {"type": "exec_command_ended", "call_id": "c1", "exit_code": 0, "duration_s": 0.1, "output": "calc.py"}),
        ("response_item", out),
        ("response_item", answer),
        ("event_msg", {"type": "plan_updated", "plan": [{"step": "look", "status": "completed"}], "explanation": None}),
        ("event_msg", {"type": "token_usage", "input_tokens": 900, "cached_input_tokens": 0, "output_tokens": 20,
                       "reasoning_tokens": 0, "total_tokens": 920, "session_total_tokens": 920, "model_context_window": 272000}),
        ("compacted", {"replacement_history": [user, answer], "before_tokens": 920, "after_tokens": 100, "method": "local", "reason": "manual"}),
        ("event_msg", {"type": "warning", "message": "an old warning"}),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"timestamp": "2026-01-01T00:00:00.000+00:00", "type": k, "payload": p}) + "\n" for k, p in lines))


async def test_an_old_rollout_still_resumes_and_shows_what_it_has(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = home / "sessions/2026/01/01/rollout-2026-01-01T00-00-00-0ld5e551-0000-4000-8000-000000000001.jsonl"
    _old_rollout(path)
    rc, provider = _configure(fake_openai, ws, home)
    sess = resume_session(rc, provider, path, interactive=True)
    s = sess.settings
    assert (s.model, s.approval_policy, s.sandbox.mode) == ("gpt-5.4-mini", "on-request", "danger-full-access")
    replayed = sess.log[: sess.replayed]
    began = of_type(replayed, ev.ExecCommandBegan)
    assert [(b.command, b.cwd) for b in began] == [(["ls", "-la"], "/w")], "rebuilt from the call item"
    assert of_type(replayed, ev.CompactionDone)[0].before_tokens == 920
    assert [w.message for w in of_type(replayed, ev.WarningIssued)] == ["an old warning"]
    assert sess.total_usage.total_tokens == 920
    kinds = [i.kind for i in transcript_items(sess.log)]
    assert kinds[:6] == ["user", "command", "assistant", "plan", "marker", "warning"]
    fake_openai.queue_response(fe.turn(fe.message_item("continued")))
    await run_turn(sess, "and now?")
    await sess.submit(ev.Shutdown())
    body = fake_openai.responses_bodies()[-1]
    assert body["model"] == "gpt-5.4-mini" and body["prompt_cache_key"] == "0ld5e551-0000-4000-8000-000000000001"


def test_forged_event_lines_are_skipped_not_half_built() -> None:
    bad = [
        {"type": "exec_command_ended", "call_id": "c", "exit_code": "0", "duration_s": 1.0, "output": ""},
        {"type": "exec_command_ended", "call_id": "c", "exit_code": True, "duration_s": 1.0, "output": ""},
        {"type": "plan_updated", "plan": "not a list"},
        {"type": "plan_updated", "plan": [{"step": "x", "status": "exploded"}]},
        {"type": "approval_decided", "call_id": "c", "decision": "maybe", "by": "user"},
        {"type": "token_usage", "input_tokens": 1},
        {"type": "no_such_event"},
        {"type": "warning", "message": ["a", "list"]},
    ]
    assert [event_from_json(b) for b in bad] == [None] * len(bad)
    good = event_from_json({"type": "exec_command_ended", "call_id": "c", "exit_code": 2, "duration_s": 1, "output": "x"})
    assert good == ev.ExecCommandEnded("c", 2, 1.0, "x")


def test_control_sequences_in_a_rollout_never_reach_the_transcript(tmp_path: Path) -> None:
    path = tmp_path / "rollout.jsonl"
    evil = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"
    lines = [
        ("session_meta", {"id": "s"}),
        ("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"hi {evil}"}]}),
        ("event_msg", {"type": "exec_command_began", "call_id": "c", "command": ["echo", evil], "cwd": evil, "sandboxed": True}),
        ("event_msg", {"type": "exec_command_ended", "call_id": "c", "exit_code": 0, "duration_s": 0.5, "output": evil}),
        ("event_msg", {"type": "warning", "message": evil}),
        ("event_msg", {"type": "plan_updated", "plan": [{"step": evil, "status": "pending"}], "explanation": evil}),
    ]
    path.write_text("".join(json.dumps({"type": k, "payload": p}) + "\n" for k, p in lines))
    items = transcript_items(replay_rollout(path).events)
    assert len(items) == 4
    text = "\n".join(i.text() for i in items)
    assert "\x1b" not in text and "\x07" not in text


async def test_without_a_key_a_session_opens_and_a_request_says_what_is_missing(
    fake_openai: FakeOpenAI, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    live = await _recorded_session(fake_openai, ws, home)
    assert live.rollout is not None
    sent = len(fake_openai.requests)
    for name, value in {"CODELOOP_HOME": str(home), "OPENAI_BASE_URL": fake_openai.base_url, "HOME": str(home)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    configured = configure_keyless(argparse.Namespace(cd=str(ws), last=True))
    assert configured is not None
    rc, provider, problem = configured
    assert problem is not None and "OPENAI_API_KEY is not set" in problem
    sess = resume_session(rc, provider, live.rollout.path, interactive=False, client=MissingKeyClient(problem, provider.base_url))
    assert of_type(sess.log[: sess.replayed], ev.ExecCommandBegan), "the session is there to read"
    events = await run_turn(sess, "go on")
    await sess.submit(ev.Shutdown())
    failed = of_type(events, ev.TurnFailed)
    assert failed and "OPENAI_API_KEY is not set" in failed[0].message
    assert len(fake_openai.requests) == sent, "nothing was sent"


def test_codeloop_resume_lists_nothing_to_pick_without_a_key(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
    env["CODELOOP_HOME"] = str(tmp_path / "home")
    proc = subprocess.run([sys.executable, "-m", "tui", "resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "there is no recorded session" in proc.stderr
    assert "OPENAI_API_KEY" not in proc.stderr, "listing needs no key"


def test_a_command_the_session_was_killed_in_shows_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "rollout.jsonl"
    lines = [
        ("session_meta", {"id": "s"}),
        ("event_msg", {"type": "exec_command_began", "call_id": "c", "command": ["sleep", "100"], "cwd": "/w", "sandboxed": True}),
    ]
    path.write_text("".join(json.dumps({"type": k, "payload": p}) + "\n" for k, p in lines) + '{"type": "event_msg", "payl')
    events = replay_rollout(path).events
    assert isinstance(events[-1], ev.ExecCommandEnded) and events[-1].interrupted and events[-1].call_id == "c"


async def test_the_app_shows_a_resumed_session_with_its_commands_plan_and_budget(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    from tui.app.app import CodeloopApp
    from tui.app.widgets.conversation import NoticeCell, PatchCell, ToolCell

    home = tmp_path / "home"
    live = await _recorded_session(fake_openai, ws, home)
    assert live.rollout is not None
    rc, provider = _configure(fake_openai, ws, home)
    sess = resume_session(rc, provider, live.rollout.path, interactive=True)
    app = CodeloopApp(sess, resumed=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.2)
        tool = app.query_one(ToolCell)
        assert tool.command == ["cat", "long.txt"] and "line 00599" in str(tool.render())
        assert app.query(PatchCell), "the patch"
        assert [(s.step, s.status) for s in app.main.plan.steps] == [("read calc.py", "completed"), ("fix add", "in_progress")]
        budget = app.main.budget.model
        assert budget.used > 0 and budget.session_total_tokens == live.total_usage.total_tokens, "not 0 / 272k"
        notices = [str(n.render()) for n in app.query(NoticeCell)]
        assert any("Resumed session" in n and "Ctrl+T" in n for n in notices)
    await sess.submit(ev.Shutdown())
