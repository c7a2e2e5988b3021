"""An MCP tool call: arguments → the approval gate → the server → the text the model reads."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from tui.protocol import (
    ABORTED_BY_USER,
    ApprovalRequested,
    McpToolCallBegan,
    McpToolCallEnded,
    McpToolCallProgress,
    ReviewDecision,
)
from tui.safety import approvals
from tui.safety.approvals import Action
from tui.safety.redact import default_redactor
from tui.tools.base import ToolCall, ToolContext, ToolResult, parse_arguments
from tui.mcp_config import approval_mode, approve_hint
from tui.tools.mcp import McpCallError, McpServer, McpTool
from tui.tools.mcp_specs import result_parts, result_text
from tui.tools.process import truncate_output


class _AnyObject(BaseModel):
    """Any JSON object: the server validates against its own schema."""

    model_config = ConfigDict(extra="allow")


PROGRESS_INTERVAL_S = 0.25  # a server may report progress as fast as it likes: show a few a second
PROGRESS_MESSAGE_CHARS = 200


def _progress_reporter(ctx: ToolContext, call_id: str) -> Callable[[float, float | None, str | None], None]:
    last = -PROGRESS_INTERVAL_S

    def report(progress: float, total: float | None, message: str | None) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_INTERVAL_S:
            return
        last = now
        text = default_redactor().redact(" ".join(str(message).split())[:PROGRESS_MESSAGE_CHARS]) if message else None
        ctx.emit(McpToolCallProgress(call_id, float(progress), float(total) if total else None, text))

    return report


def headless_decline(server: str, tool: str) -> str:
    """What the model is told of an MCP call declined because nobody could be asked: the
    setting that would let it run (`--full-auto` would not: MCP runs outside its sandbox)."""
    return (
        f"This call to the MCP tool `{tool}` of server `{server}` needs the user's approval, but "
        "codeloop is running headless (`codeloop exec`) with nobody to ask, so it was declined. "
        f"Do without it, or tell the user that {approve_hint(server, tool)} lets it run unasked."
    )


async def handle_mcp_call(call: ToolCall, ctx: ToolContext, tool: McpTool) -> ToolResult:
    parsed = parse_arguments(_AnyObject, call.payload)
    if isinstance(parsed, str):
        return ToolResult(parsed, False)
    arguments = dict(parsed.model_extra or {})
    server = tool.server

    async def send() -> Answer:
        result = await server.call(tool.tool, arguments, _progress_reporter(ctx, call.call_id))
        output, success = result_text(result)
        return output, success, result_parts(result)

    return await run_gated(call, ctx, server, tool.tool, arguments, send, read_only=tool.read_only)


Answer = tuple[str, bool, "list[dict[str, Any]] | None"]  # text, success, content parts (images)


async def run_gated(
    call: ToolCall,
    ctx: ToolContext,
    server: McpServer,
    tool: str,
    arguments: dict[str, Any],
    send: Callable[[], Awaitable[Answer]],
    *,
    read_only: bool,
) -> ToolResult:
    """One request to `server` on the model's behalf (`tool`: the server's tool, or a resource
    tool): the approval gate, the Began/Ended events, the answer redacted and capped. `send`
    raises McpCallError when there is no answer."""
    if server.state != "ready":
        return ToolResult(f"Not run: the MCP server `{server.name}` is not running ({server.reason or server.state}).", False)
    mode, mode_setting = approval_mode(server.name, server.config, tool)
    verdict = approvals.assess_mcp(
        policy=ctx.approval_policy, sandbox_mode=ctx.sandbox.mode, server=server.name, tool=tool,
        store=ctx.approvals, mode=mode, mode_setting=mode_setting, read_only=read_only,
    )  # fmt: skip
    if verdict.action is Action.REJECT:
        return ToolResult(f"Not run: {verdict.reason}.", False)
    shown = json.dumps(arguments, ensure_ascii=False, indent=2)
    if verdict.action is Action.ASK:
        decision = await ctx.request_approval(
            ApprovalRequested(
                call_id=call.call_id, kind="mcp", reason=verdict.reason, sandboxed=False,
                server=server.name, tool=tool, arguments=shown,
            )
        )
        if decision is ReviewDecision.APPROVED_FOR_SESSION and mode != "prompt":
            ctx.approvals.approve_mcp_tool(server.name, tool)
        elif decision not in (ReviewDecision.APPROVED, ReviewDecision.APPROVED_FOR_SESSION):
            if not ctx.interactive:
                return ToolResult(headless_decline(server.name, tool), False)
            return ToolResult(ctx.declined_message(f"the call to the MCP tool `{tool}` of server `{server.name}`"), False)

    ctx.emit(McpToolCallBegan(call.call_id, server.name, tool, shown))
    started = time.monotonic()
    timed_out = False
    parts: list[dict[str, Any]] | None = None
    try:
        output, success, parts = await send()
    except McpCallError as e:
        output, success, timed_out = str(e), False, e.timed_out
    except asyncio.CancelledError:
        # The SDK tells the server the request is cancelled; the turn answers the call.
        ctx.emit(McpToolCallEnded(call.call_id, server.name, tool, False, time.monotonic() - started, ABORTED_BY_USER))
        raise
    # Redacted before anyone sees it, the model included (tui/safety/redact.py).
    redactor = default_redactor()
    output = redactor.redact(output)
    for part in parts or ():
        if part["type"] == "input_text":
            part["text"] = truncate_output(redactor.redact(part["text"]), ctx.tool_output_token_limit)
    ctx.emit(McpToolCallEnded(
        call.call_id, server.name, tool, success, time.monotonic() - started, output[-4000:], timed_out
    ))
    return ToolResult(truncate_output(output, ctx.tool_output_token_limit), success, parts)
