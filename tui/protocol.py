"""The engine's protocol: operations in (imperative), events out (past tense).

The bottom layer: the engine (tui/engine), the tools (tui/tools) and every face (the app,
`codeloop exec`) import it, and it imports only the standard library, so a face or a remote client
needs nothing else to speak it (tests/test_layers.py holds it to that).

A face sends ops with `Session.submit(op)` and reads events from `Session.next_event()`. Events are
plain dataclasses so they serialise to JSON lines (`codeloop exec --json`, the rollout) without
ceremony; the only non-data member is the future an `ApprovalRequested` carries, which is
excluded from JSON. Each docstring below says who sends it and when (as Codex's
`codex-rs/protocol/src/protocol.rs` does).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

# The few values some fields take. Defined here, at the bottom, so config, safety and the tools
# import them from the protocol rather than the protocol from them.
ApprovalPolicy = Literal["untrusted", "on-request", "on-failure", "never"]
SandboxMode = Literal["read-only", "workspace-write", "danger-full-access"]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
ApprovalKind = Literal["exec", "patch", "mcp"]
DecidedBy = Literal["user", "policy"]
FileChangeKind = Literal["add", "delete", "update"]
McpServerState = Literal["starting", "ready", "failed", "disabled"]
CompactionReason = Literal["auto", "manual", "overflow"]
CacheMissReason = Literal[
    "model", "cache_key", "reasoning", "tools", "instructions", "compaction", "fork", "items_inserted",
    "history_rewritten", "provider_evicted",
]

# The output a call gets when the user stopped it (an interrupt, or an abort at its approval):
# Codex's words, which models trained on its transcripts know.
ABORTED_BY_USER = "aborted by user"


class ReviewDecision(str, enum.Enum):
    """What the user said to an approval request: the value an `ApprovalRequested`'s future is
    resolved with (by a face's approval dialog, or by an `Approve` op), echoed in `ApprovalDecided`.
    APPROVED_FOR_SESSION also lets the same command, the same MCP tool, or patches to the same
    files run unasked for the rest of the session; ABORT denies it and ends the turn
    (`TurnAborted`)."""

    APPROVED = "approved"
    APPROVED_FOR_SESSION = "approved_for_session"
    DENIED = "denied"
    ABORT = "abort"


# `**bold**`, `__bold__`, `*em*`, `_em_`: the marks go, the words stay.
_MARKDOWN_MARKS = re.compile(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1")

# ---------------------------------------------------------------- operations


@dataclass
class UserInput:
    """A user's message. Sent by the app when the user submits the composer (and by `/init` with
    its prompt) and by `codeloop exec` once, with the prompt. Starts a turn; sent while a turn
    runs, it is queued and recorded before the turn's next request to the model. `images` are
    paths of image files to attach (`-i`, the composer's chips); the engine reads and checks them
    when it records the message."""

    text: str
    images: list[str] = field(default_factory=list)


@dataclass
class Interrupt:
    """Stop the running turn (or `!` command, compaction, undo): its task is cancelled, running
    commands are killed and every open call gets an output. Sent by the app on Esc and Ctrl+C;
    exec interrupts the session directly on a signal. Ignored when nothing runs."""


@dataclass
class OverrideSettings:
    """Change settings for the following turns; the change is appended to the history (never
    rewritten) before the next request. Sent by the app's `/model`, `/approvals`, `/sandbox`
    (one field each, `/model` with an effort too); fields left None keep their value. The
    reasoning effort is a request parameter, not something the model is told."""

    model: str | None = None
    approval_policy: ApprovalPolicy | None = None
    sandbox_mode: SandboxMode | None = None
    cwd: str | None = None
    effort: ReasoningEffort | None = None


@dataclass
class Shutdown:
    """End the session: interrupt what runs, close the shell snapshots, the MCP servers, the
    rollout and the provider's connections. Sent by the app when it quits or replaces the
    session (`/new`, `/resume`), and by exec when its turn is over."""


@dataclass
class Compact:
    """Compact the conversation now. Sent by the app's `/compact`; runs as a task of its own
    (after the running turn, if any) announced by `CompactionStarted` and `CompactionDone`."""


@dataclass
class Undo:
    """Restore the working tree to before the last turn. Sent by the app's `/undo`; refused with
    a `WarningIssued` while a turn runs; ends with `UndoDone`."""


@dataclass
class RunUserShell:
    """Run a command the user typed (`!cmd`): no model, no approval, the session's sandbox.
    Sent by the app; refused with a `WarningIssued` while a turn runs.

    Its output is appended to the history as a user message, so the model sees it next time."""

    command: str


@dataclass
class Approve:
    """Answer the pending `ApprovalRequested` with id `call_id`, as data: for a face that cannot
    hold the request's future (a remote client over JSON). `Session.submit` resolves that
    request's future with `decision`, exactly as a local dialog would, and the engine goes on
    with `ApprovalDecided`. An `Approve` for a call id that has no pending request (unknown,
    already decided, or its turn ended) is ignored: nothing happens and nothing is raised."""

    call_id: str
    decision: ReviewDecision


@dataclass
class Backtrack:
    """Fork the conversation at an earlier message of the user's and send `text` in its place.
    Sent by the app when the user sends a message picked with Esc Esc (any face may send it).
    `nth_user_message` counts, from 0 and oldest first, the messages that can be forked: the
    user's own since the last compaction (`tui.engine.fork.fork_points`). The history is cut just
    before that message, so the next request repeats the earlier one's input byte for byte up to
    it; the rollout appends a `history_forked` line (the old branch stays in the file) and a turn
    runs with `text`, announced by `HistoryForked`. With `restore_files` the work tree is first
    put back to the undo snapshot taken before that message's turn; if that fails, a
    `WarningIssued` says why, nothing is forked and the turn ends unsent. Refused with a
    `WarningIssued` while a turn runs, for an unknown message or an empty text."""

    nth_user_message: int
    text: str
    restore_files: bool = False



@dataclass
class ReviewChanges:
    """Review `diff` in a review turn of its own: the model gets our review prompt and the diff,
    no tools and none of the conversation; the findings come back in `ReviewCompleted` and are
    appended to the history, so later turns can act on them. Sent by the app's `/review` with
    the diff it took from hardened git; `target` says what it is ("uncommitted changes")."""

    target: str
    diff: str



Op = (
    UserInput | Interrupt | OverrideSettings | Shutdown | Compact | Undo | RunUserShell | Approve | Backtrack
    | ReviewChanges
)


# ---------------------------------------------------------------- events


@dataclass
class Event:
    """Something the engine did, sent by the session (`Session.emit`, which the tools reach as
    `ToolContext.emit`) to whoever reads `next_event()`; the kinds listed in the session's
    `_PERSISTED_EVENTS` are also written to the rollout. `type` is the JSON name."""

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
        fields = (f for f in dataclasses.fields(value) if f.metadata.get("json", True))
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class ReviewFinding:
    """One finding of a review: `priority` 0 (must fix) to 3 (nit); `path` relative to the
    repository's top and `line` in the new file, or None when the model gave none."""

    title: str
    body: str
    priority: int
    path: str
    line: int | None


@dataclass
class ReviewCompleted(Event):
    """A review turn ended: its findings by priority, parsed from the model's JSON answer, with
    its overall verdict. When the answer could not be read as findings (`parsed` False),
    `findings` is empty and `text` is the answer as written. Sent by the engine before the
    turn's TurnCompleted."""

    type: ClassVar[str] = "review_completed"
    target: str
    findings: list[ReviewFinding]
    overall: str
    text: str
    parsed: bool = True


@dataclass
class SessionConfigured(Event):
    """The session is built: the first event, sent once by `Session.__init__` (a new session or a
    resumed one), with the settings it starts under."""

    type: ClassVar[str] = "session_configured"
    session_id: str
    model: str
    cwd: str
    approval_policy: ApprovalPolicy
    sandbox_mode: SandboxMode
    rollout_path: str | None


@dataclass
class TurnStarted(Event):
    """A task began: sent by the session before a turn (`UserInput`), a `Compact`, an `Undo` or a
    `RunUserShell` runs. Exactly one of `TurnCompleted`, `TurnAborted`, `TurnFailed` follows with
    the same `turn_id`."""

    type: ClassVar[str] = "turn_started"
    turn_id: str
    model_context_window: int | None = None


@dataclass
class UserMessageRecorded(Event):
    """A user's message was appended to the history: sent by the turn loop at a turn's start, and
    for each message queued during the turn, before the request that carries it. `images` are
    the chips of the images it carries ("[image: shot.png 120 KB]")."""

    type: ClassVar[str] = "user_message"
    text: str
    images: list[str] = field(default_factory=list)


@dataclass
class AgentMessageDelta(Event):
    """A piece of the model's answer as it streams: sent by the turn loop for each text delta;
    `AgentMessage` follows with the whole text."""

    type: ClassVar[str] = "agent_message_delta"
    delta: str


@dataclass
class AgentMessage(Event):
    """A whole assistant message: sent by the turn loop when its output item is done, with the
    provider's `phase` (e.g. "commentary", "final_answer") when it gives one."""

    type: ClassVar[str] = "agent_message"
    text: str
    phase: str | None = None


@dataclass
class ReasoningDelta(Event):
    """A piece of the model's reasoning summary as it streams: sent by the turn loop."""

    type: ClassVar[str] = "reasoning_delta"
    delta: str


@dataclass
class ReasoningSummary(Event):
    """A reasoning item's whole summary: sent by the turn loop when the item is done (not for an
    empty summary)."""

    type: ClassVar[str] = "reasoning"
    text: str  # Markdown: models title each part `**Planning the fix**`

    def headline(self) -> str:
        """The first line as plain words: Markdown's emphasis, heading and code marks dropped."""
        first = next((line for line in self.text.splitlines() if line.strip()), "")
        plain = _MARKDOWN_MARKS.sub(r"\2", first.strip().lstrip("#").strip())
        return plain.replace("`", "").strip()


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


@dataclass
class TokenUsage(Event):
    """The provider's reported usage for one response: sent by the session when a response
    completes, with the session's running total."""

    type: ClassVar[str] = "token_usage"
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    total_tokens: int
    session_total_tokens: int
    model_context_window: int | None = None


@dataclass
class CacheMissed(Event):
    """A request read less from the provider's prompt cache than the previous request's input
    (beyond the 128-token blocks it caches in): sent by the session right after that response's
    `TokenUsage`, never for a new session's first request (a resumed session's is compared with
    the last request its rollout measured). `reason` is the first difference the engine
    sees between the two requests (tui/engine/cache_miss.py), "provider_evicted" when the previous
    input went out unchanged (only once the provider reported a cached token in the session);
    `request` counts the session's measured requests from 1."""

    type: ClassVar[str] = "cache_missed"
    reason: CacheMissReason
    detail: str
    expected_cached_tokens: int
    cached_input_tokens: int
    request: int


@dataclass
class ContextEstimated(Event):
    """Before a request: tokens appended since the last reported usage (an estimate). Sent by the
    turn loop before each sampling request (after any automatic compaction)."""

    type: ClassVar[str] = "context_estimated"
    pending_tokens: int
    approximate: bool


@dataclass
class CompactionStarted(Event):
    """Compaction starts: sent by the session when the context nears the window before a request
    ("auto"), when the provider refused a request as too long ("overflow") or on `Compact`
    ("manual"). `CompactionDone` follows when it succeeds."""

    type: ClassVar[str] = "compaction_started"
    reason: CompactionReason
    tokens: int


@dataclass
class CompactionDone(Event):
    """The history was replaced by its compacted form: sent by the session, naming how it was
    summarised ("remote": the provider's compact endpoint; "local": a summary request)."""

    type: ClassVar[str] = "compaction_done"
    before_tokens: int
    after_tokens: int  # an estimate until the next response reports usage
    method: Literal["remote", "local"]
    reason: CompactionReason


@dataclass
class UndoDone(Event):
    """The working tree was restored to before the last turn: sent by the session on `Undo`, with
    the paths it restored (a note is appended to the history for the model)."""

    type: ClassVar[str] = "undo_done"
    paths: list[str]


@dataclass
class HistoryForked(Event):
    """The conversation was forked (a `Backtrack` op): sent by the session in the turn the op
    started, after `TurnStarted` and before the edited message's `UserMessageRecorded`. The
    history now ends where message `nth_user_message` stood (`kept_items` items, `dropped_items`
    after them are gone from what the model sees); `restored_paths` lists the files put back
    from that turn's undo snapshot, None when files were not restored."""

    type: ClassVar[str] = "history_forked"
    nth_user_message: int
    kept_items: int
    dropped_items: int
    restored_paths: list[str] | None = None


@dataclass
class StreamRetrying(Event):
    """A request to the provider failed and will be tried again in `delay_s`: sent by the turn
    loop before it waits. Faces show one line for the whole series, updated in place
    (`describe`)."""

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
    """Something the user should know that does not stop the session: sent by the session (an op
    refused while a turn runs, nothing to compact or undo, the rollout stopped recording, the MCP
    tools differ from the recorded ones), by bootstrap (config notices) and by `!` commands."""

    type: ClassVar[str] = "warning"
    message: str


@dataclass
class Error(Event):
    """A turn failed: sent by the session right before `TurnFailed`, with the model error's text
    (or "internal error: …" for a bug)."""

    type: ClassVar[str] = "error"
    message: str


@dataclass
class TurnCompleted(Event):
    """A task that `TurnStarted` announced ended normally: sent by the session, with the turn's
    last assistant message (None for a task with no answer)."""

    type: ClassVar[str] = "turn_completed"
    turn_id: str
    last_agent_message: str | None


@dataclass
class TurnAborted(Event):
    """A task was stopped: sent by the session on an `Interrupt` (reason "interrupted") or when
    the user answered an approval with ABORT ("aborted at an approval"), after every open call
    got an output."""

    type: ClassVar[str] = "turn_aborted"
    turn_id: str
    reason: str


@dataclass
class TurnFailed(Event):
    """A task failed (the provider gave up or an internal error): sent by the session after
    `Error`. The session stays usable."""

    type: ClassVar[str] = "turn_failed"
    turn_id: str
    message: str
