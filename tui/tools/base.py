"""What a tool handler gets and gives: the call, the turn's context, and one result."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal

from pydantic import BaseModel, ValidationError

from tui.config import ShellEnvironmentPolicy
from tui.protocol import (
    ApprovalDecided,
    ApprovalPolicy,
    ApprovalRequested,
    Event,
    ReviewDecision,
)
from tui.safety.approvals import ApprovalStore
from tui.safety.sandbox import SandboxPolicy
from tui.tools.shell_snapshot import SnapshotCache


class TurnAbortRequested(Exception):
    """The user chose "abort" in an approval: the whole turn stops."""


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    name: str
    kind: Literal["function", "custom"]
    payload: str  # JSON arguments for functions, raw text for custom tools

    def output_item(self, output: str | list[dict[str, Any]]) -> dict[str, Any]:
        kind = "custom_tool_call_output" if self.kind == "custom" else "function_call_output"
        return {"type": kind, "call_id": self.call_id, "output": output}


# Lone UTF-16 surrogates: what a `\udcff` escape in the model's JSON arguments decodes to, and
# what a non-UTF-8 byte of a file read with "surrogateescape" becomes.
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, so that it can be encoded as UTF-8."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


@dataclass
class ToolResult:
    output: str
    success: bool
    content: list[dict[str, Any]] | None = None
    """What the model gets instead of `output` when set: Responses API content parts
    (`input_text`, `input_image`), for a result with images (an MCP tool's). `output` stays its
    text, for the faces and for providers that take no images."""

    def __post_init__(self) -> None:
        # The output goes back to the model as UTF-8 JSON, which cannot carry a lone surrogate
        # (say, an argument echoed in an error): that request would fail, and every later one,
        # since the output stays in the history.
        self.output = valid_text(self.output)
        for part in self.content or ():
            if isinstance(part.get("text"), str):
                part["text"] = valid_text(part["text"])

    @property
    def model_output(self) -> str | list[dict[str, Any]]:
        return self.content if self.content is not None else self.output


HEADLESS_DECLINE = (
    "This call needs the user's approval, but codeloop is running headless (`codeloop exec`) "
    "with nobody to ask, so it was declined. Do without it, or tell the user to rerun with a "
    "looser policy (e.g. --full-auto)."
)


@dataclass
class ToolContext:
    """The settings a call runs under, fixed for the duration of one turn."""

    cwd: Path
    approval_policy: ApprovalPolicy
    sandbox: SandboxPolicy
    tool_output_token_limit: int
    approvals: ApprovalStore
    emit: Callable[[Event], None]
    interactive: bool
    default_timeout_s: float = 600.0
    shell_environment_policy: ShellEnvironmentPolicy | None = None
    shell_snapshots: SnapshotCache | None = None  # the session's; None runs `bash -lc` as asked
    interrupted_outputs: dict[str, str] = field(default_factory=dict)
    """call_id → the output a call stopped by an interrupt reports (what it printed, the wall
    time); calls not listed get the bare "aborted by user"."""
    _ask: Callable[[ApprovalRequested], Awaitable[ReviewDecision]] | None = field(
        default=None, repr=False
    )

    async def request_approval(self, request: ApprovalRequested) -> ReviewDecision:
        """Emit the request and await the user's decision; headless sessions decline."""
        if not self.interactive:
            self.emit(
                ApprovalDecided(
                    request.call_id, ReviewDecision.DENIED, "policy",
                    reason=request.reason, justification=request.justification, request=request,
                )
            )  # fmt: skip
            return ReviewDecision.DENIED
        request.future = asyncio.get_running_loop().create_future()
        self.emit(request)
        try:
            decision = await request.future
        except asyncio.CancelledError:
            request.resolve(ReviewDecision.ABORT)
            raise
        self.emit(ApprovalDecided(request.call_id, decision, "user"))
        if decision is ReviewDecision.ABORT:
            raise TurnAbortRequested()
        return decision

    def declined_message(self, what: str) -> str:
        if not self.interactive:
            return HEADLESS_DECLINE
        return f"The user declined {what}. Do not retry it unchanged; ask or take another way."


def parse_arguments(model: type[BaseModel], payload: str) -> BaseModel | str:
    """Parse JSON arguments; on failure return a message that tells the model what was wrong."""
    try:
        raw = json.loads(payload or "{}")
    except json.JSONDecodeError as e:
        return f"could not parse the arguments as JSON ({e.msg} at position {e.pos}); send a JSON object."
    except RecursionError:  # `[[[[…` nested deeper than the parser's stack
        return "could not parse the arguments as JSON (nested too deeply); send a flat JSON object."
    if not isinstance(raw, dict):
        return "the arguments must be a JSON object."
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in e.errors()
        )
        return f"invalid arguments: {problems}."
