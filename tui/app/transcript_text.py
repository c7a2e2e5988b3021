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
    lines: list[str] | None = field(default_factory=list)
    """The body's lines; None until `body` cleans `raw` (a command's output is cleaned once, as
    the model got it, not first as the shorter tail its end event carries)."""
    raw: str = ""
    clean: Callable[[str], str] | None = None

    @property
    def body(self) -> list[str]:
        if self.lines is None:
            self.lines = _lines(self.clean(self.raw) if self.clean is not None else self.raw)
        return self.lines

    def set_output(self, raw: str, clean: Callable[[str], str]) -> None:
        self.lines, self.raw, self.clean = None, raw, clean

    def text(self) -> str:
        """What `c` copies: the heading and the body, as shown."""
        return "\n".join([self.heading, *self.body]).rstrip("\n")


def transcript_items(log: Iterable[ev.Event]) -> list[Item]:
    builder = TranscriptBuilder()
    for event in log:
        builder.add(event)
    return builder.items


class TranscriptBuilder:
    """The items, grown one event at a time (the open transcript follows the session)."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self._calls: dict[str, int] = {}  # call_id → index of its item, filled in as the call ends
        self._full_output: set[str] = set()  # call ids whose item holds the output the model got
        self._redact = default_redactor().redact

    def _red(self, text: str) -> str:
        return self._redact(neutralize(text))

    def _strict(self, text: str) -> str:  # what runs or is touched reads exactly (terminal_text.py)
        return self._redact(neutralize(text, strict=True))

    def _append(self, item: Item) -> int:
        self.items.append(item)
        return len(self.items) - 1

    def _call(self, call_id: str, kind: Kind = "command") -> int:
        """The item of a call; an end whose start was not kept (a log that began mid-call) gets
        one of its own."""
        n = self._calls.get(call_id)
        if n is None:
            n = self._append(Item(kind, "$ (command not recorded)" if kind == "command" else "• (tool call)"))
            self._calls[call_id] = n
        return n

    def add(self, e: ev.Event) -> int | None:
        """Take one event; the index of the first item it added or changed (None: none)."""
        red, strict = self._red, self._strict
        if isinstance(e, ev.UserMessageRecorded):
            return self._append(Item("user", "› You", _lines(red(e.text))))
        if isinstance(e, ev.AgentMessage):
            return self._append(Item("assistant", "• codeloop", _lines(red(e.text))))
        if isinstance(e, ev.ReasoningSummary):
            return self._append(Item("reasoning", f"• {wording.thinking(red(e.headline()) or 'reasoning')}", _lines(red(e.text))))
        if isinstance(e, ev.WebSearchEnded):
            return self._append(Item("tool", f"• {red(e.describe())}"))
        if isinstance(e, ev.ExecCommandBegan):
            line = e.display if e.display is not None else shlex.join(e.command)
            where = f"  (in {strict(e.cwd)})" if e.cwd else ""
            self._calls[e.call_id] = n = self._append(Item("command", f"$ {strict(line)}{where}"))
            return n
        if isinstance(e, ev.ExecCommandEnded):
            n = self._call(e.call_id)
            item = self.items[n]
            item.heading += f"  [{wording.command_state(e.exit_code, e.timed_out, e.interrupted)}, {e.duration_s:.1f}s]"
            if e.call_id not in self._full_output:
                item.set_output(e.output, red)
            return n
        if isinstance(e, ev.ToolCallEnded) and e.call_id in self._calls:
            n = self._calls[e.call_id]
            self.items[n].set_output(e.output, red)  # whole: what the model read
            self._full_output.add(e.call_id)
            return n
        if isinstance(e, ev.McpToolCallBegan):
            self._calls[e.call_id] = n = self._append(Item("tool", f"• {strict(e.server)}.{strict(e.tool)}({red(e.arguments)})"))
            return n
        if isinstance(e, ev.McpToolCallEnded):
            n = self._call(e.call_id, "tool")
            item = self.items[n]
            item.heading += f"  [{wording.mcp_call_state(e.success, e.timed_out)}, {e.duration_s:.1f}s]"
            item.set_output(e.output, red)
            return n
        if isinstance(e, ev.PatchApplyBegan):
            return self._append(_patch(displayable(e), self._redact))
        if isinstance(e, ev.PatchApplyEnded) and not e.success:
            return self._append(Item("error", red(wording.patch_failed_notice(displayable(e)))))
        if isinstance(e, ev.PlanUpdated):
            body = [f"  {STATUS_MARKS.get(s.status, '?')} {red(s.step)}" for s in e.plan]
            if e.explanation:
                body = [*_lines(red(e.explanation)), *body]
            return self._append(Item("plan", "• Plan updated", body))
        if isinstance(e, ev.CompactionDone):
            return self._append(Item("marker", wording.compacted_notice(e)))
        if isinstance(e, ev.UndoDone):
            return self._append(Item("marker", f"── {red(wording.undone_notice(e))} ──"))
        if isinstance(e, ev.TurnAborted):
            return self._append(Item("warning", red(wording.turn_aborted_notice(e))))
        if isinstance(e, ev.ApprovalDecided) and e.decision is ev.ReviewDecision.DENIED:
            return self._append(Item("warning", red(wording.denied_notice(displayable(e)))))
        if isinstance(e, ev.WarningIssued):
            return self._append(Item("warning", *_split(red(e.message))))
        if isinstance(e, ev.Error):
            return self._append(Item("error", *_split(red(e.message))))
        return None


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
