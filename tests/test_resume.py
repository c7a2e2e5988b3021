"""Resume: a session rebuilt from its rollout continues exactly where it stopped."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import collect, make_session, run_turn, shell_call
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import ProviderSettings, ResolvedConfig, load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session, resumed_tools
from tui.engine.resume import (
    INTERRUPTED_OUTPUT,
    ResumeRequest,
    SessionNotFound,
    find_session,
    latest_session,
    list_sessions,
    load_rollout,
    transcript,
)
from tui.engine.rollout import RolloutWriter, read_rollout, rollout_path
from tui.engine.session import Session
from tui.exec_cmd import UsageError, parse_words

PATCH = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch\n"


def _configure(fake: FakeOpenAI, cwd: Path, home: Path) -> tuple[ResolvedConfig, ProviderSettings]:
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(cwd), yolo=True), env=env)
    return rc, resolve_provider(rc, env)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return ws


async def _shutdown(sess: Session) -> None:
    await sess.submit(ev.Shutdown())


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _multi_step_session(fake: FakeOpenAI, ws: Path, home: Path) -> Session:
    """Two turns: a reasoning item, a shell call, a freeform patch, a plan, answers."""
    fake.queue_response(fe.turn(fe.reasoning_item("Look first"), shell_call("c1", ["cat", "calc.py"])))
    fake.queue_response(fe.turn(fe.custom_tool_call_item("c2", "apply_patch", PATCH)))
    fake.queue_response(fe.turn(fe.message_item("Added notes.txt.")))
    fake.queue_response(fe.turn(fe.message_item("It subtracts; ça se corrige.")))
    rc, provider = _configure(fake, ws, home)
    sess = build_session(rc, provider, interactive=False)
    await run_turn(sess, "add a notes file")
    await run_turn(sess, "what does add do?")
    await _shutdown(sess)
    return sess


# ------------------------------------------------------------------ rebuilding the history


async def test_rebuilt_history_equals_the_live_sessions(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    sess = await _multi_step_session(fake_openai, ws, tmp_path / "home")
    assert sess.rollout is not None
    resumed = load_rollout(sess.rollout.path)
    assert _json(resumed.history) == _json(sess.history)
    assert resumed.repaired == []
    assert resumed.meta["id"] == sess.session_id and resumed.meta["tools"] == sess.tools.specs
    assert resumed.reference == {
        "model": sess.settings.model, "approval_policy": "never",
        "sandbox_mode": "danger-full-access", "cwd": str(ws),
        "writable_roots": [], "network_access": False,
    }


async def test_resumed_request_continues_the_last_one_byte_for_byte(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    live = await _multi_step_session(fake_openai, ws, home)
    assert live.rollout is not None
    last_before = fake_openai.responses_bodies()[-1]
    fake_openai.queue_response(fe.turn(fe.message_item("Still here.")))
    rc, provider = _configure(fake_openai, ws, home)
    sess = resume_session(rc, provider, live.rollout.path, interactive=False)
    await run_turn(sess, "are you still there?")
    await _shutdown(sess)
    first_after = fake_openai.responses_bodies()[-1]
    n = len(last_before["input"])
    assert _json(first_after["input"][:n]) == _json(last_before["input"])
    # The whole live history, then only the new message: no second initial context.
    assert _json(first_after["input"][:-1]) == _json(live.history)
    assert first_after["input"][-1]["content"][0]["text"] == "are you still there?"
    for key in ("instructions", "tools", "prompt_cache_key", "model", "parallel_tool_calls"):
        assert _json(first_after[key]) == _json(last_before[key]), key
    # One file, one session_meta, and it rebuilds to the resumed session's history.
    assert list((home / "sessions").rglob("*.jsonl")) == [live.rollout.path]
    assert [ln["type"] for ln in read_rollout(live.rollout.path)].count("session_meta") == 1
    assert _json(load_rollout(live.rollout.path).history) == _json(sess.history)


async def test_a_settings_change_on_resume_is_appended_as_a_diff(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    live = await _multi_step_session(fake_openai, ws, home)
    assert live.rollout is not None
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake_openai.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(ws), sandbox_mode="danger-full-access", approval_policy="on-request"), env=env)
    sess = resume_session(rc, resolve_provider(rc, env), live.rollout.path, interactive=False)
    await run_turn(sess, "go on")
    await _shutdown(sess)
    body = fake_openai.responses_bodies()[-1]
    assert _json(body["input"][: len(live.history)]) == _json(live.history)
    diff, user = body["input"][len(live.history):]
    assert diff["role"] == "developer" and "Approvals: `on-request`" in diff["content"][0]["text"]
    assert user["content"][0]["text"] == "go on"


async def test_compacted_line_replaces_the_history(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    rollout = RolloutWriter(tmp_path / "rollout.jsonl")
    fake_openai.queue_response(fe.turn(shell_call("c1", ["echo", "hi"])))
    fake_openai.queue_response(fe.turn(fe.message_item("first answer")))
    fake_openai.queue_compact(fe.compacted(["task"], "gAAAA-compacted"))
    fake_openai.queue_response(fe.turn(fe.message_item("after compaction")))
    sess = make_session(fake_openai, tmp_path, rollout=rollout)
    await run_turn(sess, "task")
    await sess.submit(ev.Compact())
    await collect(sess)
    await run_turn(sess, "more")
    await _shutdown(sess)
    resumed = load_rollout(rollout.path)
    assert _json(resumed.history) == _json(sess.history)
    assert resumed.history[1] == {"type": "compaction", "encrypted_content": "gAAAA-compacted"}
    assert not any(i.get("type") == "function_call" for i in resumed.history)
    assert resumed.history[-1]["content"][0]["text"] == "after compaction"


def test_a_handwritten_compacted_line_is_replayed(tmp_path: Path) -> None:
    w = RolloutWriter(tmp_path / "r.jsonl")
    w.write("session_meta", {"id": "s1", "cwd": "/w", "instructions": "I", "tools": []})
    w.write("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "old"}]})
    w.write("event_msg", {"type": "token_usage", "total_tokens": 9})
    summary = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "summary"}]}
    w.write("compacted", {"replacement_history": [summary], "before_tokens": 900, "after_tokens": 10, "method": "local"})
    w.write("response_item", {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "new"}]})
    w.close()
    history = load_rollout(tmp_path / "r.jsonl").history
    assert [i["content"][0]["text"] for i in history] == ["summary", "new"]


# ------------------------------------------------------------------ a rollout cut mid-turn


@pytest.mark.parametrize("torn", [False, True], ids=["cut-at-a-line-end", "torn-half-line"])
async def test_a_rollout_cut_mid_turn_is_repaired_and_the_next_request_is_accepted(
    fake_openai: FakeOpenAI, ws: Path, tmp_path: Path, torn: bool
) -> None:
    home = tmp_path / "home"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["cat", "calc.py"]), fe.custom_tool_call_item("c2", "apply_patch", PATCH)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    rc, provider = _configure(fake_openai, ws, home)
    live = build_session(rc, provider, interactive=False)
    await run_turn(live, "read and patch")
    await _shutdown(live)
    assert live.rollout is not None
    path = live.rollout.path
    # As if killed right after the calls were recorded: cut after the custom_tool_call's line.
    raw = path.read_bytes().splitlines(keepends=True)
    cut = next(i for i, ln in enumerate(raw) if b'"type":"custom_tool_call"' in ln) + 1
    kept = b"".join(raw[:cut])
    path.write_bytes(kept + (raw[cut][: len(raw[cut]) // 2] if torn else b""))
    calls = [json.loads(ln)["payload"] for ln in raw[:cut] if b'"type":"response_item"' in ln]

    fake_openai.queue_response(fe.turn(fe.message_item("picking up again")))
    sess = resume_session(rc, provider, path, interactive=False)
    assert sess.history[: len(calls)] == calls, "nothing written before the cut is lost"
    assert sess.history[len(calls):] == [
        {"type": "function_call_output", "call_id": "c1", "output": INTERRUPTED_OUTPUT},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": INTERRUPTED_OUTPUT},
    ]
    events = await run_turn(sess, "what happened?")
    await _shutdown(sess)
    assert isinstance(events[-1], ev.TurnCompleted), events[-1]  # the fake server refuses unpaired calls
    body = fake_openai.responses_bodies()[-1]
    assert _json(body["input"][:-1]) == _json(sess.history[:-2])
    # The repair went into the rollout too, after the cut and readable despite the torn line.
    assert _json(load_rollout(path).history) == _json(sess.history)
    assert load_rollout(path).repaired == []
    assert path.read_bytes().startswith(kept)


def test_a_rollout_without_session_meta_is_refused(tmp_path: Path) -> None:
    from tui.engine.resume import RolloutError

    (tmp_path / "r.jsonl").write_text('{"timestamp":"x","type":"response_item","payload":{}}\n')
    with pytest.raises(RolloutError, match="no session_meta"):
        load_rollout(tmp_path / "r.jsonl")


# ------------------------------------------------------------------ tools


def test_the_stored_apply_patch_shape_is_kept_and_changed_tools_are_reported() -> None:
    from tui.tools.specs import build_tool_specs

    stored = json.loads(json.dumps(build_tool_specs("function")))
    router, changed = resumed_tools(stored, "gpt-5.4", "responses")  # gpt-5 would default to freeform
    assert _json(router.specs) == _json(stored) and not changed
    stored[0]["description"] = "an older wording"
    router, changed = resumed_tools(stored, "gpt-5.4", "responses")
    assert changed and router.specs == build_tool_specs("function")
    router, _ = resumed_tools(build_tool_specs("freeform"), "qwen3-coder", "chat")
    assert router.specs == build_tool_specs("function"), "chat providers cannot take a freeform tool"


# ------------------------------------------------------------------ listing and finding


async def _recorded(
    fake: FakeOpenAI, home: Path, cwd: Path, prompt: str | None, when: _dt.datetime, session_id: str | None = None
) -> Session:
    sid = session_id or str(uuid.uuid4())
    sess = make_session(
        fake, cwd, rollout=RolloutWriter(rollout_path(home, sid, when)), session_id=sid,
        agents_text="Use tabs.", developer_instructions="Be brief.",
    )
    if prompt is not None:
        fake.queue_response(fe.turn(fe.message_item("ok")))
        await run_turn(sess, prompt)
    await _shutdown(sess)
    return sess


async def test_list_sessions_reads_first_message_cwd_and_size(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home, a, b = tmp_path / "home", tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    t = _dt.datetime(2026, 3, 1, 12, 0, 0)
    older = await _recorded(fake_openai, home, a, "first task\nwith two lines", t)
    newer = await _recorded(fake_openai, home, b, "second task", t + _dt.timedelta(seconds=5))
    idle = await _recorded(fake_openai, home, a, None, t + _dt.timedelta(seconds=9))
    (home / "sessions" / "2026" / "03" / "01" / "rollout-2026-03-01T00-00-00-junk.jsonl").write_text("not json\n")
    infos = list_sessions(home)
    assert [i.session_id for i in infos] == [idle.session_id, newer.session_id, older.session_id]
    assert [i.first_message for i in infos] == [None, "second task", "first task\nwith two lines"]
    assert [i.cwd for i in infos] == [str(a.resolve()), str(b.resolve()), str(a.resolve())]
    assert all(i.size_bytes == i.path.stat().st_size for i in infos)
    assert infos[1].started < infos[0].started and infos[0].started.tzinfo is not None
    assert latest_session(home) == infos[0].path
    assert latest_session(home, b) == infos[1].path
    assert latest_session(home, tmp_path) is None
    assert ResumeRequest().locate(home, b) == infos[1].path
    assert ResumeRequest().locate(home, tmp_path) == infos[0].path, "no session here: the newest of all"


async def test_find_session_by_id_or_prefix(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    t = _dt.datetime(2026, 3, 1, 12, 0, 0)
    ids = ["abc12345-0000-4000-8000-000000000001", "abc12345-0000-4000-8000-000000000002"]
    paths = [(await _recorded(fake_openai, home, tmp_path, None, t, sid)).rollout.path for sid in ids]  # type: ignore[union-attr]
    assert find_session(home, ids[0]) == paths[0]
    assert find_session(home, "ABC12345-0000-4000-8000-000000000002") == paths[1]
    assert find_session(home, ids[1][:-1] + "2") == paths[1]
    with pytest.raises(SessionNotFound, match="no session with id 'nope'"):
        find_session(home, "nope")
    with pytest.raises(SessionNotFound, match="'abc1' is ambiguous: it matches abc12345-.*01, abc12345-.*02"):
        find_session(home, "abc1")
    with pytest.raises(SessionNotFound, match="there is no recorded session"):
        ResumeRequest().locate(tmp_path / "empty-home", tmp_path)


def test_transcript_shows_the_conversation_not_the_context() -> None:
    from tui.engine.context import message

    history = [
        message("developer", "<permissions instructions>"),
        message("user", "# AGENTS.md instructions for /w", "<environment_context>"),
        message("user", "fix it"),
        {"type": "function_call", "call_id": "c", "name": "shell", "arguments": "{}"},
        message("assistant", "fixed"),
        message("user", "<turn_aborted>\n...</turn_aborted>"),
    ]
    assert transcript(history) == [("user", "fix it"), ("assistant", "fixed")]
    assert transcript(history, limit=1) == [("assistant", "fixed")]


# ------------------------------------------------------------------ the command line


def test_exec_words_select_a_new_or_a_resumed_session() -> None:
    assert parse_words(["fix it"], False) == ("fix it", None)
    assert parse_words(["resume"], False) == ("resume", None), "a lone word is still a prompt"
    assert parse_words(["resume", "go on"], True) == ("go on", ResumeRequest())
    assert parse_words(["resume", "abc123", "-"], False) == ("-", ResumeRequest("abc123"))
    for words, last in ((["resume", "a", "b", "c"], False), (["resume", "id", "p"], True), (["a", "b"], False), (["go"], True)):
        with pytest.raises(UsageError):
            parse_words(words, last)


def test_exec_resume_last_continues_the_newest_session_of_this_folder(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home, here, there = tmp_path / "home", tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    fake_openai.queue_response(fe.turn(fe.message_item("answer here")))
    fake_openai.queue_response(fe.turn(fe.message_item("answer there")))
    fake_openai.queue_response(fe.turn(fe.message_item("continued here")))
    fake_openai.queue_response(fe.turn(fe.message_item("continued by id")))
    assert run_exec(fake_openai, here, home, "--yolo", "task here").returncode == 0
    assert run_exec(fake_openai, there, home, "--yolo", "task there").returncode == 0
    proc = run_exec(fake_openai, here, home, "--json", "resume", "--last", "go on", "--yolo")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0] == {"type": "thread.started", "thread_id": fake_openai.responses_bodies()[0]["prompt_cache_key"]}
    assert [e["item"] for e in lines if e["type"] == "item.completed"] == [{"id": "item_0", "type": "agent_message", "text": "continued here"}]
    first, _, resumed = fake_openai.responses_bodies()
    assert resumed["prompt_cache_key"] == first["prompt_cache_key"]
    assert resumed["input"][: len(first["input"])] == first["input"]
    assert [m["content"][0]["text"] for m in resumed["input"][len(first["input"]):]] == ["answer here", "go on"]
    # By id prefix, from anywhere; the progress goes to stderr and the answer to stdout.
    session_id = first["prompt_cache_key"]
    proc = run_exec(fake_openai, tmp_path, home, "--yolo", "resume", session_id[:13], "and then?")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "continued by id\n"
    assert fake_openai.responses_bodies()[-1]["prompt_cache_key"] == session_id
    assert len(list((home / "sessions").rglob("*.jsonl"))) == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("resume", "0000dead", "go"), "no session with id '0000dead'"),
        (("resume", "--last", "go"), "no recorded session to resume"),
        (("resume", "x", "y", "z"), "usage: codeloop exec"),
        (("two", "prompts"), "exec takes one PROMPT"),
    ],
)
def test_exec_resume_errors_exit_2_with_a_message(fake_openai: FakeOpenAI, tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    proc = run_exec(fake_openai, tmp_path, tmp_path / "home", *args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("codeloop: ") and needle in proc.stderr
    assert fake_openai.requests == []


def test_codeloop_resume_unknown_id_exits_2_before_the_app_starts(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
    env.update({"CODELOOP_HOME": str(tmp_path / "home"), "OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "k"})
    run = lambda *a: subprocess.run([sys.executable, "-m", "tui", "resume", *a], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)  # noqa: E731
    proc = run("nope")
    assert proc.returncode == 2 and "no session with id 'nope'" in proc.stderr
    proc = run()
    assert proc.returncode == 2 and "there is no recorded session" in proc.stderr


async def test_the_app_opens_a_resumed_session_on_its_last_messages(fake_openai: FakeOpenAI, ws: Path, tmp_path: Path) -> None:
    from tui.app.app import CodeloopApp
    from tui.app.widgets.conversation import AnswerCell, NoticeCell, UserCell

    home = tmp_path / "home"
    live = await _multi_step_session(fake_openai, ws, home)
    rc, provider = _configure(fake_openai, ws, home)
    assert live.rollout is not None
    sess = resume_session(rc, provider, live.rollout.path, interactive=True)
    app = CodeloopApp(sess, resumed=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.1)
        assert [str(c.render()) for c in app.query(UserCell)] == ["add a notes file", "what does add do?"]
        assert [a.text for a in [a for a in app.query(AnswerCell) if a.done]] == ["Added notes.txt.", "It subtracts; ça se corrige."]
        assert any(f"Resumed session {live.session_id}" in str(n.render()) for n in app.query(NoticeCell))
    await _shutdown(sess)
