"""Events of the session and its turns: messages, reasoning, tokens, the cache, compaction,
forks, retries, warnings and how a turn ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from tui.protocol.base import (
    _MARKDOWN_MARKS,
    ApprovalPolicy,
    CacheMissReason,
    CompactionReason,
    Event,
    SandboxMode,
)


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
