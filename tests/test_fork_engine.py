"""Backtrack through the engine: the forked request repeats the earlier one's input up to the
fork point, the rollout records the fork, resume rebuilds the forked history, files come back
from the undo snapshot when asked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import collect, make_session, of_type, run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.git_support import one_file_repo
from tui import protocol as ev
from tui.config import ProviderSettings, ResolvedConfig, load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session
from tui.engine.fork import fork_points
from tui.engine.resume import RolloutError, load_rollout
from tui.engine.rollout import RolloutWriter, read_rollout
from tui.engine.session import Session
from tui.engine.undo import changed_since

EDIT = "*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+two\n*** Add File: new.txt\n+new\n*** End Patch\n"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(item: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in item.get("content", []))


def _first_request_with(fake: FakeOpenAI, text: str) -> dict[str, Any]:
    return next(b for b in fake.responses_bodies() if any(_text(i) == text for i in b["input"]))


def _index_of(body: dict[str, Any], text: str) -> int:
    return next(n for n, i in enumerate(body["input"]) if i.get("role") == "user" and _text(i) == text)


async def _three_turns(fake: FakeOpenAI, sess: Session) -> None:
    fake.queue_response(fe.turn(fe.message_item("answer one")))
    fake.queue_response(fe.turn(shell_call("c1", ["echo", "hi"])))
    fake.queue_response(fe.turn(fe.message_item("answer two")))
    fake.queue_response(fe.turn(fe.message_item("answer three")))
    await run_turn(sess, "one")
    await run_turn(sess, "two")
    await run_turn(sess, "three")


async def _backtrack(sess: Session, nth: int, text: str, restore: bool = False) -> list[ev.Event]:
    await sess.submit(ev.Backtrack(nth, text, restore))
    return await collect(sess)


async def test_the_forked_request_repeats_the_earlier_input_up_to_the_fork_point(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    await _three_turns(fake_openai, sess)
    assert [p.text for p in fork_points(sess)] == ["one", "two", "three"]
    fake_openai.queue_response(fe.turn(fe.message_item("answer two, edited")))
    events = await _backtrack(sess, 1, "two, edited")
    [forked] = of_type(events, ev.HistoryForked)
    assert (forked.nth_user_message, forked.restored_paths) == (1, None)
    earlier = _first_request_with(fake_openai, "two")
    cut = _index_of(earlier, "two")
    body = fake_openai.responses_bodies()[-1]
    assert _json(body["input"][:cut]) == _json(earlier["input"][:cut])
    assert _text(body["input"][cut]) == "two, edited" and len(body["input"]) == cut + 1
    for key in ("instructions", "tools", "prompt_cache_key", "model"):
        assert _json(body[key]) == _json(earlier[key]), key
    assert forked.kept_items == cut and forked.dropped_items > 0
    assert isinstance(events[-1], ev.TurnCompleted)
    # The branch goes on: what came after "two" is gone from the history, and from the picker.
    assert [p.text for p in fork_points(sess)] == ["one", "two, edited"]
    assert not any(i.get("type") == "function_call" for i in sess.history)


async def test_a_fork_to_the_first_message_keeps_only_the_initial_context(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    await _three_turns(fake_openai, sess)
    first = fake_openai.responses_bodies()[0]
    fake_openai.queue_response(fe.turn(fe.message_item("fresh start")))
    await _backtrack(sess, 0, "one, but better")
    body = fake_openai.responses_bodies()[-1]
    assert _json(body["input"][:-1]) == _json(first["input"][:-1])
    assert _text(body["input"][-1]) == "one, but better"


async def test_a_settings_change_after_the_fork_point_is_told_again(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The kept items never told the model about /model: the fork appends the diff."""
    sess = make_session(fake_openai, tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item("a")))
    fake_openai.queue_response(fe.turn(fe.message_item("b")))
    await run_turn(sess, "one")
    await sess.submit(ev.OverrideSettings(model="gpt-other"))
    await run_turn(sess, "two")
    fake_openai.queue_response(fe.turn(fe.message_item("c")))
    await _backtrack(sess, 1, "two again")  # the switch was recorded before "two": it is kept
    assert sum("<model_switch>" in _text(i) for i in fake_openai.responses_bodies()[-1]["input"]) == 1
    fake_openai.queue_response(fe.turn(fe.message_item("d")))
    await _backtrack(sess, 0, "one again")  # before the switch: the model is told once more
    body = fake_openai.responses_bodies()[-1]
    cut = _index_of(fake_openai.responses_bodies()[0], "one")
    assert _json(body["input"][:cut]) == _json(fake_openai.responses_bodies()[0]["input"][:cut])
    switch, edited = body["input"][cut:]
    assert "<model_switch>" in _text(switch) and _text(edited) == "one again"
    assert body["model"] == "gpt-other"


async def test_compaction_then_fork_goes_back_only_to_messages_after_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item("first answer")))
    fake_openai.queue_compact(fe.compacted(["task"], "gAAAA-compacted"))
    fake_openai.queue_response(fe.turn(fe.message_item("after compaction")))
    fake_openai.queue_response(fe.turn(fe.message_item("third")))
    await run_turn(sess, "task")
    await sess.submit(ev.Compact())
    await collect(sess)
    await run_turn(sess, "more")
    await run_turn(sess, "again")
    assert [p.text for p in fork_points(sess)] == ["more", "again"]  # "task" was summarised
    fake_openai.queue_response(fe.turn(fe.message_item("edited")))
    await _backtrack(sess, 0, "more, edited")
    earlier = _first_request_with(fake_openai, "more")
    cut = _index_of(earlier, "more")
    body = fake_openai.responses_bodies()[-1]
    assert any(i.get("type") == "compaction" for i in body["input"][:cut])
    assert _json(body["input"]) == _json([*earlier["input"][:cut], body["input"][cut]])
    assert _text(body["input"][cut]) == "more, edited"
    await sess.submit(ev.Backtrack(1, "x"))  # "again" went with the old branch: only 0 is left
    warning = await sess.next_event()
    assert isinstance(warning, ev.WarningIssued) and "1 can be" in warning.message


@pytest.mark.parametrize("op", [
    ev.Backtrack(7, "x"), ev.Backtrack(-1, "x"), ev.Backtrack(True, "x"), ev.Backtrack(0, "   "),
], ids=["past-the-end", "negative", "a-bool", "empty-text"])
async def test_a_bad_backtrack_is_refused_and_changes_nothing(fake_openai: FakeOpenAI, tmp_path: Path, op: ev.Backtrack) -> None:
    sess = make_session(fake_openai, tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item("a")))
    await run_turn(sess, "one")
    before, requests = _json(sess.history), len(fake_openai.responses_bodies())
    await sess.submit(op)
    warning = await sess.next_event()
    assert isinstance(warning, ev.WarningIssued) and ("No message" in warning.message or "empty" in warning.message)
    assert not sess.turn_running and _json(sess.history) == before
    assert len(fake_openai.responses_bodies()) == requests


async def test_backtrack_is_refused_while_a_turn_runs(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item("a")))
    await run_turn(sess, "one")
    fake_openai.queue_response(fe.turn(shell_call("s1", ["sleep", "30"])))
    await sess.submit(ev.UserInput("slow"))
    while not any(isinstance(e, ev.ExecCommandBegan) for e in [await sess.next_event()]):
        pass
    await sess.submit(ev.Backtrack(0, "edited"))
    assert not [i for i in sess.history if _text(i) == "edited"]
    await sess.submit(ev.Interrupt())
    events = await collect(sess)
    assert any(isinstance(e, ev.WarningIssued) and "A turn is running" in e.message for e in events)
    assert not of_type(events, ev.HistoryForked)


# ------------------------------------------------------------------ the rollout and resume


def _configure(fake: FakeOpenAI, cwd: Path, home: Path) -> Any:
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(cwd), yolo=True), env=env)
    return rc, resolve_provider(rc, env)


async def _forked_and_closed(fake: FakeOpenAI, tmp_path: Path) -> tuple[ResolvedConfig, ProviderSettings, Session]:
    """Three turns, a fork at the second message ("two, edited"), then shut down: its rollout is whole."""
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    rc, provider = _configure(fake, ws, home)
    live = build_session(rc, provider, interactive=False)
    await _three_turns(fake, live)
    fake.queue_response(fe.turn(fe.message_item("forked answer")))
    await _backtrack(live, 1, "two, edited")
    await live.submit(ev.Shutdown())
    assert live.rollout is not None
    return rc, provider, live


async def test_resume_rebuilds_the_forked_history_byte_for_byte(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    rc, provider, live = await _forked_and_closed(fake_openai, tmp_path)
    assert live.rollout is not None
    path = live.rollout.path
    lines = read_rollout(path)
    [fork_line] = [ln["payload"] for ln in lines if ln["type"] == "history_forked"]
    assert fork_line["nth_user_message"] == 1 and fork_line["restored_paths"] is None
    # Append-only: the old branch is still in the file, above the fork line.
    texts = [_text(ln["payload"]) for ln in lines if ln["type"] == "response_item"]
    assert "three" in texts and texts.index("three") < texts.index("two, edited")
    assert _json(load_rollout(path).history) == _json(live.history)

    # Resumed, the next request continues the forked one; forking again reaches back before the resume.
    fake_openai.queue_response(fe.turn(fe.message_item("resumed")))
    sess = resume_session(rc, provider, path, interactive=False)
    await run_turn(sess, "go on")
    assert _json(fake_openai.responses_bodies()[-1]["input"][:-1]) == _json(live.history)
    assert [p.text for p in fork_points(sess)] == ["one", "two, edited", "go on"]
    fake_openai.queue_response(fe.turn(fe.message_item("forked again")))
    await _backtrack(sess, 0, "one, resumed")
    first = fake_openai.responses_bodies()[0]
    assert _json(fake_openai.responses_bodies()[-1]["input"]) == _json([*first["input"][:-1], fake_openai.responses_bodies()[-1]["input"][-1]])
    await sess.submit(ev.Shutdown())
    assert _json(load_rollout(path).history) == _json(sess.history)


@pytest.mark.parametrize("keep", [99, -1, True, "2", None])
def test_a_malformed_history_forked_line_is_refused(tmp_path: Path, keep: Any) -> None:
    w = RolloutWriter(tmp_path / "r.jsonl")
    w.write("session_meta", {"id": "s1", "cwd": "/w", "instructions": "I", "tools": []})
    w.write("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]})
    w.write("history_forked", {"keep_items": keep})
    w.close()
    with pytest.raises(RolloutError, match="history_forked"):
        load_rollout(tmp_path / "r.jsonl")


def test_a_handwritten_history_forked_line_cuts_the_history(tmp_path: Path) -> None:
    w = RolloutWriter(tmp_path / "r.jsonl")
    w.write("session_meta", {"id": "s1", "cwd": "/w", "instructions": "I", "tools": []})
    for text in ("a", "b", "c"):
        w.write("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    w.write("history_forked", {"keep_items": 1})
    w.write("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "b2"}]})
    w.close()
    assert [_text(i) for i in load_rollout(tmp_path / "r.jsonl").history] == ["a", "b2"]


# ------------------------------------------------------------------ files


async def test_files_are_restored_to_the_turns_snapshot_when_asked(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = one_file_repo(tmp_path / "ws")
    sess = make_session(fake_openai, ws)
    fake_openai.queue_response(fe.turn(fe.message_item("looked")))
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", EDIT)))
    fake_openai.queue_response(fe.turn(fe.message_item("edited")))
    await run_turn(sess, "look")
    await run_turn(sess, "edit")
    assert (ws / "a.txt").read_text() == "two\n"
    points = fork_points(sess)
    assert points[1].snapshot is not None and changed_since(points[1].snapshot) == ["a.txt", "new.txt"]
    assert (ws / "a.txt").read_text() == "two\n", "asking what differs changes nothing"

    fake_openai.queue_response(fe.turn(fe.message_item("kept the files")))
    [kept] = of_type(await _backtrack(sess, 1, "edit, files kept"), ev.HistoryForked)
    assert kept.restored_paths is None and (ws / "a.txt").read_text() == "two\n"

    point = fork_points(sess)[1]
    assert point.snapshot is not None  # the new turn took its own, from the tree as it was
    fake_openai.queue_response(fe.turn(fe.message_item("from the first snapshot")))
    [restored] = of_type(await _backtrack(sess, 0, "look again", restore=True), ev.HistoryForked)
    assert sorted(restored.restored_paths or []) == ["a.txt", "new.txt"]
    assert (ws / "a.txt").read_text() == "one\n" and not (ws / "new.txt").exists()
    # /undo stays on this branch: it restores to before "look again", not to a dropped turn.
    assert len(sess.snapshots) == 1


async def test_a_resumed_session_restores_files_from_a_snapshot_taken_before_the_resume(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws, home = one_file_repo(tmp_path / "ws"), tmp_path / "home"
    rc, provider = _configure(fake_openai, ws, home)
    live = build_session(rc, provider, interactive=False)
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", EDIT)))
    fake_openai.queue_response(fe.turn(fe.message_item("edited")))
    await run_turn(live, "edit")
    await live.submit(ev.Shutdown())
    assert live.rollout is not None and (ws / "a.txt").read_text() == "two\n"

    sess = resume_session(rc, provider, live.rollout.path, interactive=False)
    [point] = fork_points(sess)
    assert point.snapshot is not None and point.snapshot.sha == fork_points(live)[0].snapshot.sha  # type: ignore[union-attr]
    fake_openai.queue_response(fe.turn(fe.message_item("again")))
    [forked] = of_type(await _backtrack(sess, 0, "edit, take two", restore=True), ev.HistoryForked)
    assert sorted(forked.restored_paths or []) == ["a.txt", "new.txt"]
    assert (ws / "a.txt").read_text() == "one\n" and not (ws / "new.txt").exists()
    await sess.submit(ev.Shutdown())


async def test_a_rollout_snapshot_of_another_repository_is_never_offered(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws, home = one_file_repo(tmp_path / "ws"), tmp_path / "home"
    other = one_file_repo(tmp_path / "other")
    rc, provider = _configure(fake_openai, ws, home)
    live = build_session(rc, provider, interactive=False)
    fake_openai.queue_response(fe.turn(fe.message_item("hi")))
    await run_turn(live, "hello")
    await live.submit(ev.Shutdown())
    assert live.rollout is not None
    path = live.rollout.path
    path.write_text(path.read_text().replace(json.dumps(str(ws))[1:-1] + '"', json.dumps(str(other))[1:-1] + '"'))
    sess = resume_session(rc, provider, path, interactive=False)
    assert [p.snapshot for p in fork_points(sess)] == [None]
    await sess.submit(ev.Shutdown())


async def test_files_that_cannot_be_restored_fork_nothing_and_say_why(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    import shutil

    ws = one_file_repo(tmp_path / "ws")
    sess = make_session(fake_openai, ws)
    fake_openai.queue_response(fe.turn(fe.message_item("hi")))
    await run_turn(sess, "hello")
    shutil.rmtree(ws / ".git")  # the repository went away since the snapshot
    before, requests = _json(sess.history), len(fake_openai.responses_bodies())
    events = await _backtrack(sess, 0, "hello again", restore=True)
    [warning] = of_type(events, ev.WarningIssued)
    assert "could not be restored" in warning.message and "Nothing was forked" in warning.message
    assert not of_type(events, ev.HistoryForked) and isinstance(events[-1], ev.TurnCompleted)
    assert _json(sess.history) == before and len(fake_openai.responses_bodies()) == requests


async def test_a_resumed_forked_session_shows_the_fork_not_the_branch_it_left(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """What resume and Ctrl+T show again (engine/replay.py) follows the fork: the messages and
    the command of the abandoned branch are not replayed, the edited message and its answer are."""
    from tui.engine.replay import replay_rollout

    _, _, live = await _forked_and_closed(fake_openai, tmp_path)
    assert live.rollout is not None
    events = replay_rollout(live.rollout.path).events
    said = [e.text for e in events if isinstance(e, (ev.UserMessageRecorded, ev.AgentMessage))]
    assert said == ["one", "answer one", "two, edited", "forked answer"]
    assert not [e for e in events if isinstance(e, (ev.ExecCommandBegan, ev.ExecCommandEnded))]
