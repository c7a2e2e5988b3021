"""MCP resources through Codex's three tools (`list_mcp_resources`, `list_mcp_resource_templates`,
`read_mcp_resource`), through the approval gate as reads. The SDK echo server with
ECHO_SERVER_RICH=1 (it serves resources), the real engine loop, the fake Responses server."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import echo_server, make_session, of_type, outputs_by_call, run_turn
from tests.engine_support import mcp_call as call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import McpServerConfig
from tui.tools.mcp import McpManager

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)
RESOURCE_TOOLS = ["list_mcp_resource_templates", "list_mcp_resources", "read_mcp_resource"]


def rich_server(**fields: Any) -> McpServerConfig:
    return echo_server(env={"ECHO_SERVER_RICH": "1"}, **fields)


async def run_calls(fake: FakeOpenAI, tmp_path: Path, servers: dict[str, McpServerConfig], calls: list[list[dict[str, Any]]],
                    asked: list[str | None] | None = None, **kwargs: Any) -> tuple[dict[str, Any], list[ev.Event]]:  # fmt: skip
    """Each call in its own model turn, approvals granted (and recorded in `asked`)."""
    for item in calls:
        fake.queue_response(fe.turn(item))
    fake.queue_response(fe.turn(fe.message_item("done")))
    kwargs.setdefault("policy", "on-request")
    kwargs.setdefault("sandbox", "workspace-write")

    def approve(req: ev.ApprovalRequested) -> ev.ReviewDecision:
        if asked is None:
            raise AssertionError(f"unexpected approval request: {req}")
        asked.append(req.tool)
        return ev.ReviewDecision.APPROVED

    sess = make_session(fake, tmp_path, mcp=McpManager(servers, tmp_path), **kwargs)
    try:
        events = await run_turn(sess, "go", approve, timeout=120)
    finally:
        await sess.submit(ev.Shutdown())
    assert of_type(events, ev.TurnCompleted)
    return outputs_by_call(fake.responses_bodies()[-1]), events


async def test_resource_tools_are_offered_only_when_a_server_has_resources(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    await run_calls(fake_openai, tmp_path, {"plain": echo_server()}, [])
    await run_calls(fake_openai, tmp_path, {"plain": echo_server(), "rich": rich_server()}, [])
    without, with_resources = ([t["name"] for t in b["tools"]] for b in fake_openai.responses_bodies())
    assert not set(RESOURCE_TOOLS) & set(without)
    assert set(RESOURCE_TOOLS) <= set(with_resources)
    mcp = with_resources[3:]
    assert mcp == sorted(mcp), "one sorted list: the prompt cache sees the same bytes every request"
    spec = next(t for t in fake_openai.responses_bodies()[1]["tools"] if t["name"] == "read_mcp_resource")
    assert spec["parameters"]["required"] == ["server", "uri"]


async def test_listing_and_reading_resources_run_unasked_under_on_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    out, events = await run_calls(fake_openai, tmp_path, {"docs": rich_server(), "plain": echo_server()}, [
        call("c1", "list_mcp_resources"),
        call("c2", "list_mcp_resource_templates", server="docs"),
        call("c3", "read_mcp_resource", server="docs", uri="file:///notes/readme.md"),
        call("c4", "read_mcp_resource", server="docs", uri="file:///notes/logo.png"),
        call("c5", "read_mcp_resource", server="docs", uri="note://deploys"),
    ])  # fmt: skip
    listed = json.loads(out["c1"])
    assert listed["server"] == "docs" and listed["next_cursor"] is None
    by_uri = {r["uri"]: r for r in listed["resources"]}
    assert by_uri["file:///notes/readme.md"]["description"] == "The notes' readme"
    assert by_uri["file:///notes/logo.png"]["mime_type"] == "image/png"
    assert json.loads(out["c2"])["resource_templates"][0]["uri_template"] == "note://{topic}"
    assert out["c3"] == "# Notes\nread me"
    assert out["c4"] == [{"type": "input_image", "image_url": "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()}]
    assert out["c5"] == "a note on deploys"
    began = [(e.server, e.tool) for e in of_type(events, ev.McpToolCallBegan)]
    assert began[0] == ("docs", "list_mcp_resources") and ("docs", "read_mcp_resource") in began, "shown like a call"


async def test_untrusted_asks_before_each_resource_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    asked: list[str | None] = []
    out, _ = await run_calls(fake_openai, tmp_path, {"docs": rich_server()}, [
        call("c1", "list_mcp_resources", server="docs"),
        call("c2", "read_mcp_resource", server="docs", uri="file:///notes/readme.md"),
    ], asked, policy="untrusted")  # fmt: skip
    assert asked == ["list_mcp_resources", "read_mcp_resource"] and out["c2"] == "# Notes\nread me"


async def test_policy_never_refuses_resource_reads_and_names_the_setting_that_allows_them(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    out, _ = await run_calls(fake_openai, tmp_path, {"docs": rich_server()}, [
        call("c1", "read_mcp_resource", server="docs", uri="file:///notes/readme.md"),
    ], policy="never")  # fmt: skip
    assert out["c1"].startswith("Not run:") and "[mcp_servers.docs.tools.read_mcp_resource]" in out["c1"]
    from tui.mcp_config import McpToolConfig

    approved = rich_server(tools={"read_mcp_resource": McpToolConfig(approval_mode="approve")})
    out, _ = await run_calls(fake_openai, tmp_path, {"docs": approved}, [
        call("c2", "read_mcp_resource", server="docs", uri="file:///notes/readme.md"),
    ], policy="never")  # fmt: skip
    assert out["c2"] == "# Notes\nread me", "the named setting is true"


@pytest.mark.parametrize(("arguments", "says"), [
    ({"name": "read_mcp_resource", "server": "nope", "uri": "x"}, "no MCP server `nope` with resources"),
    ({"name": "read_mcp_resource", "server": "docs"}, "uri"),
    ({"name": "list_mcp_resources", "cursor": "abc"}, "give its `server` too"),
    ({"name": "read_mcp_resource", "server": "docs", "uri": "file:///no/such"}, "failed"),
])  # fmt: skip
async def test_bad_resource_requests_get_a_clear_error_and_the_session_goes_on(
    fake_openai: FakeOpenAI, tmp_path: Path, arguments: dict[str, Any], says: str
) -> None:
    name = arguments.pop("name")
    out, _ = await run_calls(fake_openai, tmp_path, {"docs": rich_server()}, [
        call("c1", name, **arguments), call("c2", "read_mcp_resource", server="docs", uri="note://after"),
    ])  # fmt: skip
    assert says in out["c1"], out["c1"]
    assert out["c2"] == "a note on after"
