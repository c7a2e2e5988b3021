"""The transcript's items, built from the session's log of events (`Session.log`, which a resume
fills from the rollout): every message, every command with the whole output the model got (not
the cell's last lines), every patch, plan, notice and compaction marker, as plain text.

Text only, no Textual: the transcript view (widgets/transcript_view.py) lays it out. Every
string is neutralized (tui/safety/terminal_text.py, as the event pump does) and redacted here,
the one way in: the log holds events as the engine emitted them.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from tui import protocol as ev
from tui import wording
from tui.app.widgets.plan import STATUS_MARKS
from tui.safety.redact import default_redactor
from tui.safety.terminal_text import displayable, neutralize

Kind = Literal["user", "assistant", "reasoning", "command", "tool", "patch", "plan", "notice", "warning", "error", "marker"]


@dataclass
class Item:
    """One entry of the transcript: a heading line and the text under it."""

    kind: Kind
    heading: str
    body: list[str] = field(default_factory=list)

    def text(self) -> str:
        """What `c` copies: the heading and the body, as shown."""
        return "\n".join([self.heading, *self.body]).rstrip("\n")


def transcript_items(log: Iterable[ev.Event]) -> list[Item]:
    items: list[Item] = []
    commands: dict[str, Item] = {}  # call_id → its item, filled in as the command ends
    full_output: set[str] = set()  # call ids whose item holds the output the model got
    redact = default_redactor().redact

    def red(text: str) -> str:
        return redact(neutralize(text))

    def strict(text: str) -> str:  # what runs or is touched reads exactly (terminal_text.py)
        return redact(neutralize(text, strict=True))

    for e in log:
        if isinstance(e, ev.UserMessageRecorded):
            items.append(Item("user", "› You", _lines(red(e.text))))
        elif isinstance(e, ev.AgentMessage):
            items.append(Item("assistant", "• codeloop", _lines(red(e.text))))
        elif isinstance(e, ev.ReasoningSummary):
            items.append(Item("reasoning", f"• {wording.thinking(red(e.headline()) or 'reasoning')}", _lines(red(e.text))))
        elif isinstance(e, ev.WebSearchEnded):
            items.append(Item("tool", f"• {red(e.describe())}"))
        elif isinstance(e, ev.ExecCommandBegan):
            line = e.display if e.display is not None else shlex.join(e.command)
            where = f"  (in {strict(e.cwd)})" if e.cwd else ""
            item = Item("command", f"$ {strict(line)}{where}")
            commands[e.call_id] = item
            items.append(item)
        elif isinstance(e, ev.ExecCommandEnded):
            item = commands.get(e.call_id) or _orphan(items, commands, e.call_id)
            state = wording.command_state(e.exit_code, e.timed_out, e.interrupted)
            item.heading += f"  [{state}, {e.duration_s:.1f}s]"
            if e.call_id not in full_output:
                item.body = _lines(red(e.output))
        elif isinstance(e, ev.ToolCallEnded) and e.call_id in commands:
            commands[e.call_id].body = _lines(red(e.output))  # whole: what the model read
            full_output.add(e.call_id)
        elif isinstance(e, ev.McpToolCallBegan):
            item = Item("tool", f"• {strict(e.server)}.{strict(e.tool)}({red(e.arguments)})")
            commands[e.call_id] = item
            items.append(item)
        elif isinstance(e, ev.McpToolCallEnded):
            item = commands.get(e.call_id) or _orphan(items, commands, e.call_id, "tool")
            item.heading += f"  [{wording.mcp_call_state(e.success, e.timed_out)}, {e.duration_s:.1f}s]"
            item.body = _lines(red(e.output))
        elif isinstance(e, ev.PatchApplyBegan):
            items.append(_patch(displayable(e), redact))
        elif isinstance(e, ev.PatchApplyEnded) and not e.success:
            items.append(Item("error", red(wording.patch_failed_notice(displayable(e)))))
        elif isinstance(e, ev.PlanUpdated):
            body = [f"  {STATUS_MARKS.get(s.status, '?')} {red(s.step)}" for s in e.plan]
            if e.explanation:
                body = [*_lines(red(e.explanation)), *body]
            items.append(Item("plan", "• Plan updated", body))
        elif isinstance(e, ev.CompactionDone):
            items.append(Item("marker", wording.compacted_notice(e)))
        elif isinstance(e, ev.UndoDone):
            items.append(Item("marker", f"── {red(wording.undone_notice(e))} ──"))
        elif isinstance(e, ev.TurnAborted):
            items.append(Item("warning", red(wording.turn_aborted_notice(e))))
        elif isinstance(e, ev.ApprovalDecided) and e.decision is ev.ReviewDecision.DENIED:
            items.append(Item("warning", red(wording.denied_notice(displayable(e)))))
        elif isinstance(e, ev.WarningIssued):
            items.append(Item("warning", *_split(red(e.message))))
        elif isinstance(e, ev.Error):
            items.append(Item("error", *_split(red(e.message))))
    return items


def _orphan(items: list[Item], commands: dict[str, Item], call_id: str, kind: Kind = "command") -> Item:
    """An end whose start was not kept (a log that began mid-call): an item of its own."""
    item = Item(kind, "$ (command not recorded)" if kind == "command" else "• (tool call)")
    commands[call_id] = item
    items.append(item)
    return item


def _patch(e: ev.PatchApplyBegan, redact: Callable[[str], str]) -> Item:
    """`e` already displayable (its paths strictly neutralized)."""
    files = ", ".join(f"{c.kind} {c.path}" for c in e.changes)
    body: list[str] = []
    for c in e.changes:
        target = f" → {c.move_to}" if c.move_to else ""
        body.append(redact(f"  {c.kind} {c.path}{target} (+{c.added} -{c.removed})"))
        body.extend(_lines(redact(c.diff)))
    return Item("patch", f"• Patch applied: {redact(files)}", body)


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n") if text else []


def _split(text: str) -> tuple[str, list[str]]:
    first, *rest = text.split("\n")
    return first, rest
