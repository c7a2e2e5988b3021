"""Interrupts end to end: Esc / Ctrl+C in the app, SIGINT / SIGTERM to a real `codeloop exec`.

Whatever stops a turn, the command it was running dies with everything it started, every call
the model made gets an output, a `<turn_aborted>` note is appended, and the next request is one
the API accepts (the fake server refuses a call without its output, so a next turn that completes
proves the history is whole).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.app_support import RUN_PY, SIZE, type_text, until, until_approval_ready
from tests.engine_support import make_session, outputs_by_call, shell_call
from tests.exec_support import run_exec, start_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.process_support import ProcessTree, seconds_until_gone
from tui.app.app import CodeloopApp
from tui.app.screens.approval import ApprovalScreen
from tui.engine.rollout import read_rollout
from tui.engine.session import TURN_ABORTED_NOTE

ABORTED = "aborted by user"


def _aborted_while_running(output: str) -> bool:
    """The output of a call stopped while it ran: its exit status and wall time, as Codex words it."""
    return output.startswith("Exit code: 130\nWall time: ") and "\naborted by user" in output


def _user_texts(body: dict[str, Any]) -> list[str]:
    return [p["text"] for i in body["input"] if i.get("role") == "user" for p in i["content"]]


# ------------------------------------------------------------------ exec: real signals


@pytest.mark.parametrize(
    ("sig", "mode"),
    [
        (signal.SIGINT, "--yolo"),
        (signal.SIGTERM, "--yolo"),
        # bwrap --new-session puts the command in a session of its own: the kill must reach it
        # through the sandbox's pid namespace instead.
        (signal.SIGINT, "--full-auto"),
    ],
    ids=["sigint", "sigterm", "sigint-sandboxed"],
)
def test_signal_to_exec_kills_the_command_tree_answers_every_call_and_resumes(
    fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tree: ProcessTree, sig: signal.Signals, mode: str
) -> None:
    ws, home = workspace
    # c2 waits behind c1 (neither is read-only, so they run one after the other): never started.
    fake_openai.queue_response(fe.turn(shell_call("c1", tree.argv), shell_call("c2", ["touch", "c2-ran"])))
    proc = start_exec(fake_openai, ws, home, mode, "run it")
    try:
        pids = tree.wait_until_running(proc)
        if mode == "--yolo":
            assert sorted(pids) == sorted(int(p) for p in tree.pidfile.read_text().split())
        sent = time.monotonic()
        proc.send_signal(sig)
        took = seconds_until_gone(pids, sent)
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    print(f"{sig.name} {mode}: command tree gone {took:.3f}s after the signal")
    assert proc.returncode == 128 + sig, err
    assert "turn aborted" in err
    assert not (ws / "c2-ran").exists()
    [rollout] = list((home / "sessions").rglob("rollout-*.jsonl"))
    items = [ln["payload"] for ln in read_rollout(rollout) if ln["type"] == "response_item"]
    outputs = {i["call_id"]: i["output"] for i in items if i["type"] == "function_call_output"}
    assert _aborted_while_running(outputs["c1"]) and outputs["c2"] == ABORTED
    assert items[-1]["content"][0]["text"] == TURN_ABORTED_NOTE

    fake_openai.queue_response(fe.turn(fe.message_item("picked up again")))
    resumed = run_exec(fake_openai, ws, home, mode, "resume", "--last", "continue")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "picked up again\n"
    body = fake_openai.responses_bodies()[-1]
    assert body["input"][: len(items)] == items
    assert outputs_by_call(body) == outputs
    assert _user_texts(body)[-2:] == [TURN_ABORTED_NOTE, "continue"]


def test_signal_while_the_model_streams_aborts_without_recording_the_partial_answer(
    fake_openai: FakeOpenAI, workspace: tuple[Path, Path]
) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("word " * 400)), delay=0.02)
    proc = start_exec(fake_openai, ws, home, "--engine-events", "--yolo", "talk")
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if json.loads(line)["type"] == "agent_message_delta":
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert json.loads(out.splitlines()[-1])["type"] == "turn_aborted"
    [rollout] = list((home / "sessions").rglob("rollout-*.jsonl"))
    items = [ln["payload"] for ln in read_rollout(rollout) if ln["type"] == "response_item"]
    assert not any(i.get("role") == "assistant" for i in items)
    assert items[-1]["content"][0]["text"] == TURN_ABORTED_NOTE
    fake_openai.queue_response(fe.turn(fe.message_item("again")))
    resumed = run_exec(fake_openai, ws, home, "--yolo", "resume", "--last", "continue")
    assert resumed.returncode == 0, resumed.stderr
    assert fake_openai.responses_bodies()[-1]["input"][: len(items)] == items


# ------------------------------------------------------------------ the app: keys


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_key_kills_the_command_tree_and_the_next_turn_is_accepted(
    fake_openai: FakeOpenAI, tmp_path: Path, tree: ProcessTree, key: str
) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", tree.argv), shell_call("c2", ["touch", "c2-ran"])))
    fake_openai.queue_response(fe.turn(fe.message_item("back")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, tree.ready)
        pids = tree.host_pids()
        sent = time.monotonic()
        await pilot.press(key)
        took = seconds_until_gone(pids, sent)
        await until(pilot, lambda: not app.session.turn_running, timeout=5)
        history = app.session.history
        assert history[-1]["content"][0]["text"] == TURN_ABORTED_NOTE
        await type_text(pilot, "again")
        await pilot.press("enter")
        await until(pilot, lambda: not app.session.turn_running and app.session.history[-1].get("role") == "assistant")
    print(f"{key}: command tree gone {took:.3f}s after the key")
    assert not (tmp_path / "c2-ran").exists()
    second = fake_openai.responses_bodies()[1]
    outputs = outputs_by_call(second)
    assert _aborted_while_running(outputs["c1"]) and outputs["c2"] == ABORTED
    assert _user_texts(second)[-2:] == [TURN_ABORTED_NOTE, "again"]


@pytest.mark.parametrize(
    "key",
    [
        "escape",
        "ctrl+c",
    ],
)
async def test_key_at_a_pending_approval_aborts_and_answers_every_call(
    fake_openai: FakeOpenAI, tmp_path: Path, key: str
) -> None:
    """The modal has the focus: Esc is its "abort the turn"; Ctrl+C is the app's interrupt (a
    priority binding), which cancels the turn while the engine awaits the decision."""
    fake_openai.queue_response(fe.turn(shell_call("c1", RUN_PY), shell_call("c2", ["touch", "c2-ran"])))
    fake_openai.queue_response(fe.turn(fe.message_item("back")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until_approval_ready(pilot, app)
        request = app.screen.request
        await pilot.press(key)
        await until(pilot, lambda: not app.session.turn_running, timeout=5)
        assert request.future is not None and request.future.done()
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ApprovalScreen), "the modal outlived the turn it asked for"
        history = app.session.history
        outputs = {i["call_id"]: i["output"] for i in history if i.get("type") == "function_call_output"}
        assert outputs == {"c1": ABORTED, "c2": ABORTED}  # neither ran: c1 was awaiting its approval
        assert history[-1]["content"][0]["text"] == TURN_ABORTED_NOTE
        await type_text(pilot, "again")
        await pilot.press("enter")
        await until(pilot, lambda: not app.session.turn_running and app.session.history[-1].get("role") == "assistant")
    assert not (tmp_path / "c2-ran").exists()
    assert _user_texts(fake_openai.responses_bodies()[1])[-2:] == [TURN_ABORTED_NOTE, "again"]
