"""MCP tools through the real engine loop: a real stdio server (tests/mcp_echo_server.py, written
with the official SDK), the real SDK client, the local fake Responses server over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import (
    collect,
    echo_server,
    make_session,
    of_type,
    outputs_by_call,
    process_gone,
    run_turn,
)
from tests.engine_support import mcp_call as call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import McpServerConfig
from tui.engine.resume import load_rollout
from tui.engine.rollout import RolloutWriter
from tui.engine.session import Session
from tui.tools.mcp_tool import headless_decline
from tui.tools.mcp import McpManager

LISTED_ORDER = ["sleep", "echo", "add", "fail", "image", "crash", "pid"]  # as the server registers them
BUILTINS = ["shell", "apply_patch", "update_plan"]


@asynccontextmanager
async def mcp_session(
    fake: FakeOpenAI, cwd: Path, servers: dict[str, McpServerConfig], **kwargs: Any
) -> AsyncIterator[Session]:
    kwargs.setdefault("policy", "never")
    sess = make_session(fake, cwd, mcp=McpManager(servers, cwd), **kwargs)
    try:
        yield sess
    finally:
        await sess.submit(ev.Shutdown())


def approve(req: ev.ApprovalRequested) -> ev.ReviewDecision:
    return ev.ReviewDecision.APPROVED


def tools_of(body: dict[str, Any]) -> list[str]:
    return [t["name"] for t in body["tools"]]


async def test_model_calls_an_mcp_tool_after_approval_and_gets_its_output(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__echo", text="hello from MCP")))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    asked: list[ev.ApprovalRequested] = []

    def approve_once(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        asked.append(req)
        return ev.ReviewDecision.APPROVED

    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, policy="untrusted") as sess:
        events = await run_turn(sess, "echo something", approve_once, timeout=120)
    assert of_type(events, ev.TurnCompleted)
    [req] = asked
    assert (req.kind, req.server, req.tool, req.sandboxed) == ("mcp", "echo", "echo", False)
    assert json.loads(req.arguments or "") == {"text": "hello from MCP"}
    assert outputs_by_call(fake_openai.responses_bodies()[1]) == {"c1": "hello from MCP"}
    [began] = of_type(events, ev.McpToolCallBegan)
    [ended] = of_type(events, ev.McpToolCallEnded)
    assert (began.server, began.tool, ended.success, ended.output) == ("echo", "echo", True, "hello from MCP")
    [status] = [e for e in of_type(events, ev.McpServerStatus) if e.state == "ready"]
    assert sorted(status.tools) == sorted(LISTED_ORDER)


async def test_denied_mcp_call_still_gets_an_output_and_never_reaches_the_server(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__crash")))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__echo__echo", text="still alive")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    decisions = iter([ev.ReviewDecision.DENIED, ev.ReviewDecision.APPROVED])
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, policy="on-request", sandbox="workspace-write") as sess:
        events = await run_turn(sess, "go", lambda req: next(decisions), timeout=120)
    outputs = outputs_by_call(fake_openai.responses_bodies()[2])
    assert "declined" in outputs["c1"] and "crash" in outputs["c1"]
    assert outputs["c2"] == "still alive", "the denied crash never ran"
    assert [e.call_id for e in of_type(events, ev.McpToolCallBegan)] == ["c2"]


async def test_approval_for_the_session_covers_that_tool_only(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__echo", text="a")))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__echo__echo", text="b")))
    fake_openai.queue_response(fe.turn(call("c3", "mcp__echo__add", a=2, b=3)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    asked: list[str | None] = []

    def for_session(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        asked.append(req.tool)
        return ev.ReviewDecision.APPROVED_FOR_SESSION

    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, policy="untrusted") as sess:
        await run_turn(sess, "go", for_session, timeout=120)
    assert asked == ["echo", "add"]
    assert outputs_by_call(fake_openai.responses_bodies()[3]) == {"c1": "a", "c2": "b", "c3": "5"}


@pytest.mark.parametrize(("sandbox", "runs"), [("workspace-write", False), ("danger-full-access", True)])
async def test_policy_never_runs_mcp_tools_only_without_a_sandbox(
    fake_openai: FakeOpenAI, tmp_path: Path, sandbox: str, runs: bool
) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__echo", text="x")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, policy="never", sandbox=sandbox) as sess:
        await run_turn(sess, "go", timeout=120)  # an approval request would fail the helper
    out = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert out == "x" if runs else (out.startswith("Not run:") and "never" in out), out


async def test_headless_session_declines_mcp_calls_and_tells_the_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__echo", text="x")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, policy="untrusted", interactive=False) as sess:
        events = await run_turn(sess, "go", timeout=120)
    told = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert told == headless_decline("echo", "echo") and "--full-auto" not in told
    assert [d.by for d in of_type(events, ev.ApprovalDecided)] == ["policy"]


async def test_errors_become_error_outputs_and_images_image_parts(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(
        call("c1", "mcp__echo__fail", message="disk is on fire"),
        call("c2", "mcp__echo__echo", wrong="field"),
        fe.function_call_item("c3", "mcp__echo__echo", "[1, 2]"),
        call("c4", "mcp__echo__image"),
    ))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, sandbox="danger-full-access") as sess:
        events = await run_turn(sess, "go", timeout=120)
    out = outputs_by_call(fake_openai.responses_bodies()[1])
    assert "error" in out["c1"] and "disk is on fire" in out["c1"]
    assert "error" in out["c2"] and "text" in out["c2"], "the server's own validation message"
    assert out["c3"] == "the arguments must be a JSON object."
    assert out["c4"] == [{"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAA=="}]
    success = {e.call_id: e.success for e in of_type(events, ev.ToolCallEnded)}
    assert success == {"c1": False, "c2": False, "c3": False, "c4": True}


async def test_a_call_over_the_tool_timeout_gets_an_error_and_the_server_goes_on(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__sleep", seconds=600)))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__echo__echo", text="after")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server(tool_timeout_sec=1)}, sandbox="danger-full-access") as sess:
        events = await run_turn(sess, "go", timeout=120)
    out = outputs_by_call(fake_openai.responses_bodies()[2])
    assert "within 1 s" in out["c1"] and "tool_timeout_sec" in out["c1"]
    assert out["c2"] == "after"
    ended = {e.call_id: e for e in of_type(events, ev.McpToolCallEnded)}
    assert ended["c1"].timed_out and not ended["c1"].success and not ended["c2"].timed_out


async def test_a_crashed_server_gives_error_outputs_is_reported_and_the_session_goes_on(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__crash")))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__echo__echo", text="anyone?")))
    fake_openai.queue_response(fe.turn(fe.message_item("the server is gone")))
    fake_openai.queue_response(fe.turn(fe.message_item("still here")))
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, sandbox="danger-full-access") as sess:
        events = await run_turn(sess, "go", timeout=120)
        assert of_type(events, ev.TurnCompleted)
        later = await run_turn(sess, "and now?", timeout=120)
        assert sess.mcp is not None and sess.mcp.servers["echo"].state == "failed"
    assert of_type(later, ev.TurnCompleted)
    bodies = fake_openai.responses_bodies()
    out = outputs_by_call(bodies[2])
    assert "stopped while running `crash`" in out["c1"] and "crashing on purpose" in out["c1"], "stderr says why"
    assert out["c2"].startswith("Not run: the MCP server `echo` is not running")
    [failed] = [e for e in of_type(events, ev.McpServerStatus) if e.state == "failed"]
    assert failed.server == "echo" and "crashing on purpose" in (failed.reason or "")
    assert all(b["tools"] == bodies[0]["tools"] for b in bodies), "a crash does not change the tool list"


async def test_tool_list_is_sorted_and_identical_on_every_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__add", a=1, b=1)))
    fake_openai.queue_response(fe.turn(fe.message_item("2")))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__other__echo", text="x")))
    fake_openai.queue_response(fe.turn(fe.message_item("x")))
    servers = {"other": echo_server(env={"ECHO_SERVER_LONG_NAMES": "1"}), "echo": echo_server()}
    async with mcp_session(fake_openai, tmp_path, servers, sandbox="danger-full-access") as sess:
        await run_turn(sess, "one", timeout=120)
        await run_turn(sess, "two", timeout=120)
    bodies = fake_openai.responses_bodies()
    assert len(bodies) == 4
    sent = {json.dumps(b["tools"], separators=(",", ":")) for b in bodies}
    assert len(sent) == 1, "the tools are byte-identical on every request"
    names = tools_of(bodies[0])
    assert names[:3] == BUILTINS
    mcp_names = names[3:]
    assert mcp_names == sorted(mcp_names)
    assert [n for n in mcp_names if n.startswith("mcp__echo__")] != [f"mcp__echo__{t}" for t in LISTED_ORDER]
    assert len(mcp_names) == 2 * len(LISTED_ORDER) + 2
    long_names = [n for n in mcp_names if "too_long" in n]
    assert len(long_names) == 2 and all(len(n) == 64 for n in long_names) and len(set(long_names)) == 2
    spec = next(t for t in bodies[0]["tools"] if t["name"] == "mcp__echo__add")
    assert spec["description"] == "Add two integers." and spec["strict"] is False
    assert spec["parameters"]["properties"]["a"]["type"] == "integer"


async def test_servers_that_fail_to_start_are_reported_and_the_session_goes_on(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    servers = {
        "missing": McpServerConfig(command=str(tmp_path / "no-such-server")),
        "exits": echo_server(env={"ECHO_SERVER_MODE": "exit"}),
        "hangs": echo_server(env={"ECHO_SERVER_MODE": "hang"}, startup_timeout_sec=1),
        "nowhere": echo_server(cwd=tmp_path / "no-such-folder"),
        "echo": echo_server(enabled_tools=["echo"]),
    }
    async with mcp_session(fake_openai, tmp_path, servers) as sess:
        events = await run_turn(sess, "go", timeout=120)
        states = {name: (s.state, s.reason) for name, s in sess.mcp.servers.items()}  # type: ignore[union-attr]
    assert of_type(events, ev.TurnCompleted)
    failed = {e.server: e.reason or "" for e in of_type(events, ev.McpServerStatus) if e.state == "failed"}
    assert set(failed) == {"missing", "exits", "hangs", "nowhere"}
    assert "no-such-folder" in failed["nowhere"] and "is not a folder" in failed["nowhere"]
    assert "cannot run" in failed["missing"] and "No such file" in failed["missing"]
    assert "exited during startup" in failed["exits"] and "refusing to start" in failed["exits"]
    assert "did not start within 1 s" in failed["hangs"] and "hanging on purpose" in failed["hangs"]
    assert states["echo"][0] == "ready"
    assert tools_of(fake_openai.responses_bodies()[0]) == [*BUILTINS, "mcp__echo__echo"]


async def test_enabled_and_disabled_tools_and_servers_filter_what_is_offered(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    servers = {
        "a": echo_server(enabled_tools=["echo", "add", "fail", "not-a-tool"], disabled_tools=["fail"]),
        "b": echo_server(disabled_tools=["crash", "sleep", "pid", "image"]),
        "off": echo_server(enabled=False),
    }
    async with mcp_session(fake_openai, tmp_path, servers) as sess:
        events = await run_turn(sess, "go", timeout=120)
    assert tools_of(fake_openai.responses_bodies()[0]) == [
        *BUILTINS, "mcp__a__add", "mcp__a__echo", "mcp__b__add", "mcp__b__echo", "mcp__b__fail",
    ]
    assert "off" not in {e.server for e in of_type(events, ev.McpServerStatus)}, "a disabled server never starts"


async def test_startup_runs_in_the_background_and_the_first_request_waits_for_it(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    gate = tmp_path / "go-ahead"
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"slow": echo_server(env={"ECHO_SERVER_WAIT_FOR": str(gate)})}) as sess:
        await sess.submit(ev.UserInput("go"))  # returns at once: nothing waits for the server here
        server = sess.mcp.servers["slow"]  # type: ignore[union-attr]
        assert server.state == "starting"
        seen = [await sess.next_event() for _ in range(3)]
        assert not fake_openai.requests, "no request before the tool list is known"
        gate.touch()
        events = seen + await collect(sess, timeout=120)
    assert of_type(events, ev.TurnCompleted)
    assert "mcp__slow__echo" in tools_of(fake_openai.responses_bodies()[0])


async def test_interrupt_cancels_a_pending_mcp_call_and_answers_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__sleep", seconds=600)))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__echo__echo", text="after the interrupt")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, sandbox="danger-full-access") as sess:
        await sess.submit(ev.UserInput("sleep"))
        async with asyncio.timeout(120):
            while not isinstance(await sess.next_event(), ev.McpToolCallBegan):
                pass
        await sess.submit(ev.Interrupt())
        aborted = await collect(sess, timeout=30)
        assert of_type(aborted, ev.TurnAborted)
        assert [(e.call_id, e.success) for e in of_type(aborted, ev.McpToolCallEnded)] == [("c1", False)]
        await run_turn(sess, "go on", timeout=120)
    bodies = fake_openai.responses_bodies()
    assert outputs_by_call(bodies[1])["c1"] == "aborted by user"
    assert outputs_by_call(bodies[2])["c2"] == "after the interrupt", "the server survived the cancelled call"


async def test_shutting_down_the_session_stops_the_server_processes(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__a__pid"), call("c2", "mcp__b__pid")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"a": echo_server(), "b": echo_server()}, sandbox="danger-full-access") as sess:
        await run_turn(sess, "pids", timeout=120)
        pids = [int(v) for v in outputs_by_call(fake_openai.responses_bodies()[1]).values()]
        assert len(set(pids)) == 2 and not any(process_gone(p, wait_s=0) for p in pids)
    assert all(process_gone(p) for p in pids)


async def test_a_resumed_session_is_told_when_the_mcp_tools_changed(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("one")))
    path = tmp_path / "rollout.jsonl"
    async with mcp_session(fake_openai, tmp_path, {"echo": echo_server()}, rollout=RolloutWriter(path)) as sess:
        await run_turn(sess, "first", timeout=120)
    first_tools = fake_openai.responses_bodies()[0]["tools"]
    resumed = load_rollout(path)
    assert resumed.mcp_tools == first_tools[3:]

    for servers, warned in (({"echo": echo_server()}, False), ({"echo": echo_server(disabled_tools=["pid"])}, True)):
        fake_openai.queue_response(fe.turn(fe.message_item("again")))
        async with mcp_session(
            fake_openai, tmp_path, servers, history=resumed.history, recorded_mcp_tools=resumed.mcp_tools
        ) as again:
            events = await run_turn(again, "more", timeout=120)
        warnings = [w.message for w in of_type(events, ev.WarningIssued) if "MCP" in w.message]
        assert bool(warnings) is warned, warnings
        assert (fake_openai.responses_bodies()[-1]["tools"] == first_tools) is not warned
