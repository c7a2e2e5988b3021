"""MCP through the real binaries: an elicitation form a server sends while its tool runs, typed
into in tmux as a user types (a burst, Enter between fields, Ctrl+S to send); and a headless
`codeloop exec --full-auto` declining an MCP call, telling the model the setting that would let
it run, which then does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.app_tmux_support import live_app
from tests.engine_support import MCP_ECHO_SERVER, outputs_by_call
from tests.engine_support import mcp_call as call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe


def _configure_echo_server(tmp_path: Path) -> None:
    home = tmp_path / "codeloop-home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[mcp_servers.echo]\n"
        f"command = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(str(MCP_ECHO_SERVER))}]\n"
        'env = { ECHO_SERVER_RICH = "1" }\n'
        "startup_timeout_sec = 120\n",
        encoding="utf-8",
    )


def test_an_elicitation_form_typed_in_the_real_terminal_reaches_the_server(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    _configure_echo_server(tmp_path)
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__ask")))
    fake_openai.queue_response(fe.turn(fe.message_item("deployed")))
    for app in live_app(tmp_path, fake_openai, "--yolo"):
        app.tmux.type_text("deploy it\r")
        app.tmux.wait_for_text("The MCP server echo asks:", timeout_s=120)
        app.tmux.wait_for_text("Ctrl+S send", timeout_s=30)
        app.tmux.type_text("staging\r3\ryes")  # one burst: Enter moves to the next field
        app.tmux.press("C-s")
        app.tmux.wait_for_text("deployed", timeout_s=60)
    bodies = fake_openai.responses_bodies()
    assert outputs_by_call(bodies[1])["c1"] == 'accept: {"confirm": true, "replicas": 3, "target": "staging"}'


def test_exec_full_auto_declines_an_mcp_call_naming_the_setting_and_that_setting_runs_it(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    from tests.exec_support import run_exec

    _configure_echo_server(tmp_path)
    home = tmp_path / "codeloop-home"
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for round_ in ("declined", "approved"):
        fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__echo", text="hello")))
        fake_openai.queue_response(fe.turn(fe.message_item(f"round {round_}")))
        done = run_exec(fake_openai, workspace, home, "--full-auto", "echo hello", timeout=180)
        assert done.returncode == 0, done.stderr
        told = outputs_by_call(fake_openai.responses_bodies()[-1])["c1"]
        if round_ == "declined":
            assert "--full-auto" not in told and 'approval_mode = "approve"' in told and "[mcp_servers.echo.tools.echo]" in told
            with (home / "config.toml").open("a", encoding="utf-8") as config:
                config.write('[mcp_servers.echo.tools.echo]\napproval_mode = "approve"\n')
        else:
            assert told == "hello", "the setting the decline named is the one that lets it run"
