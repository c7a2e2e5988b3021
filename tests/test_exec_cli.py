"""`codeloop exec` end to end: a real process, the local fake server, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine_support import (
    MCP_ECHO_SERVER,
    mcp_call,
    outputs_by_call,
    process_gone,
    shell_call,
)
from tests.exec_support import exec_workspace, run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.engine.rollout import read_rollout

PATCH = "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b\n*** End Patch\n"


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    return exec_workspace(tmp_path)


def test_exec_runs_a_task_end_to_end(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.reasoning_item("Look first"), shell_call("c1", ["cat", "calc.py"])))
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("c2", "apply_patch", PATCH)))
    fake_openai.queue_response(fe.turn(fe.message_item("Fixed `add` in calc.py.")))
    proc = run_exec(fake_openai, ws, home, "--full-auto", "fix the failing test")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Fixed `add` in calc.py.\n"
    assert "$ cat calc.py" in proc.stderr and "update calc.py (+1 -1)" in proc.stderr
    assert (ws / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    bodies = fake_openai.responses_bodies()
    assert len(bodies) == 3
    assert all(r.headers.get("authorization") == "Bearer test-key" for r in fake_openai.requests)
    # The rollout holds everything resume will need: meta, every item in order, events.
    [rollout] = list((home / "sessions").rglob("rollout-*.jsonl"))
    lines = read_rollout(rollout)
    assert lines[0]["type"] == "session_meta" and lines[0]["payload"]["id"] == bodies[0]["prompt_cache_key"]
    assert lines[0]["payload"]["instructions"] == bodies[0]["instructions"]
    items = [ln["payload"] for ln in lines if ln["type"] == "response_item"]
    assert items[: len(bodies[-1]["input"])] == bodies[-1]["input"]
    assert items[-1]["type"] == "message" and items[-1]["role"] == "assistant"
    assert "test-key" not in rollout.read_text()


def test_exec_reads_the_prompt_from_stdin_and_prints_json_events(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("hello there")))
    proc = run_exec(fake_openai, ws, home, "--json", "-", stdin="say hello\n")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[:2] == ["thread.started", "turn.started"] and types[-1] == "turn.completed"
    assert {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": "hello there"}} in events
    user = fake_openai.responses_bodies()[0]["input"][-1]
    assert user["content"][0]["text"] == "say hello"


def test_exec_declines_what_needs_approval(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("c1", "apply_patch", PATCH)))
    fake_openai.queue_response(fe.turn(fe.message_item("I could not edit.")))
    proc = run_exec(fake_openai, ws, home, "fix it")  # default policy: untrusted
    assert proc.returncode == 0, proc.stderr
    assert (ws / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"
    out = [i for i in fake_openai.responses_bodies()[1]["input"] if i["type"] == "custom_tool_call_output"]
    assert "headless" in out[0]["output"] and "declined" in out[0]["output"]


def test_exec_failure_exits_non_zero_with_a_message(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_http_error(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})
    proc = run_exec(fake_openai, ws, home, "hi")
    assert proc.returncode == 1
    assert "Incorrect API key" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize(
    ("config", "env", "needle"),
    [
        ('modle = "x"\n', {}, "unknown key 'modle'"),
        ('approval_policy = "sometimes"\n', {}, "approval_policy"),
        ("model = [\n", {}, "invalid TOML"),
        ("", {"OPENAI_API_KEY": ""}, "OPENAI_API_KEY is not set"),
    ],
)
def test_exec_bad_config_exits_2_and_does_nothing(
    fake_openai: FakeOpenAI, workspace: tuple[Path, Path], config: str, env: dict, needle: str
) -> None:
    ws, home = workspace
    home.mkdir()
    (home / "config.toml").write_text(config)
    proc = run_exec(fake_openai, ws, home, "hi", env=env)
    assert proc.returncode == 2
    assert needle in proc.stderr and proc.stderr.startswith("codeloop: ")
    assert fake_openai.requests == [] and not (home / "sessions").exists()


def test_exec_over_chat_completions(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    home.mkdir()
    (home / "config.toml").write_text(
        'model = "qwen3-coder"\nmodel_provider = "local"\n'
        f'[model_providers.local]\nbase_url = "{fake_openai.base_url}"\nwire_api = "chat"\n'
    )
    fake_openai.queue_chat(fe.chat_tool_call_chunks([("call_1", "shell", json.dumps({"command": ["cat", "calc.py"]}))]) + [fe.chat_usage_chunk()])
    fake_openai.queue_chat(fe.chat_text_chunks("It subtracts."))
    proc = run_exec(fake_openai, ws, home, "--full-auto", "what does add do?")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "It subtracts.\n"
    second = fake_openai.chat_bodies()[1]
    roles = [m["role"] for m in second["messages"]]
    assert roles[:3] == ["system", "system", "user"] and roles[-2:] == ["assistant", "tool"]
    assert "return a - b" in second["messages"][-1]["content"]
    assert all(t["type"] == "function" for t in second["tools"])


def test_sigint_kills_the_running_command_and_exits_130(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    import signal
    import time

    ws, home = workspace
    pidfile = ws / "child.pid"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", f"sleep 120 & echo $! > {pidfile}; wait"])))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
    base.update({"CODELOOP_HOME": str(home), "OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "test-key"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "exec", "--yolo", "wait"], cwd=ws, env=base,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    child = int(pidfile.read_text())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert "turn aborted" in err
    assert process_gone(child)
    [rollout] = list((home / "sessions").rglob("rollout-*.jsonl"))
    items = [ln["payload"] for ln in read_rollout(rollout) if ln["type"] == "response_item"]
    [output] = [i["output"] for i in items if i["type"] == "function_call_output"]
    assert output.startswith("Exit code: 130\nWall time: ") and "\naborted by user" in output
    assert "<turn_aborted>" in items[-1]["content"][0]["text"]


def test_sandboxed_mode_refuses_without_bwrap(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.config import load_config, resolve_provider
    from tui.engine import bootstrap
    from tui.safety.sandbox import SandboxUnavailable

    ws, home = workspace
    monkeypatch.setattr(bootstrap, "bwrap_problem", lambda: "bwrap was not found; install it: apt-get install bubblewrap")
    import argparse

    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "k", "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(ws), sandbox_mode="workspace-write"), env=env)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        bootstrap.build_session(rc, resolve_provider(rc, env), interactive=False)
    rc = load_config(argparse.Namespace(cd=str(ws), sandbox_mode="danger-full-access"), env=env)
    assert bootstrap.build_session(rc, resolve_provider(rc, env), interactive=False, write_rollout=False)


def test_shell_environment_policy_from_config_reaches_commands(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    home.mkdir()
    (home / "config.toml").write_text('[shell_environment_policy]\nset = { CODELOOP_PROBE = "from-config" }\n')
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", "echo probe=$CODELOOP_PROBE key=${OPENAI_API_KEY:-unset}"])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    proc = run_exec(fake_openai, ws, home, "--yolo", "env")
    assert proc.returncode == 0, proc.stderr
    out = [i for i in fake_openai.responses_bodies()[1]["input"] if i["type"] == "function_call_output"][0]["output"]
    assert "probe=from-config" in out and "key=unset" in out


def test_exec_reports_a_failed_mcp_server_and_uses_the_working_one(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(mcp_call("c1", "mcp__echo__add", a=20, b=22)))
    fake_openai.queue_response(fe.turn(fe.message_item("It is 42.")))
    proc = run_exec(
        fake_openai, ws, home, "--yolo",
        "-c", f'mcp_servers.echo.command="{sys.executable}"',
        "-c", f'mcp_servers.echo.args=["{MCP_ECHO_SERVER}"]',
        "-c", "mcp_servers.echo.startup_timeout_sec=60",
        "-c", f'mcp_servers.broken.command="{ws / "no-such-server"}"',
        "add 20 and 22",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "It is 42.\n"
    assert "warning: MCP server 'broken' failed: cannot run" in proc.stderr
    assert "mcp echo › add" in proc.stderr
    assert outputs_by_call(fake_openai.responses_bodies()[1]) == {"c1": "42"}
