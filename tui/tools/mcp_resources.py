"""MCP resources as three tools, with Codex's names and argument shapes: `list_mcp_resources`
and `list_mcp_resource_templates` (`server`, `cursor`: both optional) and `read_mcp_resource`
(`server`, `uri`). Offered once a ready server declares the `resources` capability.

Every request passes the approval gate like a tool call (tui/tools/mcp_tool.run_gated), under
the tool's name (so `[mcp_servers.X.tools.read_mcp_resource] approval_mode` applies). They count
as read-only: `resources/list` and `resources/read` are the protocol's reads, asking the server
for data and not for an action, so under `on-request` they run unasked, on the same trust in a
server the user configured as its `readOnlyHint`. `untrusted` still asks, `never` still refuses
without `approve`. What comes back is the server's and untrusted: redacted, capped, images as
image parts like a tool's.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from tui.tools.base import ToolCall, ToolContext, ToolResult, parse_arguments
from tui.tools.mcp import McpManager, McpServer
from tui.tools.mcp_specs import image_data_url
from tui.tools.mcp_tool import Answer, run_gated

LIST, TEMPLATES, READ = "list_mcp_resources", "list_mcp_resource_templates", "read_mcp_resource"
_SERVER = {"type": "string", "description": "The MCP server's name; omitted: every server with resources."}
_CURSOR = {"type": "string", "description": "The `next_cursor` of an earlier answer for the same server, for the next page."}
RESOURCE_TOOL_SPECS: list[dict[str, Any]] = [
    {
        "type": "function", "name": LIST, "strict": False,
        "description": "List the resources (files, documents, records) the connected MCP servers offer. "
        "Use it before reading a resource.",
        "parameters": {"type": "object", "properties": {"server": _SERVER, "cursor": _CURSOR}},
    },
    {
        "type": "function", "name": TEMPLATES, "strict": False,
        "description": "List the resource templates (URI patterns such as `note://{topic}`) the connected MCP servers offer.",
        "parameters": {"type": "object", "properties": {"server": _SERVER, "cursor": _CURSOR}},
    },
    {
        "type": "function", "name": READ, "strict": False,
        "description": "Read one MCP resource by its server and exact URI.",
        "parameters": {
            "type": "object",
            "properties": {
                "server": {"type": "string", "description": "The MCP server that has the resource."},
                "uri": {"type": "string", "description": "The resource's exact URI."},
            },
            "required": ["server", "uri"],
        },
    },
]  # fmt: skip


class _ListArgs(BaseModel):
    model_config = ConfigDict(extra="ignore")
    server: str | None = None
    cursor: str | None = None


class _ReadArgs(BaseModel):
    model_config = ConfigDict(extra="ignore")
    server: str
    uri: str


async def handle_resource_call(call: ToolCall, ctx: ToolContext, manager: McpManager) -> ToolResult:
    servers = {s.name: s for s in manager.resource_servers()}
    model: type[BaseModel] = _ReadArgs if call.name == READ else _ListArgs
    parsed = parse_arguments(model, call.payload)
    if isinstance(parsed, str):
        return ToolResult(parsed, False)
    name = getattr(parsed, "server", None)
    if name is not None and name not in servers:
        known = ", ".join(f"`{n}`" for n in servers) or "none"
        return ToolResult(f"no MCP server `{name}` with resources; the servers with resources: {known}.", False)
    if isinstance(parsed, _ReadArgs):
        return await _read(call, ctx, servers[parsed.server], parsed.uri)
    assert isinstance(parsed, _ListArgs)
    if parsed.cursor is not None and name is None:
        return ToolResult("`cursor` pages through one server's list: give its `server` too.", False)
    results = [await _list(call, ctx, servers[n], parsed.cursor) for n in ([name] if name else servers)]
    if len(results) == 1:
        return results[0]
    return ToolResult("\n\n".join(r.output for r in results), all(r.success for r in results))


async def _list(call: ToolCall, ctx: ToolContext, server: McpServer, cursor: str | None) -> ToolResult:
    templates = call.name == TEMPLATES

    async def send() -> Answer:
        from mcp import types  # loaded already: the server is ready

        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        if templates:
            page = await server.request(TEMPLATES, lambda session, _: session.list_resource_templates(params=params))
            entries = [_entry(t, "uri_template") for t in page.resource_templates]
        else:
            page = await server.request(LIST, lambda session, _: session.list_resources(params=params))
            entries = [_entry(r, "uri") for r in page.resources]
        key = "resource_templates" if templates else "resources"
        answer = {"server": server.name, key: entries, "next_cursor": page.next_cursor}
        return json.dumps(answer, ensure_ascii=False, indent=1), True, None

    arguments = {"server": server.name, **({"cursor": cursor} if cursor else {})}
    return await run_gated(call, ctx, server, call.name, arguments, send, read_only=True)


def _entry(item: Any, uri_field: str) -> dict[str, Any]:
    entry: dict[str, Any] = {uri_field: getattr(item, uri_field, None), "name": getattr(item, "name", None)}
    for field in ("title", "description", "mime_type", "size"):
        value = getattr(item, field, None)
        if value is not None:
            entry[field] = value
    return entry


async def _read(call: ToolCall, ctx: ToolContext, server: McpServer, uri: str) -> ToolResult:
    async def send() -> Answer:
        result = await server.request(f"{READ} `{uri}`", lambda session, _: session.read_resource(uri))
        shown: list[str] = []  # all of it as text: for the faces, and for providers without images
        parts: list[dict[str, Any]] = []
        pending: list[str] = []
        for content in getattr(result, "contents", None) or []:
            text = getattr(content, "text", None)
            if isinstance(text, str):
                shown.append(text)
                pending.append(text)
                continue
            mime = str(getattr(content, "mime_type", None) or "unknown type")
            blob = str(getattr(content, "blob", "") or "")
            note = f"[resource: {getattr(content, 'uri', uri)}, {mime}, {len(''.join(blob.split())) * 3 // 4} bytes]"
            shown.append(note)
            url = image_data_url(blob) if mime.startswith("image/") else None
            if url is None:
                pending.append(note)
                continue
            if pending:
                parts.append({"type": "input_text", "text": "\n".join(pending)})
                pending = []
            parts.append({"type": "input_image", "image_url": url})
        if parts and pending:
            parts.append({"type": "input_text", "text": "\n".join(pending)})
        return "\n".join(shown), True, parts or None

    return await run_gated(call, ctx, server, READ, {"server": server.name, "uri": uri}, send, read_only=True)
