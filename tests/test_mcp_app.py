"""MCP in the app (Textual Pilot): /mcp, failure notices, the approval modal and the call cell."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import type_text, until, until_approval_ready
from tests.engine_support import echo_server, make_session, outputs_by_call
from tests.engine_support import mcp_call as call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import McpCallCell, NoticeCell
from tui.config import McpServerConfig
from tui.tools.mcp import McpManager

SIZE = (140, 40)


WAIT_S = 120.0  # real server processes: generous, never the measure of anything


async def _slash(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await type_text(pilot, text)
    await pilot.press("enter")


def _notices(app: CodeloopApp) -> list[str]:
    return [str(n.render()) for n in app.query(NoticeCell)]


def _app(fake: FakeOpenAI, cwd: Path, servers: dict[str, McpServerConfig], **kwargs: object) -> CodeloopApp:
    return CodeloopApp(make_session(fake, cwd, mcp=McpManager(servers, cwd), **kwargs))


async def test_slash_mcp_lists_servers_states_and_tools(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    gate = tmp_path / "go-ahead"
    servers = {
        "echo": echo_server(enabled_tools=["echo", "add"]),
        "missing": McpServerConfig(command=str(tmp_path / "no-such-server")),
        "off": echo_server(enabled=False),
        "slow": echo_server(env={"ECHO_SERVER_WAIT_FOR": str(gate)}),
    }
    app = _app(fake_openai, tmp_path, servers)
    async with app.run_test(size=SIZE) as pilot:
        mcp = app.session.mcp
        assert mcp is not None
        await until(pilot, lambda: mcp.servers["echo"].state == "ready" and mcp.servers["missing"].state == "failed", WAIT_S)
        await _slash(pilot, "/mcp")
        await until(pilot, lambda: any(n.startswith("MCP servers:") for n in _notices(app)), WAIT_S)
        listing = next(n for n in _notices(app) if n.startswith("MCP servers:"))
        assert "echo: ready, 2 tools" in listing
        assert "mcp__echo__add  Add two integers." in listing and "mcp__echo__echo" in listing
        assert "mcp__echo__sleep" not in listing
        assert "missing: failed: cannot run" in listing
        assert "off: disabled (enabled = false)" in listing
        assert "slow: starting…" in listing
        assert any("MCP server 'missing' failed" in n for n in _notices(app)), "a failure is shown when it happens"
        gate.touch()
        await until(pilot, lambda: mcp.servers["slow"].state == "ready", WAIT_S)
        await app.session.submit(ev.Shutdown())


async def test_slash_mcp_without_servers_says_how_to_add_one(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _slash(pilot, "/mcp")
        await until(pilot, lambda: any("No MCP servers" in n for n in _notices(app)), WAIT_S)
        assert any("[mcp_servers.NAME]" in n for n in _notices(app))


async def test_mcp_approval_modal_shows_server_tool_and_arguments_and_y_runs_it(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__echo", text="shown in the modal")))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    app = _app(fake_openai, tmp_path, {"echo": echo_server()}, policy="untrusted")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g", "o", "enter")
        await until_approval_ready(pilot, app, WAIT_S)
        modal = app.screen
        text = " ".join(str(w.render()) for w in modal.query("Label, Static"))
        assert "Call this MCP tool?" in text
        assert "server echo" in text and "tool echo" in text
        assert '"text": "shown in the modal"' in text and "outside the sandbox" in text
        await pilot.press("y")
        await until(
            pilot,
            lambda: not app.session.turn_running and bool(app.query(McpCallCell)) and app.query_one(McpCallCell).result is not None,
            WAIT_S,
        )
        cell = app.query_one(McpCallCell)
        rendered = str(cell.render())
        assert "echo › echo" in rendered and cell.result is not None and "done" in cell.result
        assert "shown in the modal" in cell.result
        await app.session.submit(ev.Shutdown())
    assert outputs_by_call(fake_openai.responses_bodies()[1]) == {"c1": "shown in the modal"}


async def test_mcp_call_cell_shows_progress_live_and_then_the_result(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__progress", steps=40, delay=0.25)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    app = _app(fake_openai, tmp_path, {"echo": echo_server(env={"ECHO_SERVER_RICH": "1"})})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g", "o", "enter")
        await until(pilot, lambda: bool(app.query(McpCallCell)) and "of 40" in str(app.query_one(McpCallCell).render()), WAIT_S)
        live = str(app.query_one(McpCallCell).render())
        assert "running…" in live and "/40 · step " in live
        await until(pilot, lambda: not app.session.turn_running and app.query_one(McpCallCell).result is not None, WAIT_S)
        cell = app.query_one(McpCallCell)
        assert cell.result is not None and "40 steps done" in cell.result
        assert "step " not in str(cell.render()), "the progress line goes once the call ended"
        await app.session.submit(ev.Shutdown())


async def test_an_elicitation_form_keeps_bad_input_with_a_reason_and_sends_the_values(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from textual.widgets import Input

    from tui.app.screens.elicitation import ElicitationScreen

    fake_openai.queue_response(fe.turn(call("c1", "mcp__echo__ask")))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__echo__ask")))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    app = _app(fake_openai, tmp_path, {"echo": echo_server(env={"ECHO_SERVER_RICH": "1"})})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g", "o", "enter")
        await until(pilot, lambda: isinstance(app.screen, ElicitationScreen) and isinstance(app.focused, Input), WAIT_S)
        form = app.screen
        shown = " ".join(str(w.render()) for w in form.query("Label, Static"))
        assert "The MCP server echo asks:" in shown and "Target (required)" in shown and "Where to deploy" in shown
        assert "\x1b" not in shown and "Deploy" in shown
        await type_text(pilot, "staging")
        await pilot.press("enter")  # Enter moves on: it never sends
        assert isinstance(app.screen, ElicitationScreen)
        await type_text(pilot, "three")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "a whole number" in str(form.query_one("#problem").render()), WAIT_S)
        assert [i.value for i in form.query(Input)] == ["staging", "three", ""], "nothing typed is lost"
        form.query_one("#field-1", Input).value = "3"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ElicitationScreen) and app.screen is not form, WAIT_S)
        await pilot.press("escape")  # the second form: cancelled
        await until(pilot, lambda: not app.session.turn_running and len(fake_openai.responses_bodies()) == 3, WAIT_S)
        await app.session.submit(ev.Shutdown())
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"] == 'accept: {"confirm": false, "replicas": 3, "target": "staging"}'
    assert outputs_by_call(fake_openai.responses_bodies()[2])["c2"] == "cancel: null"
