"""The tool router: the specs the model is offered and the handler behind each name."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from tui.tools.base import ToolCall, ToolContext, ToolResult
from tui.tools.mcp import McpResourceTool, McpTool
from tui.tools.mcp_resources import handle_resource_call
from tui.tools.mcp_tool import handle_mcp_call
from tui.tools.patch_tool import handle_apply_patch
from tui.tools.plan import handle_update_plan
from tui.tools.shell import handle_shell
from tui.tools.specs import ApplyPatchKind, build_tool_specs

Handler = Callable[[ToolCall, ToolContext], Awaitable[ToolResult]]


def call_from_item(item: dict[str, Any]) -> ToolCall | None:
    """A history item that asks for a tool call, as a ToolCall; anything else is None."""
    kind = item.get("type")
    if kind == "function_call":
        return ToolCall(item.get("call_id", ""), item.get("name", ""), "function", item.get("arguments") or "")
    if kind == "custom_tool_call":
        return ToolCall(item.get("call_id", ""), item.get("name", ""), "custom", item.get("input") or "")
    return None


class ToolRouter:
    def __init__(self, apply_patch_kind: ApplyPatchKind, *, web_search: bool = False) -> None:
        # Built once: the same objects serialise to the same bytes on every request.
        self.builtin_specs: list[dict[str, Any]] = build_tool_specs(apply_patch_kind, web_search=web_search)
        self.specs: list[dict[str, Any]] = list(self.builtin_specs)
        self.web_search = web_search
        self._handlers: dict[str, Handler] = {
            "shell": handle_shell,
            "apply_patch": handle_apply_patch,
            "update_plan": handle_update_plan,
        }
        self.mcp_tools: dict[str, McpTool | McpResourceTool] = {}

    def set_mcp_tools(self, tools: list[McpTool | McpResourceTool]) -> None:
        """Offer the MCP tools after the built-in ones, sorted by name; set once per session,
        before its first request, so every request carries the same bytes."""
        ordered = sorted(tools, key=lambda t: t.name)
        self.mcp_tools = {t.name: t for t in ordered}
        self.specs = [*self.builtin_specs, *(t.spec for t in ordered)]

    @property
    def names(self) -> list[str]:
        return [s["name"] for s in self.specs if "name" in s]  # hosted tools have no name

    async def dispatch(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        mcp_tool = self.mcp_tools.get(call.name)
        if isinstance(mcp_tool, McpResourceTool):
            return await handle_resource_call(call, ctx, mcp_tool.manager)
        if mcp_tool is not None:
            return await handle_mcp_call(call, ctx, mcp_tool)
        handler = self._handlers.get(call.name)
        if handler is None:
            return ToolResult(
                f"unknown tool '{call.name}'; the available tools are: {', '.join(self.names)}.", False
            )
        return await handler(call, ctx)
