"""`codeloop exec --json` speaks Codex's `exec --json`: real runs against the local fake server,
every stdout line checked against Codex's event schema (tests/exec_json_support.py)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.engine_support import mcp_call, outputs_by_call
from tests.exec_json_support import MCP_ECHO_FLAGS, codex_events, codex_only, items
from tests.exec_support import exec_workspace, patch, run_exec, shell, start_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.leaks_support import raw_controls

CALC = "def add(a, b):\n    return a - b\n"
FIX = "*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b"


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    return exec_workspace(tmp_path, CALC)


def plan(call_id: str, *steps: tuple[str, str]) -> list[dict]:
    arguments = {"plan": [{"step": step, "status": status} for step, status in steps]}
    return fe.function_call_item(call_id, "update_plan", json.dumps(arguments))


def test_a_whole_task_prints_codexs_lines_in_codexs_order(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.reasoning_item("Read the file first."), fe.message_item("Looking."), shell("c1", ["cat", "calc.py"])))
    fake_openai.queue_response(fe.turn(plan("p1", ("fix add", "in_progress"), ("run the tests", "pending"))))
    fake_openai.queue_response(fe.turn(shell("c2", "echo one; echo two >&2; exit 3")))
    fake_openai.queue_response(fe.turn(patch("c3", FIX + "\n*** Add File: notes.txt\n+fixed")))
    fake_openai.queue_response(fe.turn(plan("p2", ("fix add", "completed"), ("run the tests", "completed"))))
    fake_openai.queue_response(fe.turn(fe.message_item("All done.")))
    proc = run_exec(fake_openai, ws, home, "--json", "--full-auto", "fix the failing test")
    assert proc.returncode == 0, proc.stderr
    events = codex_events(proc.stdout)
    body = fake_openai.responses_bodies()[0]
    codex = codex_only(events)
    assert codex[0] == {"type": "thread.started", "thread_id": body["prompt_cache_key"]}
    assert codex[1] == {"type": "turn.started"}
    assert [(e["type"], e.get("item", {}).get("id"), e.get("item", {}).get("type")) for e in codex[2:-1]] == [
        ("item.completed", "item_0", "reasoning"),
        ("item.completed", "item_1", "agent_message"),
        ("item.started", "item_2", "command_execution"),
        ("item.completed", "item_2", "command_execution"),
        ("item.started", "item_3", "todo_list"),
        ("item.started", "item_4", "command_execution"),
        ("item.completed", "item_4", "command_execution"),
        ("item.started", "item_5", "file_change"),
        ("item.completed", "item_5", "file_change"),
        ("item.updated", "item_3", "todo_list"),
        ("item.completed", "item_6", "agent_message"),
        ("item.completed", "item_3", "todo_list"),  # Codex completes the list when the turn ends
    ]
    reasoning, intermediate, final = items(events, "reasoning") + items(events, "agent_message")
    assert reasoning["text"] == "Read the file first." and intermediate["text"] == "Looking." and final["text"] == "All done."
    started, failed_start = items(events, "command_execution", phase="item.started")
    assert started == {"id": "item_2", "type": "command_execution", "command": "cat calc.py", "aggregated_output": "", "exit_code": None, "status": "in_progress"}
    cat, failed = items(events, "command_execution")
    assert cat == {**started, "aggregated_output": CALC, "exit_code": 0, "status": "completed"}
    assert failed_start["command"] == "bash -lc 'echo one; echo two >&2; exit 3'"
    assert failed["exit_code"] == 3 and failed["status"] == "failed" and "one\n" in failed["aggregated_output"] and "two" in failed["aggregated_output"]
    [change] = items(events, "file_change")
    assert change["changes"] == [{"path": str(ws / "calc.py"), "kind": "update"}, {"path": str(ws / "notes.txt"), "kind": "add"}]
    assert change["status"] == "completed" and (ws / "notes.txt").read_text() == "fixed\n"
    [todo] = items(events, "todo_list")
    assert todo["items"] == [{"text": "fix add", "completed": True}, {"text": "run the tests", "completed": True}]
    assert items(events, "todo_list", phase="item.started")[0]["items"][0] == {"text": "fix add", "completed": False}
    # The turn's usage is the sum of its responses' (each also shown as a codeloop extra).
    per_response = [e for e in events if e["type"] == "codeloop.token_usage"]
    usage = codex[-1]["usage"]
    assert codex[-1]["type"] == "turn.completed" and len(per_response) == 6
    for field, source in [("input_tokens", "input_tokens"), ("cached_input_tokens", "cached_input_tokens"), ("output_tokens", "output_tokens"), ("reasoning_output_tokens", "reasoning_tokens")]:
        assert usage[field] == sum(e[source] for e in per_response)
    assert usage["input_tokens"] > 0
    # stdout holds only these lines; the policy line and nothing else of ours is on stderr.
    assert proc.stderr.startswith("approvals: on-request · sandbox: workspace-write")


def test_declined_calls_are_items_a_codex_reader_understands(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """Under the default policy nobody can approve: the command is `declined`, the patch and the
    MCP call `failed` (Codex's mapping), each saying what it would have done; nothing ran."""
    ws, home = workspace
    fake_openai.queue_response(fe.turn(shell("c1", "touch ran")))
    fake_openai.queue_response(fe.turn(patch("c2", FIX)))
    fake_openai.queue_response(fe.turn(mcp_call("c3", "mcp__echo__add", a=20, b=22)))
    fake_openai.queue_response(fe.turn(fe.message_item("I could not.")))
    proc = run_exec(fake_openai, ws, home, "--json", *MCP_ECHO_FLAGS, "go")
    assert proc.returncode == 0, proc.stderr
    events = codex_events(proc.stdout)
    assert items(events, phase="item.started") == []  # nothing started
    [command] = items(events, "command_execution")
    assert command == {"id": "item_0", "type": "command_execution", "command": "bash -lc 'touch ran'", "aggregated_output": "", "exit_code": None, "status": "declined"}
    [change] = items(events, "file_change")
    assert change == {"id": "item_1", "type": "file_change", "changes": [{"path": str(ws / "calc.py"), "kind": "update"}], "status": "failed"}
    [call] = items(events, "mcp_tool_call")
    assert (call["server"], call["tool"], call["arguments"], call["status"], call["result"]) == ("echo", "add", {"a": 20, "b": 22}, "failed", None)
    assert "nobody to ask" in call["error"]["message"]
    reasons = {e["call_id"]: e["reason"] for e in events if e["type"] == "codeloop.declined"}
    assert set(reasons) == {"c1", "c2", "c3"} and "untrusted" in reasons["c1"]
    assert not (ws / "ran").exists() and (ws / "calc.py").read_text() == CALC
    assert "approvals: untrusted" in proc.stderr and "--full-auto" in proc.stderr


def test_an_mcp_call_starts_and_completes_with_its_result(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(mcp_call("c1", "mcp__echo__add", a=20, b=22)))
    fake_openai.queue_response(fe.turn(mcp_call("c2", "mcp__echo__fail", message="no such record")))
    fake_openai.queue_response(fe.turn(fe.message_item("It is 42.")))
    proc = run_exec(fake_openai, ws, home, "--json", "--yolo", *MCP_ECHO_FLAGS, "add 20 and 22")
    assert proc.returncode == 0, proc.stderr
    events = codex_events(proc.stdout)
    started = items(events, "mcp_tool_call", phase="item.started")
    assert started[0] == {"id": "item_0", "type": "mcp_tool_call", "server": "echo", "tool": "add", "arguments": {"a": 20, "b": 22}, "result": None, "error": None, "status": "in_progress"}
    added, failed = items(events, "mcp_tool_call")
    assert added == {**started[0], "status": "completed", "result": {"content": [{"type": "text", "text": "42"}], "structured_content": None}}
    assert failed["id"] == "item_1" and failed["status"] == "failed" and "no such record" in failed["error"]["message"]
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"] == "42"


def test_a_hosted_web_search_is_a_web_search_item(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    query = "python 3.13 release date"
    fake_openai.queue_response(fe.turn(fe.web_search_call_item(query, item_id="ws_1"), fe.message_item("October 2024.")))
    proc = run_exec(fake_openai, ws, home, "--json", "-c", "tools.web_search=true", "when?")
    assert proc.returncode == 0, proc.stderr
    events = codex_events(proc.stdout)
    [search] = items(events, "web_search")
    assert search == {"id": "item_0", "type": "web_search", "query": query, "action": {"type": "search", "query": query}}


def test_a_failed_turn_prints_error_then_turn_failed_and_exits_1(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    error = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    fake_openai.queue_http_error(401, error)
    proc = run_exec(fake_openai, ws, home, "--json", "hi")
    assert proc.returncode == 1
    codex = codex_only(codex_events(proc.stdout))
    assert [e["type"] for e in codex] == ["thread.started", "turn.started", "error", "turn.failed"]
    assert "Incorrect API key" in codex[2]["message"] and codex[3]["error"]["message"] == codex[2]["message"]
    assert "codeloop: turn failed: " in proc.stderr


def test_an_interrupted_turn_ends_its_command_item_and_says_why(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """Codex prints no turn line for an interrupt; ours ends the running item (failed) and adds
    `codeloop.turn_aborted`, and exec exits 130."""
    ws, home = workspace
    flag = ws / "started"
    fake_openai.queue_response(fe.turn(shell("c1", f"echo started; touch {flag}; sleep 120")))
    proc = start_exec(fake_openai, ws, home, "--json", "--yolo", "wait")
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if json.loads(line)["type"] == "item.started":
                break
        deadline = time.monotonic() + 30
        while not flag.exists():  # the command runs: the signal interrupts it, not its start
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    events = codex_events("".join(lines) + out)
    [command] = items(events, "command_execution")
    assert command["status"] == "failed" and command["id"] == "item_0" and command["aggregated_output"].startswith("started\n")
    assert events[-1]["type"] == "codeloop.turn_aborted" and not any(e["type"].startswith("turn.") and e["type"] != "turn.started" for e in events)


def test_json_lines_keep_hostile_text_exact_and_escape_every_control(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """Model text, command output and file names full of escape sequences: exact in the JSON (a
    program reads it), every control character a JSON escape (C1 too), so stdout cannot drive a
    terminal that shows it."""
    ws, home = workspace
    hostile = "title\x1b]2;pwned\x07 clip\x1b]52;c;cm0gLXJmIH4=\x07 csi\x9b31m osc\x9d0;x\x9c end"
    fake_openai.queue_response(fe.turn(fe.reasoning_item(hostile), shell("c1", ["printf", "%s", hostile])))
    fake_openai.queue_response(fe.turn(patch("c2", "*** Add File: evil\x1b]2;T\x07name.txt\n+hi")))
    fake_openai.queue_response(fe.turn(fe.message_item(hostile)))
    proc = run_exec(fake_openai, ws, home, "--json", "--full-auto", "go")
    assert proc.returncode == 0, proc.stderr
    assert raw_controls(proc.stdout) == [] and raw_controls(proc.stderr) == []
    events = codex_events(proc.stdout)
    assert items(events, "agent_message")[0]["text"] == hostile and items(events, "reasoning")[0]["text"] == hostile
    assert items(events, "command_execution")[0]["aggregated_output"] == hostile
    assert "\\u001b" in proc.stdout and "\\u009b" in proc.stdout and "\\u009d" in proc.stdout


def test_engine_events_keeps_codeloops_own_lines(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("hello there")))
    proc = run_exec(fake_openai, ws, home, "--engine-events", "hi")
    assert proc.returncode == 0, proc.stderr
    types = [json.loads(line)["type"] for line in proc.stdout.splitlines()]
    assert types[0] == "session_configured" and types[-1] == "turn_completed" and "agent_message_delta" in types
    both = run_exec(fake_openai, ws, home, "--engine-events", "--json", "hi")
    assert both.returncode == 2 and "pick one" in both.stderr and both.stdout == ""


def test_codeloops_extras_are_lines_a_codex_reader_skips(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """A retry, an automatic compaction and a failed MCP server: Codex has no line for the first
    two (ours are `codeloop.*`), and reports a warning as an `error` item, as we do."""
    ws, home = workspace
    rate_limited = {"error": {"message": "Rate limit reached.", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    fake_openai.queue_http_error(429, rate_limited, headers={"retry-after": "0.01"})
    fake_openai.queue_response(fe.turn(shell("c1", ["echo", "hi"]), usage=fe.usage(6_000, 200)))
    fake_openai.queue_compact(fe.compacted(["go"]))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    broken = ("-c", f'mcp_servers.broken.command="{ws / "no-such-server"}"')
    proc = run_exec(fake_openai, ws, home, "--json", "--full-auto", "-c", "model_auto_compact_token_limit=5000", *broken, "go")
    assert proc.returncode == 0, proc.stderr
    events = codex_events(proc.stdout)
    types = [e["type"] for e in events]
    assert "codeloop.stream_retrying" in types
    assert types.index("codeloop.compaction_started") < types.index("codeloop.compaction_done")
    done = events[types.index("codeloop.compaction_done")]
    assert (done["method"], done["reason"]) == ("remote", "auto") and done["before_tokens"] > done["after_tokens"]
    [warning] = items(events, "error")
    assert "MCP server 'broken' failed" in warning["message"]
    assert [e["type"] for e in codex_only(events)][-1] == "turn.completed"


def test_a_codex_exec_command_line_runs_as_written(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path) -> None:
    """The flags scripts pass to `codex exec` (outside a git repository, as here) work unchanged."""
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    out = tmp_path / "last.txt"
    proc = run_exec(
        fake_openai, ws, home,
        "--skip-git-repo-check", "--json", "--color", "never", "-s", "workspace-write", "--full-auto",
        "-m", "gpt-5.5", "-C", str(ws), "--output-last-message", str(out), "say ok",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert items(codex_events(proc.stdout), "agent_message")[0]["text"] == "ok" and out.read_text() == "ok"
