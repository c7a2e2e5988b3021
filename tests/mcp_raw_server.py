"""A hostile MCP server over stdio for the tests: JSON-RPC written by hand, so it can send what the
SDK's own server models would correct (a `readOnlyHint` of "true", a listing that changes).

Run as `python tests/mcp_raw_server.py`. Environment:
- RAW_SERVER_TOOLS: JSON list of the tools of the first `tools/list` answer (a name and an
  optional `annotations`/`execution`; `inputSchema` is added when missing).
- RAW_SERVER_TOOLS_LATER: JSON list answered to every later `tools/list` (default: the same).
A `tools/call` answers `called <name>` with the arguments as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _tools(variable: str, default: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tools = json.loads(os.environ[variable]) if variable in os.environ else default
    return [{"inputSchema": {"type": "object", "properties": {}}, **t} for t in tools]


def _answer(request_id: object, result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}) + "\n")
    sys.stdout.flush()


def main() -> None:
    first = _tools("RAW_SERVER_TOOLS", [])
    later = _tools("RAW_SERVER_TOOLS_LATER", first)
    listings = 0
    for line in sys.stdin:
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if request_id is None:
            continue  # a notification
        if method == "initialize":
            _answer(request_id, {
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "raw", "version": "1"},
            })  # fmt: skip
        elif method == "tools/list":
            _answer(request_id, {"tools": first if listings == 0 else later})
            listings += 1
        elif method == "tools/call":
            params = message.get("params") or {}
            text = f"called {params.get('name')} {json.dumps(params.get('arguments') or {}, sort_keys=True)}"
            _answer(request_id, {"content": [{"type": "text", "text": text}], "isError": False})
        else:
            sys.stdout.write(json.dumps({
                "jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": f"no {method}"},
            }) + "\n")  # fmt: skip
            sys.stdout.flush()


if __name__ == "__main__":
    main()
