"""MCP tool servers: started over stdio, or reached over streamable HTTP, with the official SDK,
kept for the session, then closed.

Each server lives in one asyncio task that owns the SDK's context managers (their anyio task
groups must be entered and left by the same task): it starts the process, initialises the
session, lists the tools, then waits until the session closes. Calls come from the turn task
through the SDK's session object.

Startup never blocks the caller: `McpManager.start()` only creates the tasks. The session waits
(`wait_started`, each server bounded by its `startup_timeout_sec`) before its first request,
because the tool list must be fixed then: it is byte-identical on every request of a session.
A server that fails, or crashes later, is reported with a `McpServerStatus` event and the
session goes on without it.

An entry that names no usable transport (`McpServerConfig.transport_problem`) is skipped with a
`WarningIssued` naming it: a server codeloop cannot reach never stops the session.

The SDK (~0.5 s to import) is imported in a thread, and only when a server is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tui.config import McpServerConfig
from tui.protocol import Event, McpServerState, McpServerStatus, WarningIssued
from tui.safety.redact import is_secret_name, remember_secret
from tui.tools.mcp_elicit import elicitation_callback
from tui.tools.mcp_errors import McpCallError as McpCallError
from tui.tools.mcp_errors import connection_closed, describe, reschedule
from tui.tools.mcp_errors import leaf as leaf_error
from tui.tools.mcp_listing import list_tools, offers_resources
from tui.tools.mcp_http import McpStartError, import_http, remote_headers, shown_url
from tui.tools.mcp_stderr import with_stderr
from tui.tools.mcp_specs import qualified_names, read_only_hint, tool_spec, unservable

# The SDK's own shutdown is bounded (flush 0.5 s, 2 s after closing stdin, 2 s after SIGTERM,
# then SIGKILL): this only guards against a shutdown that hangs anyway.
CLOSE_TIMEOUT_S = 10.0
STDERR_TAIL_BYTES = 4096
PROGRESS_CAP_FACTOR = 10  # progress reports extend a call's timeout up to this many times it


ProgressCallback = Callable[[float, "float | None", "str | None"], None]


def _import_sdk() -> Any:
    import logging

    import mcp

    # The SDK logs transport trouble itself; with no handler, Python would print it to stderr,
    # over the app's screen. Failures reach the user as McpServerStatus events instead.
    logging.getLogger("mcp").addHandler(logging.NullHandler())
    return mcp


class McpServer:
    """One configured server: its state, the tools it offers, and calls to them."""

    def __init__(
        self, name: str, config: McpServerConfig, cwd: Path, emit: Callable[[Event], None]
    ) -> None:
        self.name = name
        self.config = config
        self.cwd = config.cwd or cwd
        self.state: McpServerState = "starting" if config.enabled else "disabled"
        self.reason: str | None = None if config.enabled else "enabled = false"
        self.tools: list[Any] = []  # the SDK's Tool objects offered, after enabled/disabled_tools
        self.read_only: set[str] = set()  # tools every listing of which says `readOnlyHint: true`
        self.unserved: dict[str, str] = {}  # tools listed but not offered: why
        self.has_resources = False  # it declared the `resources` capability
        self.settled = asyncio.Event()  # set once ready, failed or disabled
        if not config.enabled:
            self.settled.set()
        self._emit = emit
        self.interactive = True  # set by the manager: a headless session declines elicitations
        self._deadlines: set[asyncio.Timeout] = set()  # of the requests waiting for an answer
        self._session: Any = None
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._errlog: IO[bytes] | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self.state != "starting" or self._task is not None:
            return
        loop = asyncio.get_running_loop()
        self._emit(McpServerStatus(self.name, "starting"))
        self._task = loop.create_task(self._serve(), name=f"mcp-server-{self.name}")
        self._deadline = loop.call_later(self.config.startup_timeout_sec, self._startup_expired)

    async def _serve(self) -> None:
        cfg = self.config
        # The server's stderr goes to a file, never to ours: it would paint over the app's
        # screen. Its tail explains a failure.
        self._errlog = tempfile.TemporaryFile()
        try:
            if not self.cwd.is_dir():
                raise NotADirectoryError(f"its cwd {str(self.cwd)!r} is not a folder")
            sdk = await asyncio.to_thread(_import_sdk)
            async with self._transport(sdk) as (read, write):
                ask = elicitation_callback(self.name, self._emit, lambda: self.interactive, self._pause)
                async with sdk.ClientSession(read, write, elicitation_callback=ask) as session:
                    init = await session.initialize()
                    tools = await list_tools(session, sdk)
                    if getattr(init.capabilities, "resources", None) is not None:
                        self.has_resources = await offers_resources(session)
                    self._ready(session, tools)
                    await self._closing.wait()
        except asyncio.CancelledError:
            pass  # close() or the startup deadline; the SDK stopped the process on the way out
        except Exception as e:
            self._fail(self._startup_failure(e) if self.state == "starting" else self._stopped())
        finally:
            self._session = None
            errlog, self._errlog = self._errlog, None
            errlog.close()

    @contextlib.asynccontextmanager
    async def _transport(self, sdk: Any) -> AsyncIterator[tuple[Any, Any]]:
        """The server's read and write streams: a process over stdio, or streamable HTTP."""
        cfg = self.config
        if cfg.url is None:
            params = sdk.StdioServerParameters(
                command=cfg.command, args=list(cfg.args), env=dict(cfg.env) or None, cwd=self.cwd
            )
            async with sdk.stdio_client(params, errlog=self._errlog) as (read, write):
                yield read, write
            return
        headers = remote_headers(cfg, os.environ)
        streamable_http_client, httpx2 = await asyncio.to_thread(import_http)
        # The SDK's own timeouts (30 s, 300 s between events of a stream); the startup and
        # tool timeouts of the config bound the whole exchange above this.
        timeout = httpx2.Timeout(30.0, read=300.0)
        async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
            async with streamable_http_client(cfg.url, http_client=http) as (read, write):
                yield read, write

    def _ready(self, session: Any, tools: list[Any]) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        cfg = self.config
        first: dict[str, Any] = {}
        read_only: dict[str, bool] = {}
        for t in tools:
            first.setdefault(t.name, t)  # a name listed twice would be a duplicate tool: the first wins
            # ... but it is read-only only if every listing of it says so.
            read_only[t.name] = read_only.get(t.name, True) and read_only_hint(t.annotations)
        self.unserved = {t.name: why for t in first.values() if (why := unservable(t.execution))}
        tools = [t for t in first.values() if t.name not in self.unserved]
        self.read_only = {name for name, hinted in read_only.items() if hinted}
        if cfg.enabled_tools is not None:
            tools = [t for t in tools if t.name in cfg.enabled_tools]
        if cfg.disabled_tools:
            tools = [t for t in tools if t.name not in cfg.disabled_tools]
        self._session = session
        self.tools = tools
        self.state = "ready"
        self.settled.set()
        self._emit(McpServerStatus(self.name, "ready", None, [t.name for t in tools]))

    def _fail(self, reason: str) -> None:
        if self.state == "failed":
            return
        if self._deadline is not None:
            self._deadline.cancel()
        self.state = "failed"
        self.reason = reason
        self._session = None
        self.settled.set()
        self._closing.set()  # a crashed server's task leaves the SDK's contexts, reaping the process
        self._emit(McpServerStatus(self.name, "failed", reason))

    def _startup_expired(self) -> None:
        if self.state == "starting":
            self._fail(self._with_stderr(f"did not start within {self.config.startup_timeout_sec:g} s"))
            if self._task is not None:
                self._task.cancel()

    async def close(self) -> None:
        """Stop the server (the SDK closes its stdin, then terminates its process group)."""
        if self._deadline is not None:
            self._deadline.cancel()
        task = self._task
        if task is None or task.done():
            return
        if self.state == "starting":
            task.cancel()
        self._closing.set()
        done, _ = await asyncio.wait({task}, timeout=CLOSE_TIMEOUT_S)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=CLOSE_TIMEOUT_S)

    # ------------------------------------------------------------ calls

    async def call(self, tool: str, arguments: dict[str, Any], on_progress: ProgressCallback | None = None) -> Any:
        """The SDK's `CallToolResult`; McpCallError when there is none to give.

        `tool_timeout_sec` counts from the call's start and again from each progress report
        (a long job that says it is alive goes on), never past PROGRESS_CAP_FACTOR times it."""
        timeout = self.config.tool_timeout_sec
        loop = asyncio.get_running_loop()
        cap = loop.time() + timeout * PROGRESS_CAP_FACTOR

        async def send(session: Any, deadline: asyncio.Timeout) -> Any:
            async def progressed(progress: float, total: float | None, message: str | None) -> None:
                reschedule(deadline, min(loop.time() + timeout, cap))
                if on_progress is not None:
                    on_progress(progress, total, message)

            return await session.call_tool(tool, arguments, progress_callback=progressed)

        return await self.request(f"`{tool}`", send)

    async def request(self, what: str, send: Callable[[Any, asyncio.Timeout], Awaitable[Any]]) -> Any:
        """`send(session, deadline)` (one request of the SDK's session) within `tool_timeout_sec`, its
        failures turned into McpCallError: the server not running or gone (then marked failed),
        or the deadline passed."""
        session = self._session
        if self.state != "ready" or session is None:
            raise McpCallError(f"the MCP server `{self.name}` is not running ({self.reason or self.state})")
        timeout = self.config.tool_timeout_sec
        try:
            async with asyncio.timeout(timeout) as deadline:
                self._deadlines.add(deadline)
                try:
                    return await send(session, deadline)
                finally:
                    self._deadlines.discard(deadline)
        except TimeoutError:
            raise McpCallError(
                f"the MCP request {what} of server `{self.name}` gave no result within {timeout:g} s "
                f"(tool_timeout_sec; counted again from each progress report, {timeout * PROGRESS_CAP_FACTOR:g} s "
                "at most); it was cancelled",
                timed_out=True,
            ) from None
        except Exception as e:
            if connection_closed(e):
                reason = self._stopped()
                self._fail(reason)
                raise McpCallError(f"the MCP server `{self.name}` stopped while running {what}: {reason}") from None
            raise McpCallError(f"the MCP request {what} failed: {describe(e)}") from None

    def _pause(self, paused: bool) -> None:
        """Stop (or restart, in full) the clocks of the pending requests: the server asked the
        user something, and the user's time is not the server's."""
        loop = asyncio.get_running_loop()
        for deadline in list(self._deadlines):
            reschedule(deadline, None if paused else loop.time() + self.config.tool_timeout_sec)

    # ------------------------------------------------------------ reasons

    def _startup_failure(self, exc: BaseException) -> str:
        leaf = leaf_error(exc)
        if isinstance(leaf, NotADirectoryError) and leaf.strerror is None:
            return f"cannot start: {leaf}"
        if isinstance(leaf, McpStartError):
            return f"cannot connect: {leaf}"
        if self.config.url is not None:
            return f"cannot use {shown_url(self.config.url)!r}: {describe(leaf)}"
        if isinstance(leaf, OSError) and not connection_closed(leaf):
            return f"cannot run {self.config.command!r}: {leaf.strerror or leaf}"
        if connection_closed(leaf):
            return self._with_stderr("the server exited during startup")
        return self._with_stderr(f"startup failed: {describe(leaf)}")

    def _stopped(self) -> str:
        return self._with_stderr("the server exited or closed its connection")

    def _with_stderr(self, reason: str) -> str:
        return with_stderr(reason, self.stderr_tail())

    def stderr_tail(self) -> str:
        """The end of what the server wrote to stderr, while it runs."""
        errlog = self._errlog
        if errlog is None:
            return ""
        try:
            # pread: the offset is shared with the server process, which is still writing.
            size = os.fstat(errlog.fileno()).st_size
            start = max(0, size - STDERR_TAIL_BYTES)
            return os.pread(errlog.fileno(), size - start, start).decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""


@dataclass(frozen=True)
class McpTool:
    """A tool as offered to the model: its qualified name, where it lives, its spec."""

    name: str
    server: McpServer
    tool: str
    spec: dict[str, Any]
    read_only: bool = False
    """The server marks it `readOnlyHint: true` (a hint: see safety/approvals.assess_mcp)."""


@dataclass(frozen=True)
class McpResourceTool:
    """`list_mcp_resources`, `list_mcp_resource_templates` or `read_mcp_resource` (Codex's names),
    offered once for all the servers."""

    name: str
    spec: dict[str, Any]
    manager: McpManager


class McpManager:
    """All configured servers of one session."""

    def __init__(self, servers: Mapping[str, McpServerConfig], cwd: Path) -> None:
        self._emit_to: Callable[[Event], None] | None = None
        # Entries codeloop cannot use, by name: why (said once the session can hear it).
        self.skipped = {name: p for name, cfg in sorted(servers.items()) if (p := cfg.transport_problem())}
        self.servers = {
            name: McpServer(name, cfg, cwd, self._emit)
            for name, cfg in sorted(servers.items())
            if name not in self.skipped
        }
        for cfg in servers.values():
            for key, value in cfg.env.items():
                if is_secret_name(key):
                    remember_secret(value)  # never shown, recorded or given to the model
        self._started = False

    def bind(self, emit: Callable[[Event], None], *, interactive: bool = True) -> None:
        self._emit_to = emit
        for server in self.servers.values():
            server.interactive = interactive

    def _emit(self, event: Event) -> None:
        if self._emit_to is not None:
            self._emit_to(event)

    def start(self) -> None:
        """Start every enabled server in the background; needs a running event loop."""
        if self._started:
            return
        self._started = True
        for name, problem in self.skipped.items():
            self._emit(WarningIssued(f"MCP server `{name}` skipped: {problem} (mcp_servers.{name} in config.toml)"))
        for server in self.servers.values():
            server.start()

    async def wait_started(self) -> None:
        """Until every server is ready, failed (its startup timeout included) or disabled."""
        await asyncio.gather(*(s.settled.wait() for s in self.servers.values()))

    def offered_tools(self) -> list[McpTool | McpResourceTool]:
        """The tools of the ready servers, and the resource tools when one of them has resources
        (tui/tools/mcp_resources.py), sorted by their names."""
        from tui.tools.mcp_resources import RESOURCE_TOOL_SPECS

        offered: list[McpTool | McpResourceTool] = []
        if any(s.state == "ready" and s.has_resources for s in self.servers.values()):
            offered = [McpResourceTool(spec["name"], spec, self) for spec in RESOURCE_TOOL_SPECS]
        ready = [(s, t) for s in self.servers.values() if s.state == "ready" for t in s.tools]
        names = qualified_names((s.name, t.name) for s, t in ready)
        tools = [
            McpTool(
                names[(s.name, t.name)], s, t.name,
                tool_spec(names[(s.name, t.name)], t.description, t.input_schema), t.name in s.read_only,
            )
            for s, t in ready
        ]  # fmt: skip
        return sorted([*offered, *tools], key=lambda t: t.name)

    def resource_servers(self) -> list[McpServer]:
        """The ready servers that have resources, by name."""
        return [s for s in self.servers.values() if s.state == "ready" and s.has_resources]

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.servers.values()))
