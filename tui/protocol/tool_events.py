"""Events of the tools: commands, patches, MCP calls, web searches, approvals and the plan."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tui.protocol.base import (
    ApprovalKind,
    DecidedBy,
    Event,
    FileChangeKind,
    McpServerState,
    ReviewDecision,
)


@dataclass
class ToolCallProposed(Event):
    """The model asked for a tool call: sent by the turn loop at the call's `output_item.done`,
    before anything is assessed or runs. `ToolCallEnded` follows for the same `call_id`."""

    type: ClassVar[str] = "tool_call_proposed"
    call_id: str
    name: str
    arguments: str


@dataclass
class ExecCommandBegan(Event):
    """A command starts: sent by the shell tool (tui/tools/shell.py `run_command`) once it was
    approved and wrapped, right before the process starts; for the model's shell calls and the
    user's `!` commands alike. `ExecCommandEnded` follows, also when the command is interrupted."""

    type: ClassVar[str] = "exec_command_began"
    call_id: str
    command: list[str]
    cwd: str
    sandboxed: bool
    display: str | None = None  # how to show it, when not as the argv (a user's `!` command line)


@dataclass
class ExecCommandOutputDelta(Event):
    """A running command printed something: redacted text, in order, coalesced to a few events a
    second (tui/tools/live_output.py). For showing progress only; the model reads the output
    once the command ends, from `ExecCommandEnded`'s run."""

    type: ClassVar[str] = "exec_command_output_delta"
    call_id: str
    chunk: str


@dataclass
class ExecCommandEnded(Event):
    """A command ended (exited, timed out or was interrupted): sent by the shell tool with its
    exit code, wall time and the last 4,000 characters of its redacted output."""

    type: ClassVar[str] = "exec_command_ended"
    call_id: str
    exit_code: int
    duration_s: float
    output: str
    timed_out: bool = False
    interrupted: bool = False  # the user stopped it (Esc, Ctrl+C, a signal to exec); `output` is what it printed until then


@dataclass
class FileChangeSummary:
    """One file of a patch, as `ApprovalRequested(kind="patch")` and `PatchApplyBegan` carry it:
    built by the patch tool from the parsed patch, before anything is written."""

    path: str
    kind: FileChangeKind
    added: int
    removed: int
    diff: str
    move_to: str | None = None


@dataclass
class PatchApplyBegan(Event):
    """A patch is being applied: sent by the patch tool (tui/tools/patch_tool.py) once it was
    parsed, assessed and, when needed, approved; `PatchApplyEnded` follows."""

    type: ClassVar[str] = "patch_apply_began"
    call_id: str
    changes: list[FileChangeSummary]


@dataclass
class PatchApplyEnded(Event):
    """A patch was applied (`success`) or failed to apply: sent by the patch tool, with its
    output or the error."""

    type: ClassVar[str] = "patch_apply_ended"
    call_id: str
    success: bool
    output: str


@dataclass
class McpServerStatus(Event):
    """An MCP server changed state: sent by the MCP manager (tui/tools/mcp.py) when it starts a
    server ("starting", on the session's first op or `next_event`), when it is up ("ready", with
    the tools it offers) and when it fails ("failed", with the reason: it did not start in time,
    or it exited later; sent once). A server disabled in the config is never started and sends
    nothing; "disabled" is its state in `/mcp`'s list."""

    type: ClassVar[str] = "mcp_server_status"
    server: str
    state: McpServerState
    reason: str | None = None
    tools: list[str] = field(default_factory=list)


@dataclass
class McpToolCallBegan(Event):
    """A call to an MCP server's tool starts: sent by the MCP tool (tui/tools/mcp_tool.py) once it
    was assessed and, when needed, approved; `McpToolCallEnded` follows, also on an interrupt."""

    type: ClassVar[str] = "mcp_tool_call_began"
    call_id: str
    server: str
    tool: str
    arguments: str


@dataclass
class McpToolCallProgress(Event):
    """A running MCP tool call reported progress (a `notifications/progress` of its server): sent
    by the MCP tool between `McpToolCallBegan` and `McpToolCallEnded`, at most a few a second.
    `message` is the server's, clipped; `total` is None when the server gave none."""

    type: ClassVar[str] = "mcp_tool_call_progress"
    call_id: str
    progress: float
    total: float | None = None
    message: str | None = None


@dataclass
class McpElicitationRequested(Event):
    """An MCP server asks the user to fill a form (`elicitation/create`), mostly while one of its
    tools runs: sent by the MCP manager (tui/tools/mcp_elicit.py), interactive sessions only (a
    headless one declines for the user). The server waits on `future`: a face resolves it with
    ("accept", values by field name), ("decline", None) or ("cancel", None). `message` and the
    `fields` (dicts: name, type, title, description, required, choices) are the server's."""

    type: ClassVar[str] = "mcp_elicitation_requested"
    server: str
    message: str
    fields: list[dict[str, Any]]
    future: asyncio.Future[tuple[str, dict[str, Any] | None]] | None = field(
        default=None, repr=False, compare=False, metadata={"json": False}
    )

    def resolve(self, action: str, content: dict[str, Any] | None = None) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_result((action, content))


@dataclass
class McpToolCallEnded(Event):
    """An MCP tool call ended (answered, failed, timed out or interrupted): sent by the MCP tool."""

    type: ClassVar[str] = "mcp_tool_call_ended"
    call_id: str
    server: str
    tool: str
    success: bool
    duration_s: float
    output: str
    timed_out: bool = False


@dataclass
class ToolCallEnded(Event):
    """Every call ends with exactly one of these, carrying the output the model gets: sent by the
    turn loop as the output is appended to the history, in call order; for calls that were
    denied, failed or interrupted too."""

    type: ClassVar[str] = "tool_call_ended"
    call_id: str
    name: str
    output: str
    success: bool


@dataclass
class WebSearchEnded(Event):
    """The provider ran a hosted web search for the model: sent by the turn loop when a
    `web_search_call` item with a known action is done (codeloop runs nothing)."""

    type: ClassVar[str] = "web_search_ended"
    action: Literal["search", "open_page", "find_in_page"]
    status: str | None = None
    query: str | None = None
    url: str | None = None
    pattern: str | None = None

    def describe(self) -> str:
        """One line for people: what was searched or opened."""
        if self.action == "open_page":
            text = f"Opened: {self.url or '(a page)'}"
        elif self.action == "find_in_page":
            text = f"Searched {self.url or 'a page'} for: {self.pattern or ''}"
        else:
            text = f"Searched: {self.query or '(no query given)'}"
        return text if self.status in (None, "completed") else f"{text} ({self.status})"


@dataclass
class ApprovalRequested(Event):
    """A call needs the user's decision: sent by the shell, patch and MCP tools (through
    `ToolContext.request_approval`) in an interactive session, when the policy asks. The engine
    awaits `future`; a face resolves it with a ReviewDecision (`resolve`), locally or by
    submitting an `Approve` op. `ApprovalDecided` follows. A headless session never sends
    this: it declines at once with `ApprovalDecided(by="policy")`."""

    type: ClassVar[str] = "approval_requested"
    call_id: str
    kind: ApprovalKind
    reason: str
    command: list[str] | None = None
    cwd: str | None = None
    sandboxed: bool = True
    changes: list[FileChangeSummary] | None = None
    server: str | None = None  # kind "mcp": the server, its own name of the tool, the JSON arguments
    tool: str | None = None
    arguments: str | None = None
    justification: str | None = None
    """The model's own words for why it asks (an escalation's `justification`), already
    neutralized and clipped. Untrusted: shown apart from `reason`, marked as the model's."""
    future: asyncio.Future[ReviewDecision] | None = field(
        default=None, repr=False, compare=False, metadata={"json": False}
    )

    def resolve(self, decision: ReviewDecision) -> None:
        """Answer the request; a second answer, or one after the turn stopped waiting, is ignored."""
        if self.future is not None and not self.future.done():
            self.future.set_result(decision)


@dataclass
class ApprovalDecided(Event):
    """The decision on a call that needed approval: sent by `ToolContext.request_approval` after
    the user answered an `ApprovalRequested` (`by="user"`), or at once, with DENIED, when a
    headless session (`codeloop exec`) had nobody to ask (`by="policy"`). Calls the policy or a
    session approval let through unasked send neither event."""

    type: ClassVar[str] = "approval_decided"
    call_id: str
    decision: ReviewDecision
    by: DecidedBy
    reason: str | None = None
    """by "policy": codeloop's reason the call needed approval (exec prints it)."""
    justification: str | None = None
    """by "policy": the model's words, as in the ApprovalRequested it would have shown."""
    request: ApprovalRequested | None = None
    """by "policy": the request nobody could answer (the command, the files, the MCP tool), so
    exec can say what it declined."""


@dataclass
class PlanStep:
    """One step of the model's plan, as `PlanUpdated` carries it."""

    step: str
    status: Literal["pending", "in_progress", "completed"]


@dataclass
class PlanUpdated(Event):
    """The model's plan, whole: sent by the `update_plan` tool (tui/tools/plan.py) each time the
    model calls it with valid arguments."""

    type: ClassVar[str] = "plan_updated"
    plan: list[PlanStep]
    explanation: str | None = None
