"""Remote MCP servers (`url`, Codex's keys) over streamable HTTP: a real SDK server on 127.0.0.1
(tests/mcp_echo_server.py with ECHO_SERVER_HTTP_TOKEN), the SDK's client, the real engine loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_support import MCP_ECHO_SERVER, make_session, of_type, outputs_by_call, run_turn
from tests.engine_support import mcp_call as call
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import McpServerConfig, load_config
from tui.safety.redact import redact
from tui.tools.mcp import McpManager

TOKEN = "tok-remote-7f3a9c2e51"
KEY = "key-remote-0b8d44"


@pytest.fixture
def remote_url() -> Iterator[str]:
    """The server's endpoint, once it listens (its first stdout line is the port)."""
    env = {**os.environ, "ECHO_SERVER_HTTP_TOKEN": TOKEN, "ECHO_SERVER_HTTP_KEY": KEY}
    proc = subprocess.Popen([sys.executable, str(MCP_ECHO_SERVER)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def remote(url: str, **fields: object) -> McpServerConfig:
    return McpServerConfig.model_validate(
        {
            "url": url,
            "bearer_token_env_var": "REMOTE_MCP_TOKEN",
            "http_headers": {"X-Team": "blue"},
            "env_http_headers": {"X-Key": "REMOTE_MCP_KEY"},
            "startup_timeout_sec": 120,
            **fields,
        }
    )


@pytest.fixture
def remote_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMOTE_MCP_TOKEN", TOKEN)
    monkeypatch.setenv("REMOTE_MCP_KEY", KEY)


async def test_a_remote_tool_call_passes_the_approval_policy_and_returns_its_output(
    fake_openai: FakeOpenAI, tmp_path: Path, remote_url: str, remote_env: None
) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__far__echo", text="hello over HTTP")))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    asked: list[ev.ApprovalRequested] = []

    def approve_once(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        asked.append(req)
        return ev.ReviewDecision.APPROVED

    sess = make_session(fake_openai, tmp_path, policy="untrusted", mcp=McpManager({"far": remote(remote_url)}, tmp_path))
    try:
        events = await run_turn(sess, "echo it", approve_once, timeout=120)
    finally:
        await sess.submit(ev.Shutdown())
    [req] = asked
    assert (req.kind, req.server, req.tool, req.sandboxed) == ("mcp", "far", "echo", False)
    assert json.loads(req.arguments or "") == {"text": "hello over HTTP"}
    assert outputs_by_call(fake_openai.responses_bodies()[1]) == {"c1": "hello over HTTP"}
    [ready] = [e for e in of_type(events, ev.McpServerStatus) if e.state == "ready"]
    assert "echo" in ready.tools and "add" in ready.tools


async def test_a_denied_remote_call_never_reaches_the_server(
    fake_openai: FakeOpenAI, tmp_path: Path, remote_url: str, remote_env: None
) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__far__crash")))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__far__add", a=2, b=3)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    decisions = iter([ev.ReviewDecision.DENIED, ev.ReviewDecision.APPROVED])
    mcp = McpManager({"far": remote(remote_url)}, tmp_path)
    sess = make_session(fake_openai, tmp_path, policy="on-request", sandbox="workspace-write", mcp=mcp)
    try:
        await run_turn(sess, "go", lambda req: next(decisions), timeout=120)
    finally:
        await sess.submit(ev.Shutdown())
    outputs = outputs_by_call(fake_openai.responses_bodies()[2])
    assert "declined" in outputs["c1"]
    assert outputs["c2"] == "5", "the server still runs: the denied crash never reached it"


async def test_a_wrong_token_fails_the_server_without_showing_the_token(
    tmp_path: Path, remote_url: str, remote_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMOTE_MCP_TOKEN", "tok-wrong-c0ffee1234")
    seen: list[ev.Event] = []
    mcp = McpManager({"far": remote(remote_url)}, tmp_path)
    mcp.bind(seen.append)
    mcp.start()
    await mcp.wait_started()
    await mcp.close()
    [failed] = [e for e in seen if isinstance(e, ev.McpServerStatus) and e.state == "failed"]
    assert failed.reason and remote_url in failed.reason
    assert "tok-wrong-c0ffee1234" not in failed.reason and mcp.offered_tools() == []
    assert redact("Bearer tok-wrong-c0ffee1234") != "Bearer tok-wrong-c0ffee1234"


async def test_an_unset_token_variable_is_named_and_the_session_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMOTE_MCP_TOKEN", raising=False)
    seen: list[ev.Event] = []
    mcp = McpManager({"far": remote("http://127.0.0.1:9/mcp")}, tmp_path)
    mcp.bind(seen.append)
    mcp.start()
    await mcp.wait_started()
    await mcp.close()
    [failed] = [e for e in seen if isinstance(e, ev.McpServerStatus) and e.state == "failed"]
    assert failed.reason == "cannot connect: bearer_token_env_var: the variable REMOTE_MCP_TOKEN is not set"


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({}, "set `command` (a server started over stdio) or `url` (a remote server)"),
        ({"command": "x", "url": "https://example.com/mcp"}, "set either `command` or `url`, not both"),
        ({"url": "https://example.com/mcp", "args": ["-v"]}, "args do not apply to a remote (`url`) server"),
        ({"command": "x", "bearer_token_env_var": "T"}, "bearer_token_env_var do not apply to a stdio (`command`) server"),
        ({"url": "ftp://example.com"}, "`url` must start with http:// or https://, got 'ftp://example.com'"),
    ],
)
async def test_an_entry_codeloop_cannot_use_is_skipped_with_a_warning_naming_it(
    tmp_path: Path, entry: dict[str, object], why: str
) -> None:
    seen: list[ev.Event] = []
    mcp = McpManager({"odd": McpServerConfig.model_validate(entry), "fine": remote("http://127.0.0.1:9/mcp", enabled=False)}, tmp_path)
    mcp.bind(seen.append)
    mcp.start()
    await mcp.wait_started()
    assert [e.message for e in seen if isinstance(e, ev.WarningIssued)] == [
        f"MCP server `odd` skipped: {why} (mcp_servers.odd in config.toml)"
    ]
    assert list(mcp.servers) == ["fine"]


def test_a_codex_style_remote_entry_loads_with_its_keys(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[mcp_servers.docs]\nurl = "https://mcp.example.com/mcp"\nbearer_token_env_var = "DOCS_TOKEN"\n'
        'http_headers = { "X-Team" = "blue" }\nenv_http_headers = { "X-Key" = "DOCS_KEY" }\n'
    )
    server = load_config(env={"CODELOOP_HOME": str(tmp_path), "HOME": str(tmp_path)}).config.mcp_servers["docs"]
    assert (server.url, server.command, server.bearer_token_env_var) == ("https://mcp.example.com/mcp", None, "DOCS_TOKEN")
    assert (server.http_headers, server.env_http_headers) == ({"X-Team": "blue"}, {"X-Key": "DOCS_KEY"})
    assert server.transport_problem() is None


def test_exec_warns_of_a_skipped_entry_by_name_and_runs_on(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """Today's "command is required" stop, gone: the entry is named in a warning, the turn runs."""
    home, ws = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    (home / "config.toml").write_text('[mcp_servers.half]\nargs = ["--stdio"]\n')
    fake_openai.queue_response(fe.turn(fe.message_item("fine")))
    proc = run_exec(fake_openai, ws, home, "hi")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "fine\n"
    assert (
        "warning: MCP server `half` skipped: set `command` (a server started over stdio) or `url` "
        "(a remote server) (mcp_servers.half in config.toml)"
    ) in proc.stderr


async def test_an_unreachable_server_is_reported_without_the_credentials_in_its_url(tmp_path: Path) -> None:
    seen: list[ev.Event] = []
    url = "http://user:hunter2pass@127.0.0.1:9/mcp?key=zzzsecret"
    mcp = McpManager({"far": McpServerConfig(url=url, startup_timeout_sec=120)}, tmp_path)
    mcp.bind(seen.append)
    mcp.start()
    await mcp.wait_started()
    await mcp.close()
    [failed] = [e for e in seen if isinstance(e, ev.McpServerStatus) and e.state == "failed"]
    assert failed.reason and failed.reason.startswith("cannot use 'http://127.0.0.1:9/mcp': ")
    assert "hunter2pass" not in failed.reason and "zzzsecret" not in failed.reason
