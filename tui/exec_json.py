"""`codeloop exec --json`: the engine's events as Codex's `exec --json` lines, so a script written
for `codex exec --json` (or Codex's TypeScript SDK) reads ours.

The format is Codex's (`codex-rs/exec/src/exec_events.rs`, `sdk/typescript/src/events.ts` and
`items.ts`; tests/data/codex_exec_events.schema.json holds it and every test run is checked
against it): `thread.started`, `turn.started`, `item.started` / `item.updated` /
`item.completed` with items numbered `item_0`, `item_1`, … in the order they appear,
`turn.completed` with the turn's usage, `turn.failed`, `error`. What Codex has no line for
(compaction, each response's token and cache figures, retries, an interrupted turn) is printed as
codeloop's own event under a `codeloop.` type, which tools written for Codex skip as unknown.

As Codex does, the agent's messages and reasoning arrive whole (`item.completed` only); a
running command's output comes with its `item.completed` (`codeloop exec --engine-events` prints
it live). A call exec declined is one `item.completed`: a command as `declined`, a patch and an
MCP call as `failed` (Codex's mapping of a declined patch). Every string is redacted; JSON
escapes control characters (the C1 ones too, see `json_line`), so nothing reaches a terminal.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any, ClassVar, TextIO

from tui import protocol as ev
from tui import wording
from tui.dispatch import handler, renders
from tui.safety.redact import Redactor
from tui.safety.terminal_text import neutralize

# json.dumps(ensure_ascii=False) escapes C0 controls but leaves DEL and the 8-bit C1 ones
# (0x9b CSI, 0x9d OSC) raw; they can only occur inside strings, where \u escapes mean the same.
_JSON_C1_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}

EXTRA_PREFIX = "codeloop."


def json_line(value: Any, *, compact: bool = False) -> str:
    """One JSON line holding no raw control character (C0, DEL or C1); `compact`: no spaces
    after separators, as Codex (serde) writes its lines."""
    separators = (",", ":") if compact else None
    return json.dumps(value, ensure_ascii=False, separators=separators).translate(_JSON_C1_ESCAPES)


def _arguments(text: str) -> Any:
    """An MCP call's arguments as JSON (Codex prints the object), else as the text sent."""
    try:
        return json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        return text


class CodexJsonLines:
    """The `--json` face: Codex's event lines on `out`; a failed turn also says so on stderr."""

    IGNORED: ClassVar[frozenset[type[ev.Event]]] = frozenset(
        {
            ev.UserMessageRecorded,  # Codex prints no line for the prompt
            ev.AgentMessageDelta,  # messages and reasoning arrive whole, as Codex's do
            ev.ReasoningDelta,
            ev.ToolCallProposed,  # a call is an item when it runs (or is declined)
            ev.ExecCommandOutputDelta,  # the output comes with item.completed
            ev.ToolCallEnded,  # the item's own end said it
            ev.ApprovalRequested,  # never sent to a headless session
            ev.McpElicitationRequested,  # never sent either: the MCP manager declines for exec
            ev.ReviewCompleted,  # exec starts no review (/review is the app's)
            ev.ContextEstimated,
            ev.UndoDone,  # exec sends no Undo
        }
    )

    def __init__(self, out: TextIO, redactor: Redactor, err: TextIO | None = None) -> None:
        self.out = out
        self.err = err
        self.redactor = redactor
        self.cwd = Path.cwd()
        self._next_item = 0
        self._open: dict[str, str] = {}  # call id → the id of its started item
        # What a started item's end does not repeat, by call id (the end's item is whole again).
        self._commands: dict[str, list[str]] = {}
        self._patches: dict[str, list[dict[str, str]]] = {}
        self._mcp_arguments: dict[str, str] = {}
        self._todo: tuple[str, list[dict[str, Any]]] | None = None  # the turn's to-do list item
        self._usage = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0, "reasoning_output_tokens": 0}

    def show(self, event: ev.Event) -> None:
        render = handler(self, event)
        if render is not None:
            render(event)

    def emit(self, value: dict[str, Any]) -> None:
        print(json_line(self.redactor.redact_json(value), compact=True), file=self.out, flush=True)

    def _new_id(self) -> str:
        item_id = f"item_{self._next_item}"
        self._next_item += 1
        return item_id

    def _started(self, call_id: str, item: dict[str, Any]) -> None:
        item_id = self._open[call_id] = self._new_id()
        self.emit({"type": "item.started", "item": {"id": item_id, **item}})

    def _completed(self, item: dict[str, Any], call_id: str | None = None) -> str:
        item_id = (self._open.pop(call_id, None) if call_id is not None else None) or self._new_id()
        self.emit({"type": "item.completed", "item": {"id": item_id, **item}})
        return item_id

    def _extra(self, e: ev.Event) -> None:
        self.emit({**e.to_json(), "type": EXTRA_PREFIX + e.type})

    # ------------------------------------------------------------ the thread and its turn

    @renders(ev.SessionConfigured)
    def _configured(self, e: ev.SessionConfigured) -> None:
        self.cwd = Path(e.cwd)
        self.emit({"type": "thread.started", "thread_id": e.session_id})

    @renders(ev.TurnStarted)
    def _turn_started(self, e: ev.TurnStarted) -> None:
        self.emit({"type": "turn.started"})

    def _close_todo(self) -> None:
        """Codex completes the to-do list when the turn ends, however it ends."""
        if self._todo is not None:
            item_id, items = self._todo
            self._todo = None
            self.emit({"type": "item.completed", "item": {"id": item_id, "type": "todo_list", "items": items}})

    @renders(ev.TurnCompleted)
    def _turn_completed(self, e: ev.TurnCompleted) -> None:
        self._close_todo()
        self.emit({"type": "turn.completed", "usage": dict(self._usage)})

    @renders(ev.TurnFailed)
    def _turn_failed(self, e: ev.TurnFailed) -> None:
        self._close_todo()
        self.emit({"type": "turn.failed", "error": {"message": e.message}})
        text = neutralize(self.redactor.redact(f"codeloop: {wording.turn_failed(e.message)}"))
        print(text, file=self.err or sys.stderr, flush=True)

    @renders(ev.TurnAborted)
    def _turn_aborted(self, e: ev.TurnAborted) -> None:
        # Codex prints nothing when a turn is interrupted; a line of ours says why it stopped.
        self._close_todo()
        self._extra(e)

    @renders(ev.Error)
    def _error(self, e: ev.Error) -> None:
        self.emit({"type": "error", "message": e.message})

    # ------------------------------------------------------------ items

    @renders(ev.AgentMessage)
    def _message(self, e: ev.AgentMessage) -> None:
        self._completed({"type": "agent_message", "text": e.text})

    @renders(ev.ReasoningSummary)
    def _reasoning(self, e: ev.ReasoningSummary) -> None:
        self._completed({"type": "reasoning", "text": e.text})

    @staticmethod
    def _command(command: list[str], output: str, exit_code: int | None, status: str) -> dict[str, Any]:
        return {
            "type": "command_execution", "command": shlex.join(command), "aggregated_output": output,
            "exit_code": exit_code, "status": status,
        }  # fmt: skip

    @renders(ev.ExecCommandBegan)
    def _command_began(self, e: ev.ExecCommandBegan) -> None:
        self._started(e.call_id, self._command(e.command, "", None, "in_progress"))
        self._commands[e.call_id] = e.command

    @renders(ev.ExecCommandEnded)
    def _command_ended(self, e: ev.ExecCommandEnded) -> None:
        command = self._commands.pop(e.call_id, [])
        ok = e.exit_code == 0 and not e.timed_out and not e.interrupted
        self._completed(self._command(command, e.output, e.exit_code, "completed" if ok else "failed"), e.call_id)

    def _changes(self, changes: list[ev.FileChangeSummary]) -> list[dict[str, str]]:
        # Codex gives absolute paths; a move is an update of the file it starts from.
        return [{"path": str(self.cwd / c.path), "kind": c.kind} for c in changes]

    @renders(ev.PatchApplyBegan)
    def _patch_began(self, e: ev.PatchApplyBegan) -> None:
        changes = self._changes(e.changes)
        self._patches[e.call_id] = changes
        self._started(e.call_id, {"type": "file_change", "changes": changes, "status": "in_progress"})

    @renders(ev.PatchApplyEnded)
    def _patch_ended(self, e: ev.PatchApplyEnded) -> None:
        changes = self._patches.pop(e.call_id, [])
        status = "completed" if e.success else "failed"
        self._completed({"type": "file_change", "changes": changes, "status": status}, e.call_id)

    @staticmethod
    def _mcp(server: str, tool: str, arguments: str, status: str, **outcome: Any) -> dict[str, Any]:
        return {
            "type": "mcp_tool_call", "server": server, "tool": tool, "arguments": _arguments(arguments),
            "result": None, "error": None, "status": status, **outcome,
        }  # fmt: skip

    @renders(ev.McpToolCallBegan)
    def _mcp_began(self, e: ev.McpToolCallBegan) -> None:
        self._mcp_arguments[e.call_id] = e.arguments
        self._started(e.call_id, self._mcp(e.server, e.tool, e.arguments, "in_progress"))

    @renders(ev.McpToolCallEnded)
    def _mcp_ended(self, e: ev.McpToolCallEnded) -> None:
        arguments = self._mcp_arguments.pop(e.call_id, "")
        if e.success:
            result = {"content": [{"type": "text", "text": e.output}], "structured_content": None}
            item = self._mcp(e.server, e.tool, arguments, "completed", result=result)
        else:
            item = self._mcp(e.server, e.tool, arguments, "failed", error={"message": e.output})
        self._completed(item, e.call_id)

    @renders(ev.WebSearchEnded)
    def _web_search(self, e: ev.WebSearchEnded) -> None:
        action: dict[str, Any] = {"type": e.action}
        if e.action == "search":
            action["query"] = e.query
        else:
            action["url"] = e.url
            if e.action == "find_in_page":
                action["pattern"] = e.pattern
        query = e.query or e.pattern or e.url or ""
        self._completed({"type": "web_search", "query": query, "action": action})

    @renders(ev.PlanUpdated)
    def _plan(self, e: ev.PlanUpdated) -> None:
        items = [{"text": s.step, "completed": s.status == "completed"} for s in e.plan]
        if self._todo is None:
            self._todo = (self._new_id(), items)
            kind = "item.started"
        else:
            self._todo = (self._todo[0], items)
            kind = "item.updated"
        self.emit({"type": kind, "item": {"id": self._todo[0], "type": "todo_list", "items": items}})

    @renders(ev.ApprovalDecided)
    def _decided(self, e: ev.ApprovalDecided) -> None:
        request = e.request
        if e.by != "policy" or request is None:
            return
        if request.kind == "exec":
            item = self._command(request.command or [], "", None, "declined")
        elif request.kind == "patch":
            item = {"type": "file_change", "changes": self._changes(request.changes or []), "status": "failed"}
        else:
            message = f"declined: {wording.NOBODY_TO_ASK}"
            item = self._mcp(request.server or "", request.tool or "", request.arguments or "", "failed", error={"message": message})
        item_id = self._completed(item)
        self.emit({"type": EXTRA_PREFIX + "declined", "item_id": item_id, "call_id": e.call_id, "reason": e.reason})

    @renders(ev.WarningIssued)
    def _warning(self, e: ev.WarningIssued) -> None:
        self._completed({"type": "error", "message": e.message})  # Codex's warnings are error items

    @renders(ev.McpServerStatus)
    def _mcp_server(self, e: ev.McpServerStatus) -> None:
        if e.state == "failed":
            self._completed({"type": "error", "message": wording.mcp_server_failed(e.server, e.reason)})

    # ------------------------------------------------------------ codeloop's extras

    @renders(ev.TokenUsage)
    def _usage_line(self, e: ev.TokenUsage) -> None:
        self._usage["input_tokens"] += e.input_tokens
        self._usage["cached_input_tokens"] += e.cached_input_tokens
        self._usage["output_tokens"] += e.output_tokens
        self._usage["reasoning_output_tokens"] += e.reasoning_tokens
        self._extra(e)

    @renders(ev.CompactionStarted)
    def _compacting(self, e: ev.CompactionStarted) -> None:
        self._extra(e)

    @renders(ev.CompactionDone)
    def _compacted(self, e: ev.CompactionDone) -> None:
        self._extra(e)

    @renders(ev.StreamRetrying)
    def _retrying(self, e: ev.StreamRetrying) -> None:
        self._extra(e)

    @renders(ev.CacheMissed)
    def _cache_missed(self, e: ev.CacheMissed) -> None:
        self._extra(e)

    @renders(ev.HistoryForked)
    def _forked(self, e: ev.HistoryForked) -> None:
        self._extra(e)

    @renders(ev.McpToolCallProgress)
    def _mcp_progress(self, e: ev.McpToolCallProgress) -> None:
        self._extra(e)
