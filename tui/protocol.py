"""The engine's protocol: operations in (imperative), events out (past tense).

The TUI and `codeloop exec` are two clients of this one protocol. Events are plain dataclasses
so they serialise to JSON lines (`codeloop exec --json`, the rollout) without ceremony; the only
non-data member is the future an `ApprovalRequested` carries, which is excluded from JSON.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ReviewDecision(str, enum.Enum):
    """What the user said to an approval request."""

    APPROVED = "approved"
    APPROVED_FOR_SESSION = "approved_for_session"
    DENIED = "denied"
    ABORT = "abort"


# `**bold**`, `__bold__`, `*em*`, `_em_`: the marks go, the words stay.
_MARKDOWN_MARKS = re.compile(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1")

# ---------------------------------------------------------------- operations


@dataclass
class UserInput:
    text: str


@dataclass
class Interrupt:
    pass


@dataclass
class OverrideSettings:
    """Change settings for the following turns; the change is appended to the history."""

    model: str | None = None
    approval_policy: str | None = None
    sandbox_mode: str | None = None
    cwd: str | None = None


@dataclass
class Shutdown:
    pass


@dataclass
class Compact:
    """Compact the conversation now (`/compact`)."""


@dataclass
class Undo:
    """Restore the working tree to before the last turn (`/undo`)."""


@dataclass
class RunUserShell:
    """Run a command the user typed (`!cmd`): no model, no approval, the session's sandbox.

    Its output is appended to the history as a user message, so the model sees it next time."""

    command: str


Op = UserInput | Interrupt | OverrideSettings | Shutdown | Compact | Undo | RunUserShell


# ---------------------------------------------------------------- events


@dataclass
class Event:
    type: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            if f.metadata.get("json", True):
                out[f.name] = _jsonable(getattr(self, f.name))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class SessionConfigured(Event):
    type: ClassVar[str] = "session_configured"
    session_id: str
    model: str
    cwd: str
    approval_policy: str
    sandbox_mode: str
    rollout_path: str | None


@dataclass
class TurnStarted(Event):
    type: ClassVar[str] = "turn_started"
    turn_id: str
    model_context_window: int | None = None


@dataclass
class UserMessageRecorded(Event):
    type: ClassVar[str] = "user_message"
    text: str


@dataclass
class AgentMessageDelta(Event):
    type: ClassVar[str] = "agent_message_delta"
    delta: str


@dataclass
class AgentMessage(Event):
    type: ClassVar[str] = "agent_message"
    text: str
    phase: str | None = None


@dataclass
class ReasoningDelta(Event):
    type: ClassVar[str] = "reasoning_delta"
    delta: str


@dataclass
class ReasoningSummary(Event):
    type: ClassVar[str] = "reasoning"
    text: str  # Markdown: models title each part `**Planning the fix**`

    def headline(self) -> str:
        """The first line as plain words: Markdown's emphasis, heading and code marks dropped."""
        first = next((line for line in self.text.splitlines() if line.strip()), "")
        plain = _MARKDOWN_MARKS.sub(r"\2", first.strip().lstrip("#").strip())
        return plain.replace("`", "").strip()


@dataclass
class ToolCallProposed(Event):
    """The model asked for a tool call (emitted at `output_item.done`, before anything runs)."""

    type: ClassVar[str] = "tool_call_proposed"
    call_id: str
    name: str
    arguments: str


@dataclass
class ExecCommandBegan(Event):
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
    type: ClassVar[str] = "exec_command_ended"
    call_id: str
    exit_code: int
    duration_s: float
    output: str
    timed_out: bool = False
    interrupted: bool = False  # the user stopped it (Esc, Ctrl+C, a signal to exec); `output` is what it printed until then


@dataclass
class FileChangeSummary:
    path: str
    kind: str
    added: int
    removed: int
    diff: str
    move_to: str | None = None


@dataclass
class PatchApplyBegan(Event):
    type: ClassVar[str] = "patch_apply_began"
    call_id: str
    changes: list[FileChangeSummary]


@dataclass
class PatchApplyEnded(Event):
    type: ClassVar[str] = "patch_apply_ended"
    call_id: str
    success: bool
    output: str


@dataclass
class McpServerStatus(Event):
    """An MCP server changed state: "starting", "ready" (with the tools it offers), "failed"
    (with the reason: it did not start, or it exited later) or "disabled"."""

    type: ClassVar[str] = "mcp_server_status"
    server: str
    state: str
    reason: str | None = None
    tools: list[str] = field(default_factory=list)


@dataclass
class McpToolCallBegan(Event):
    type: ClassVar[str] = "mcp_tool_call_began"
    call_id: str
    server: str
    tool: str
    arguments: str


@dataclass
class McpToolCallEnded(Event):
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
    """Every call ends with exactly one of these, carrying the output the model gets."""

    type: ClassVar[str] = "tool_call_ended"
    call_id: str
    name: str
    output: str
    success: bool


@dataclass
class WebSearchEnded(Event):
    """The provider ran a hosted web search for the model (a `web_search_call` item)."""

    type: ClassVar[str] = "web_search_ended"
    action: str  # "search" | "open_page" | "find_in_page"
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
    """The engine awaits `future`; a client resolves it with a ReviewDecision."""

    type: ClassVar[str] = "approval_requested"
    call_id: str
    kind: str  # "exec" | "patch" | "mcp"
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
        if self.future is not None and not self.future.done():
            self.future.set_result(decision)


@dataclass
class ApprovalDecided(Event):
    type: ClassVar[str] = "approval_decided"
    call_id: str
    decision: ReviewDecision
    by: str  # "user" | "policy" | "session"
    reason: str | None = None
    """by "policy": codeloop's reason the call needed approval (exec prints it)."""
    justification: str | None = None
    """by "policy": the model's words, as in the ApprovalRequested it would have shown."""


@dataclass
class PlanStep:
    step: str
    status: str


@dataclass
class PlanUpdated(Event):
    type: ClassVar[str] = "plan_updated"
    plan: list[PlanStep]
    explanation: str | None = None


@dataclass
class TokenUsage(Event):
    type: ClassVar[str] = "token_usage"
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    total_tokens: int
    session_total_tokens: int
    model_context_window: int | None = None


@dataclass
class ContextEstimated(Event):
    """Before a request: tokens appended since the last reported usage (an estimate)."""

    type: ClassVar[str] = "context_estimated"
    pending_tokens: int
    approximate: bool


@dataclass
class CompactionStarted(Event):
    type: ClassVar[str] = "compaction_started"
    reason: str  # "auto" | "manual" | "overflow"
    tokens: int


@dataclass
class CompactionDone(Event):
    type: ClassVar[str] = "compaction_done"
    before_tokens: int
    after_tokens: int  # an estimate until the next response reports usage
    method: str  # "remote" | "local"
    reason: str


@dataclass
class UndoDone(Event):
    type: ClassVar[str] = "undo_done"
    paths: list[str]


@dataclass
class StreamRetrying(Event):
    """A request to the provider failed and will be tried again in `delay_s`. Faces show one
    line for the whole series, updated in place (`describe`)."""

    type: ClassVar[str] = "stream_retrying"
    attempt: int
    max_attempts: int
    delay_s: float
    reason: str
    kind: str = "other"  # ModelError.kind: unreachable, auth, rate_limit, server, stream, other
    url: str = ""  # the provider's base URL

    def describe(self) -> str:
        return (
            f"{failing(self.kind, self.url)} ({self.reason}) · retry {self.attempt}/{self.max_attempts} "
            f"in {self.delay_s:.1f}s…"
        )


def failing(kind: str, url: str) -> str:
    """The first words of a retry line or a failed turn's message: what is failing, against which
    address. Here, beside `StreamRetrying`, so the protocol needs nothing above it; the engine's
    retry_text words the failed turn with it too."""
    return {
        "unreachable": f"Cannot reach {url}",
        "auth": f"{url} refused the key",
        "rate_limit": f"Rate limited by {url}",
        "server": f"Server error from {url}",
        "stream": f"The stream from {url} broke",
    }.get(kind, f"The request to {url} failed")


@dataclass
class WarningIssued(Event):
    type: ClassVar[str] = "warning"
    message: str


@dataclass
class Error(Event):
    type: ClassVar[str] = "error"
    message: str


@dataclass
class TurnCompleted(Event):
    type: ClassVar[str] = "turn_completed"
    turn_id: str
    last_agent_message: str | None


@dataclass
class TurnAborted(Event):
    type: ClassVar[str] = "turn_aborted"
    turn_id: str
    reason: str


@dataclass
class TurnFailed(Event):
    type: ClassVar[str] = "turn_failed"
    turn_id: str
    message: str
