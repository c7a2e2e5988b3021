"""`codeloop exec`'s human face: progress lines on stderr, the final answer on stdout.

One handler per event (tui/dispatch.py). The choke point: every string of an event is neutralized
(tui/safety/terminal_text.py) before anything of it is printed, and every line is redacted;
colour (`--color`) is added after both, by us, so no colour code comes from outside.

What it shows: the settings and what will be declined (nobody can approve in exec), the model's
intermediate messages, reasoning headlines, each command and how it ended (a failed one with its
last lines), patches, plans, MCP calls with their output indented under them, declined calls with
what they would have done, compaction, retries, warnings and errors.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import ClassVar, Literal, TextIO

from tui import protocol as ev
from tui import wording
from tui.dispatch import handler, renders
from tui.safety.redact import Redactor
from tui.safety.terminal_text import displayable

ColorChoice = Literal["auto", "always", "never"]

FAILED_TAIL_LINES = 5  # a failed command's last lines shown under it
MCP_OUTPUT_LINES = 10  # an MCP result's first lines shown under its call
LINE_CHARS = 300  # a shown output line is clipped to this
OUTPUT_BAR = "  │ "  # before every line printed by a command or an MCP server
MESSAGE_INDENT = " " * len("model: ")  # a message's next lines, under its first: no line of ours starts so

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "magenta": "35"}


def use_color(choice: ColorChoice, stream: TextIO, env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """`--color`: `auto` colours a terminal only, and not when NO_COLOR is set (no-color.org) or
    TERM is `dumb`; `always` and `never` are the user's word over both."""
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def _clip(line: str) -> str:
    return line if len(line) <= LINE_CHARS else line[:LINE_CHARS] + "…"


class Progress:
    """The human face. `out` takes the progress (stderr), `answer` the final message (stdout)."""

    IGNORED: ClassVar[frozenset[type[ev.Event]]] = frozenset(
        {
            ev.TurnStarted,
            ev.AgentMessageDelta,  # messages are printed whole
            ev.ReasoningDelta,  # the summary's headline is printed (ReasoningSummary)
            ev.ExecCommandOutputDelta,  # the command and how it ended, a failed one's last lines
            ev.ApprovalRequested,  # never sent to a headless session
            ev.McpElicitationRequested,  # never sent either: the MCP manager declines for exec
            ev.McpToolCallProgress,  # live progress is the app's; `--engine-events` carries it
            ev.ReviewCompleted,  # exec starts no review (/review is the app's)
            ev.ContextEstimated,
            ev.CompactionStarted,  # CompactionDone's line says it all
            ev.UndoDone,  # exec sends no Undo
        }
    )

    def __init__(
        self, out: TextIO, redactor: Redactor, answer: TextIO | None = None, *, color: bool = False
    ) -> None:
        self.out = out
        self.answer = answer  # the final message's stream; None: stdout
        self.redactor = redactor
        self.color = color
        self.session_cwd: str | None = None
        self.retrying = False  # a retry line is showing: the next retry replaces it
        self.tty = out.isatty()
        self.pending: str | None = None  # the latest message: the answer, unless more follows
        self.shown_calls: set[str] = set()  # calls whose own lines were printed

    def show(self, event: ev.Event) -> None:
        shown = displayable(event)
        render = handler(self, shown)
        if render is not None:
            render(shown)

    def paint(self, text: str, style: str | None) -> str:
        if not self.color or style is None or not text:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    def line(self, text: str, style: str | None = None) -> None:
        """One line, always: a line break inside (a command's argument, a plan step, an error)
        is shown as ↵, so text from outside cannot start a line that looks like one of ours."""
        if self.retrying and self.tty:
            print(file=self.out)  # keep the last retry status, on its own line
        self.retrying = False
        print(self.paint(self.redactor.redact(text.replace("\n", " ↵ ")), style), file=self.out, flush=True)

    def block(self, lines: list[str], indent: str, style: str | None = "dim") -> None:
        for text in lines:
            self.line(indent + _clip(text), style)

    def output(self, lines: list[str]) -> None:
        """Lines a command or an MCP server printed, each behind the same bar: none of them can
        pass for a line of ours."""
        self.block(lines, OUTPUT_BAR)

    def retry(self, text: str) -> None:
        """One line for a series of retries: rewritten in place on a terminal; in a log (not a
        terminal) only the first is written, the outcome follows (the answer, or the error)."""
        if self.tty:
            self.out.write("\r\x1b[2K" + self.paint(self.redactor.redact(text), "yellow"))
            self.out.flush()
        elif not self.retrying:
            print(self.redactor.redact(text), file=self.out, flush=True)
        self.retrying = True

    def said(self) -> None:
        """The pending message was not the last: print it as the model's intermediate message."""
        if self.pending is not None:
            text, self.pending = self.pending, None
            first, *rest = text.strip().splitlines() or [""]
            self.line(f"model: {first}", "magenta")
            self.block(rest, MESSAGE_INDENT, None)

    @renders(ev.SessionConfigured)
    def _configured(self, e: ev.SessionConfigured) -> None:
        self.session_cwd = str(e.cwd)
        self.line(f"codeloop · model {e.model} · {e.cwd}", "bold")
        self.line(wording.exec_policy_line(e.approval_policy, e.sandbox_mode))

    @renders(ev.AgentMessage)
    def _message(self, e: ev.AgentMessage) -> None:
        self.said()
        self.pending = e.text

    @renders(ev.ToolCallProposed)
    def _proposed(self, e: ev.ToolCallProposed) -> None:
        self.said()  # a call follows the message: it was not the answer

    @renders(ev.ReasoningSummary)
    def _reasoning(self, e: ev.ReasoningSummary) -> None:
        self.said()
        self.line(wording.thinking(e.headline()), "dim")

    @renders(ev.ExecCommandBegan)
    def _command_began(self, e: ev.ExecCommandBegan) -> None:
        self.shown_calls.add(e.call_id)
        where = "" if e.sandboxed else " (no sandbox)"
        # A call's workdir is the model's choice: shown whenever it is not the session's folder.
        if self.session_cwd is not None and e.cwd != self.session_cwd:
            where += f" (in {e.cwd})"
        self.line(f"$ {shlex.join(e.command)}{where}", "bold")

    @renders(ev.ExecCommandEnded)
    def _command_ended(self, e: ev.ExecCommandEnded) -> None:
        ok = e.exit_code == 0 and not e.timed_out and not e.interrupted
        state = wording.command_state(e.exit_code, e.timed_out, e.interrupted)
        self.line(f"  {state} in {e.duration_s:.1f}s", "green" if ok else "red")
        if not ok:
            self.output(e.output.rstrip("\n").splitlines()[-FAILED_TAIL_LINES:])

    @renders(ev.WebSearchEnded)
    def _web_search(self, e: ev.WebSearchEnded) -> None:
        self.said()
        self.line(e.describe())

    @renders(ev.PatchApplyBegan)
    def _patch_began(self, e: ev.PatchApplyBegan) -> None:
        self.shown_calls.add(e.call_id)
        for c in e.changes:
            self.line(f"  {c.kind} {c.path} (+{c.added} -{c.removed})")

    @renders(ev.PatchApplyEnded)
    def _patch_ended(self, e: ev.PatchApplyEnded) -> None:
        if not e.success:
            self.line(wording.patch_failed_line(e), "red")

    @renders(ev.ApprovalDecided)
    def _decided(self, e: ev.ApprovalDecided) -> None:
        if e.by == "policy":
            self.shown_calls.add(e.call_id)
            first, *rest = wording.declined_lines(e)
            self.line(first, "red")
            for text in rest:
                self.line(text)

    @renders(ev.PlanUpdated)
    def _plan(self, e: ev.PlanUpdated) -> None:
        marks = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}
        self.line("plan:")
        for s in e.plan:
            self.line(f"  {marks.get(s.status, '[ ]')} {s.step}")

    @renders(ev.McpServerStatus)
    def _mcp_server(self, e: ev.McpServerStatus) -> None:
        if e.state == "failed":
            self.line(wording.mcp_server_failed_line(e), "yellow")

    @renders(ev.McpToolCallBegan)
    def _mcp_call(self, e: ev.McpToolCallBegan) -> None:
        self.shown_calls.add(e.call_id)
        self.line(f"mcp {e.server} › {e.tool} {' '.join(e.arguments.split())[:200]}", "bold")

    @renders(ev.McpToolCallEnded)
    def _mcp_ended(self, e: ev.McpToolCallEnded) -> None:
        self.line(f"  {wording.mcp_call_state(e.success, e.timed_out)} in {e.duration_s:.1f}s", "green" if e.success else "red")
        lines = e.output.rstrip("\n").splitlines()
        more = [f"… {len(lines) - MCP_OUTPUT_LINES} more lines"] if len(lines) > MCP_OUTPUT_LINES else []
        self.output(lines[:MCP_OUTPUT_LINES] + more)

    @renders(ev.ToolCallEnded)
    def _tool_ended(self, e: ev.ToolCallEnded) -> None:
        # A call that printed no line of its own (a malformed or refused call, another tool): its
        # output's start. A plan that was taken printed itself.
        if e.call_id not in self.shown_calls and not (e.name == "update_plan" and e.success):
            self.line(f"  {e.name}: {' '.join(e.output.split())[:200]}", None if e.success else "red")

    @renders(ev.CompactionDone)
    def _compacted(self, e: ev.CompactionDone) -> None:
        self.line(wording.compacted_line(e), "dim")

    @renders(ev.WarningIssued)
    def _warning(self, e: ev.WarningIssued) -> None:
        self.line(f"warning: {e.message}", "yellow")

    @renders(ev.StreamRetrying)
    def _retrying(self, e: ev.StreamRetrying) -> None:
        self.retry(e.describe())

    @renders(ev.TokenUsage)
    def _usage(self, e: ev.TokenUsage) -> None:
        self.line(f"tokens: {e.input_tokens} in ({e.cached_input_tokens} cached), {e.output_tokens} out", "dim")

    @renders(ev.UserMessageRecorded)
    def _user_message(self, e: ev.UserMessageRecorded) -> None:
        if e.images:  # the prompt is the user's own; the images are worth a line
            self.line(wording.images_attached(e.images))

    @renders(ev.HistoryForked)
    def _forked(self, e: ev.HistoryForked) -> None:
        self.line(wording.forked(e))

    @renders(ev.CacheMissed)
    def _cache_missed(self, e: ev.CacheMissed) -> None:
        self.line(wording.cache_miss_line(e), "dim")

    @renders(ev.Error)
    def _error(self, e: ev.Error) -> None:
        self.said()
        self.line(f"error: {e.message}", "red")

    @renders(ev.TurnFailed)
    def _failed(self, e: ev.TurnFailed) -> None:
        self.said()  # Error's line said why

    @renders(ev.TurnAborted)
    def _aborted(self, e: ev.TurnAborted) -> None:
        self.said()
        self.line(wording.turn_aborted_line(e), "red")

    @renders(ev.TurnCompleted)
    def _completed(self, e: ev.TurnCompleted) -> None:
        self.pending = None  # the answer: printed on stdout, below
        if e.last_agent_message:
            print(self.redactor.redact(e.last_agent_message), file=self.answer or sys.stdout, flush=True)
