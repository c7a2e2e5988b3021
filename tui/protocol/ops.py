"""Operations: what a face asks the engine to do (imperative), with `Session.submit(op)`."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.protocol.base import (
    ApprovalPolicy,
    ReasoningEffort,
    ReviewDecision,
    SandboxMode,
)


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
