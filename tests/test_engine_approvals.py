"""The approval matrix (policy × sandbox × tool) through the real loop, real bwrap, real files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.engine_support import (
    collect,
    make_session,
    of_type,
    outputs_by_call,
    process_gone,
    run_turn,
    shell_call,
)
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.session import TURN_ABORTED_NOTE
from tui.tools.base import HEADLESS_DECLINE

POLICIES = ["untrusted", "on-request", "on-failure", "never"]
SANDBOXES = ["read-only", "workspace-write", "danger-full-access"]
PRINT_RAN = ["python3", "-c", "print('ran')"]  # not known-safe, writes nothing
ADD_FILE = "*** Begin Patch\n*** Add File: new.txt\n+new\n*** End Patch\n"


def expected(tool: str, policy: str, sandbox: str) -> str:
    full = sandbox == "danger-full-access"
    if tool == "shell":
        return "ask" if policy == "untrusted" else "run"
    if tool == "shell_escalated":
        if full:
            return "ask" if policy == "untrusted" else "run"
        return "reject" if policy == "never" else "ask"
    # patch inside cwd: the writable roots contain cwd except in read-only
    if policy == "untrusted":
        return "ask"
    inside = sandbox != "read-only"
    if inside:
        return "run"
    return "reject" if policy == "never" else "ask"


def _call(tool: str) -> list[dict]:
    if tool == "shell":
        return shell_call("c1", PRINT_RAN)
    if tool == "shell_escalated":
        return shell_call("c1", PRINT_RAN, sandbox_permissions="require_escalated", justification="Print it?")
    return fe.custom_tool_call_item("c1", "apply_patch", ADD_FILE)


@pytest.mark.parametrize("tool", ["shell", "shell_escalated", "patch"])
@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("policy", POLICIES)
async def test_approval_matrix(fake_openai: FakeOpenAI, tmp_path: Path, policy: str, sandbox: str, tool: str) -> None:
    fake_openai.queue_response(fe.turn(_call(tool)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    asked: list[ev.ApprovalRequested] = []

    def deny(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        asked.append(req)
        return ev.ReviewDecision.DENIED

    events = await run_turn(make_session(fake_openai, tmp_path, policy=policy, sandbox=sandbox), "go", deny)
    assert of_type(events, ev.TurnCompleted)
    out = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    want = expected(tool, policy, sandbox)
    ran = out.startswith("Exit code: 0") if tool != "patch" else (tmp_path / "new.txt").exists()
    if want == "run":
        assert not asked and ran, out
    elif want == "ask":
        assert len(asked) == 1 and not ran, out
        assert "declined" in out
        assert asked[0].kind == ("patch" if tool == "patch" else "exec")
        if tool == "shell_escalated":
            # codeloop's reason, never the model's words in its place (issue 11.7)
            assert asked[0].sandboxed is False and asked[0].justification == "Print it?"
            assert asked[0].reason in (
                "the model asked to run outside the sandbox",
                "approval policy `untrusted` asks for every command that is not known to be read-only",
            )
        if tool == "patch":
            assert asked[0].changes and asked[0].changes[0].path == "new.txt"
    else:
        assert not asked and not ran and "never" in out, out


async def test_approved_command_runs_and_session_approval_is_remembered(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", PRINT_RAN)))
    fake_openai.queue_response(fe.turn(shell_call("c2", PRINT_RAN)))
    fake_openai.queue_response(fe.turn(shell_call("c3", ["python3", "-c", "print('other')"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    answers = [ev.ReviewDecision.APPROVED_FOR_SESSION, ev.ReviewDecision.APPROVED]
    asked: list[list[str] | None] = []

    def approve(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        asked.append(req.command)
        return answers.pop(0)

    sess = make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write")
    await run_turn(sess, "go", approve)
    outs = outputs_by_call(fake_openai.responses_bodies()[-1])
    assert "ran" in outs["c1"] and "ran" in outs["c2"] and "other" in outs["c3"]
    assert asked == [PRINT_RAN, ["python3", "-c", "print('other')"]]  # c2 was not asked again


async def test_approved_patch_for_session_covers_the_same_files(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    edit = "*** Begin Patch\n*** Update File: new.txt\n@@\n-new\n+newer\n*** End Patch\n"
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", ADD_FILE)))
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p2", "apply_patch", edit)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    asked = []

    def approve(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        asked.append(req)
        return ev.ReviewDecision.APPROVED_FOR_SESSION

    await run_turn(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"), "go", approve)
    assert (tmp_path / "new.txt").read_text() == "newer\n"
    assert len(asked) == 1


async def test_sandbox_denial_asks_to_rerun_outside_under_on_failure(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", "echo hi > out.txt"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    asked = []

    def approve(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        asked.append(req)
        return ev.ReviewDecision.APPROVED

    events = await run_turn(make_session(fake_openai, tmp_path, policy="on-failure", sandbox="read-only"), "go", approve)
    assert len(asked) == 1 and asked[0].sandboxed is False and asked[0].command == ["bash", "-lc", "echo hi > out.txt"]
    assert (tmp_path / "out.txt").read_text() == "hi\n"
    began = of_type(events, ev.ExecCommandBegan)
    assert [b.sandboxed for b in began] == [True, False]


async def test_sandbox_refuses_git_and_outside_writes_under_never(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    outside = Path.home() / f".codeloop-test-outside-{tmp_path.name}"
    script = f"echo in > inside.txt; echo bad > .git/HEAD; echo bad > {outside}; echo done"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    try:
        await run_turn(make_session(fake_openai, tmp_path, policy="never", sandbox="workspace-write"), "go")
        out = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
        assert (tmp_path / "inside.txt").read_text() == "in\n"
        assert (tmp_path / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
        assert not outside.exists()
        assert "Read-only file system" in out
    finally:
        outside.unlink(missing_ok=True)


async def test_sandbox_cuts_the_network(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    port = fake_openai.base_url.split(":")[2].split("/")[0]
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('CONNECTED')"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["python3", "-c", probe])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    await run_turn(make_session(fake_openai, tmp_path, policy="never", sandbox="workspace-write"), "go")
    out = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert "CONNECTED" not in out and "Exit code: 0" not in out


async def test_headless_session_declines_and_tells_the_model_why(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", PRINT_RAN)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    sess = make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write", interactive=False)
    events = await run_turn(sess, "go")  # no approver: an ApprovalRequested would fail the test
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"] == HEADLESS_DECLINE
    [decided] = of_type(events, ev.ApprovalDecided)
    assert decided.by == "policy" and decided.decision is ev.ReviewDecision.DENIED
    perms = fake_openai.responses_bodies()[0]["input"][0]["content"][0]["text"]
    assert "headless" in perms


async def test_abort_at_approval_stops_the_turn_and_the_next_request_is_valid(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", PRINT_RAN), shell_call("c2", ["ls"])))
    fake_openai.queue_response(fe.turn(fe.message_item("next turn ok")))
    sess = make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write")
    events = await run_turn(sess, "go", lambda req: ev.ReviewDecision.ABORT)
    assert of_type(events, ev.TurnAborted)
    events = await run_turn(sess, "continue")
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "next turn ok"
    body = fake_openai.responses_bodies()[1]
    outs = outputs_by_call(body)
    assert outs == {"c1": "aborted by user", "c2": "aborted by user"}
    texts = [p["text"] for i in body["input"] if i.get("role") == "user" for p in i["content"]]
    assert TURN_ABORTED_NOTE in texts


async def test_interrupt_kills_the_running_command_and_records_the_abort(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", f"sleep 60 & echo $! > {pidfile}; wait"])))
    fake_openai.queue_response(fe.turn(fe.message_item("resumed")))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("go"))
    async with asyncio.timeout(20):
        while not pidfile.exists() or not pidfile.read_text().strip():
            await asyncio.sleep(0.05)
    await sess.submit(ev.Interrupt())
    events = await collect(sess)
    assert of_type(events, ev.TurnAborted)[0].reason == "interrupted"
    child = int(pidfile.read_text())
    assert process_gone(child)
    await run_turn(sess, "again")
    body = fake_openai.responses_bodies()[1]
    [output] = outputs_by_call(body).values()
    assert output.startswith("Exit code: 130\nWall time: ") and "\naborted by user" in output
    assert json.dumps(body["input"]).count("<turn_aborted>") == 1
