"""What an MCP server offers, read at its startup: its tools (every page, the hints kept as sent)
and whether it has resources."""

from __future__ import annotations

import contextlib
from typing import Any

MAX_TOOL_PAGES = 100  # a server whose tools/list cursor never ends must not hang the startup


def listing_type(sdk: Any) -> Any:
    """`tools/list` results whose tools keep `annotations` and `execution` as the server sent
    them: the SDK's models coerce `"true"` or `1` into a boolean, and a hint that loosens
    approvals must be a real JSON `true` (tui/tools/mcp_specs.read_only_hint)."""
    from pydantic import create_model

    tool = create_model("ListedTool", __base__=sdk.types.Tool, annotations=(Any, None), execution=(Any, None))
    return create_model("ToolListing", __base__=sdk.types.ListToolsResult, tools=(list[tool], ...))  # type: ignore[valid-type]


async def list_tools(session: Any, sdk: Any) -> list[Any]:
    """Every page of the server's tools, as listed (raw `annotations` and `execution`)."""
    tools: list[Any] = []
    cursor: str | None = None
    listing = listing_type(sdk)
    # The SDK's own bookkeeping of a listing (output schemas it checks results against; the
    # headers of the 2026 protocol), which `session.list_tools()` would have done.
    absorb = getattr(session, "_absorb_tool_listing", None)
    for _ in range(MAX_TOOL_PAGES):
        params = sdk.types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.send_request(sdk.types.ListToolsRequest(params=params), listing)
        if absorb is not None:
            page = absorb(page, complete=cursor is None and page.next_cursor is None)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


async def offers_resources(session: Any) -> bool:
    """Whether the server has any resource or template to list: SDK servers declare the
    capability whether or not they have one, and three tools that find nothing would
    only cost tokens on every request."""
    with contextlib.suppress(Exception):  # a server that cannot list them has none to offer
        if (await session.list_resources()).resources:
            return True
    with contextlib.suppress(Exception):
        return bool((await session.list_resource_templates()).resource_templates)
    return False
