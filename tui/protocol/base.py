"""The protocol's ground: the few values some fields take, the user's decision on an approval,
and `Event`, the base of every event (its JSON form)."""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass
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
