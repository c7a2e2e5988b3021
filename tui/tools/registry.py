"""The tool router: the specs the model is offered and the handler behind each name."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from tui.tools.base import ToolCall, ToolContext, ToolResult
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
        self.specs: list[dict[str, Any]] = build_tool_specs(apply_patch_kind, web_search=web_search)
        self.web_search = web_search
        self._handlers: dict[str, Handler] = {
            "shell": handle_shell,
            "apply_patch": handle_apply_patch,
            "update_plan": handle_update_plan,
        }

    @property
    def names(self) -> list[str]:
        return [s["name"] for s in self.specs if "name" in s]  # hosted tools have no name

    async def dispatch(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        handler = self._handlers.get(call.name)
        if handler is None:
            return ToolResult(
                f"unknown tool '{call.name}'; the available tools are: {', '.join(self.names)}.", False
            )
        return await handler(call, ctx)
