"""A real MCP server over stdio for the tests, written with the official SDK.

`MCPServer` is what SDK 1.x called FastMCP. Run it as `python tests/mcp_echo_server.py`.
Environment knobs, so one file serves every test:
- ECHO_SERVER_MODE=exit: write a line (ECHO_SERVER_SAY, if set) to stderr and exit 2 before
  serving (a startup failure);
  =hang: never answer (a startup timeout).
- ECHO_SERVER_WAIT_FOR=PATH: start serving only once PATH exists (a slow startup the test
  controls, with no clock involved).
- ECHO_SERVER_LONG_NAMES=1: also offer two tools whose qualified names exceed 64 characters.
- ECHO_SERVER_HINTS=1: also offer the tools of RAW_LISTING, listed with those `annotations` and
  `execution`, and `dup` listed twice (read-only, then not). Values the SDK's server models would
  coerce (a hint of "true") are tests/mcp_raw_server.py's job.
- ECHO_SERVER_RICH=1: also offer results with images (`chart`, `not_an_image`) and a tool that
  reports progress (`progress`), and serve resources (RICH_RESOURCES, a template).
- ECHO_SERVER_HTTP_TOKEN=T: serve streamable HTTP on 127.0.0.1 instead of stdio, print the port
  on stdout, and answer 401 unless a request carries `Authorization: Bearer T`, `X-Team: blue`
  and `X-Key: $ECHO_SERVER_HTTP_KEY`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

MODE = os.environ.get("ECHO_SERVER_MODE", "")
if MODE == "exit":
    print(os.environ.get("ECHO_SERVER_SAY", "echo server: refusing to start (ECHO_SERVER_MODE=exit)"), file=sys.stderr, flush=True)
    sys.exit(2)
if MODE == "hang":
    print("echo server: hanging on purpose", file=sys.stderr, flush=True)
    time.sleep(3600)
if WAIT_FOR := os.environ.get("ECHO_SERVER_WAIT_FOR"):
    for _ in range(6000):
        if os.path.exists(WAIT_FOR):
            break
        time.sleep(0.01)

from mcp.server.mcpserver import MCPServer  # noqa: E402  (after the modes: `exit` stays fast)
from mcp.server.mcpserver.exceptions import ToolError  # noqa: E402
from mcp.server.mcpserver.utilities.types import Image  # noqa: E402
from mcp.types import Tool as MCPTool  # noqa: E402

# name -> fields the tool is listed with, as raw JSON (ECHO_SERVER_HINTS=1)
RAW_LISTING: dict[str, dict[str, object]] = {
    "look": {"annotations": {"readOnlyHint": True}},
    "task_only": {"execution": {"taskSupport": "required"}},
    "task_ok": {"execution": {"taskSupport": "optional"}},
    "dup": {"annotations": {"readOnlyHint": True}},
}


class EchoServer(MCPServer):
    async def list_tools(self) -> list[MCPTool]:
        tools = await super().list_tools()
        if not os.environ.get("ECHO_SERVER_HINTS"):
            return tools
        out = []
        for tool in tools:
            raw = RAW_LISTING.get(tool.name)
            out.append(MCPTool.model_construct(**{**dict(tool), **raw}) if raw else tool)
        dup = next(t for t in tools if t.name == "dup")
        out.append(MCPTool.model_construct(**{**dict(dup), "annotations": {"readOnlyHint": False}}))
        return out


server = EchoServer("echo", log_level="WARNING")

# Registered out of alphabetical order on purpose: codeloop must sort what it offers.


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleep for `seconds`, then say so."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def fail(message: str) -> str:
    """Always fail with `message`."""
    raise ToolError(message)


@server.tool()
def image() -> Image:
    """A small PNG (16 bytes)."""
    return Image(data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, format="png")


@server.tool()
def crash() -> str:
    """Kill this server process without answering."""
    print("echo server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


if os.environ.get("ECHO_SERVER_HINTS"):
    for hinted in RAW_LISTING:
        server.add_tool(echo, name=hinted, description=f"echo, listed as {hinted}")

# The smallest valid PNG (1x1, transparent): what a screenshot tool returns, only smaller.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)

if os.environ.get("ECHO_SERVER_RICH"):
    import base64
    import json

    from mcp.server.mcpserver import Context
    from mcp.types import CallToolResult, ImageContent, TextContent

    @server.tool()
    def chart() -> CallToolResult:
        """Text, an image, text."""
        png = base64.b64encode(PNG_1X1).decode()
        return CallToolResult(content=[
            TextContent(type="text", text="the chart:"),
            ImageContent(type="image", data=png, mime_type="image/png"),
            TextContent(type="text", text="that was the chart"),
        ])  # fmt: skip

    @server.tool()
    def not_an_image() -> Image:
        """Bytes labelled PNG that are no image."""
        return Image(data=b"<svg onload=alert(1)>", format="png")

    @server.tool()
    async def progress(steps: int, delay: float, ctx: Context) -> str:  # type: ignore[type-arg]
        """Report `steps` progress notifications, `delay` seconds apart, then answer."""
        for i in range(steps):
            await asyncio.sleep(delay)
            await ctx.report_progress(i + 1, steps, f"step {i + 1} of {steps}")
        return f"{steps} steps done"

    from pydantic import BaseModel, Field

    class Deploy(BaseModel):
        target: str = Field(title="Target", description="Where to deploy")
        replicas: int = Field(title="Replicas")
        confirm: bool = Field(default=False, title="Confirm")

    @server.tool()
    async def ask(ctx: Context) -> str:  # type: ignore[type-arg]
        """Ask the user for deploy settings (elicitation), then say what came back."""
        result = await ctx.elicit("Deploy \x1b[31mwhere\x1b[0m?", Deploy)
        data = result.data.model_dump() if getattr(result, "data", None) is not None else None
        return f"{result.action}: {json.dumps(data, sort_keys=True)}"

    @server.tool()
    async def sample(ctx: Context) -> str:  # type: ignore[type-arg]
        """Ask the client's model for a completion (sampling), say what came back."""
        from mcp.types import SamplingMessage

        message = SamplingMessage(role="user", content=TextContent(type="text", text="write me a poem"))
        try:
            result = await ctx.request_context.session.create_message([message], max_tokens=50)
        except Exception as e:  # noqa: BLE001  (the refusal is what the test reads)
            return f"refused: {e}"
        return f"sampled: {result}"

    @server.resource("file:///notes/readme.md", name="readme", description="The notes' readme", mime_type="text/markdown")
    def readme() -> str:
        return "# Notes\nread me"

    @server.resource("file:///notes/logo.png", name="logo", mime_type="image/png")
    def logo() -> bytes:
        return PNG_1X1

    @server.resource("note://{topic}", name="note", description="A note on a topic")
    def note(topic: str) -> str:
        return f"a note on {topic}"

if os.environ.get("ECHO_SERVER_LONG_NAMES"):
    for suffix in ("alpha", "beta"):
        server.add_tool(echo, name=f"a_tool_whose_name_is_far_too_long_to_fit_the_limit_{suffix}")


def serve_http(token: str, key: str) -> None:
    import socket

    import uvicorn

    inner = server.streamable_http_app()
    wanted = {b"authorization": f"Bearer {token}".encode(), b"x-team": b"blue", b"x-key": key.encode()}

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if any(headers.get(name) != value for name, value in wanted.items()):
                await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})  # type: ignore[operator]
                await send({"type": "http.response.body", "body": b"unauthorized"})  # type: ignore[operator]
                return
        await inner(scope, receive, send)  # type: ignore[arg-type]

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])


if __name__ == "__main__":
    if TOKEN := os.environ.get("ECHO_SERVER_HTTP_TOKEN"):
        serve_http(TOKEN, os.environ.get("ECHO_SERVER_HTTP_KEY", ""))
    else:
        server.run()
