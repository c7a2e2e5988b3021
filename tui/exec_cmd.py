"""`codeloop exec`: one task, headless. Progress on stderr, the final message on stdout.

With `--json` every event is printed to stdout as one JSON line instead, a running command's
output included (`exec_command_output_delta`, a few a second: Codex's exec JSON has no such
line, its `command_execution` item shows the output only at the end; ours are the engine's own
events, so a consumer can show progress). The human progress lines show only the command and
how it ended. Nobody is there to approve, so a call that needs approval is declined and the
model is told why.

The two outputs are two renderers over the same events, dispatched alike (tui/dispatch.py: one
handler per event class, or the class listed as ignored): `_Progress` and `_JsonLines`. The
words exec shares with the app are in tui/wording.py.

`codeloop exec resume --last PROMPT` and `codeloop exec resume SESSION_ID PROMPT` continue a
recorded session instead of starting one: `--last` takes the newest session started in the
current folder (`-C`), else the newest of all.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shlex
import signal
import sys
from pathlib import Path
from typing import ClassVar, TextIO

from tui import protocol as ev
from tui import wording
from tui.dispatch import handler, renders
from tui.engine.resume import ResumeRequest
from tui.safety.redact import Redactor, default_redactor, redact
from tui.safety.terminal_text import displayable, neutralize

EXEC_USAGE = "codeloop exec PROMPT, or codeloop exec resume (--last | SESSION_ID) PROMPT"


class UsageError(ValueError):
    pass


def read_prompt(arg: str, stdin: TextIO) -> str:
    text = stdin.read() if arg == "-" else arg
    return text.strip()


def parse_words(words: list[str], last: bool) -> tuple[str, ResumeRequest | None]:
    """The prompt argument and what to resume, from exec's positional words and `--last`."""
    if words[0] == "resume" and (last or len(words) > 1):
        rest = words[1:]
        if last and len(rest) == 1:
            return rest[0], ResumeRequest()
        if not last and len(rest) == 2:
            return rest[1], ResumeRequest(rest[0])
        raise UsageError(f"usage: {EXEC_USAGE}")
    if last:
        raise UsageError(f"--last goes with `exec resume`; usage: {EXEC_USAGE}")
    if len(words) > 1:
        raise UsageError(f"exec takes one PROMPT (quote it); usage: {EXEC_USAGE}")
    return words[0], None


def run_exec(args: argparse.Namespace) -> int:
    # No garbage collection during start-up (imports allocate a lot and free almost nothing;
    # the SDK's alone is ~2,600 classes): back on, with start-up's objects frozen, once the first
    # request has been answered (see _exec).
    gc.disable()
    from tui.engine.bootstrap import configure_or_report
    from tui.engine.images import ImageError, check_files
    from tui.engine.resume import RolloutError, SessionNotFound
    from tui.safety.sandbox import SandboxUnavailable

    try:
        prompt_arg, resume = parse_words(list(args.prompt), bool(getattr(args, "last", False)))
    except UsageError as e:
        print(f"codeloop: {e}", file=sys.stderr)
        return 2
    prompt = read_prompt(prompt_arg, sys.stdin)
    if not prompt:
        print("codeloop: the prompt is empty", file=sys.stderr)
        return 2
    configured = configure_or_report(args)
    if configured is None:
        return 2
    rc, provider = configured
    try:
        images = check_files(getattr(args, "images", None) or [], rc.cwd)
        path = resume.locate(rc.home, rc.cwd) if resume is not None else None
        return asyncio.run(
            _exec(rc, provider, ev.UserInput(prompt, images), json_mode=bool(getattr(args, "json", False)), resume=path)
        )
    except (SandboxUnavailable, SessionNotFound, RolloutError, ImageError) as e:
        print(neutralize(redact(f"codeloop: {e}")), file=sys.stderr)
        return 2


async def _exec(rc, provider, prompt: ev.UserInput, *, json_mode: bool, resume: Path | None = None) -> int:
    from tui.engine.bootstrap import build_session, resume_session

    if resume is not None:
        session = resume_session(rc, provider, resume, interactive=False)
    else:
        session = build_session(rc, provider, interactive=False)
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []
    interrupting: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    def stop(sig: signal.Signals) -> None:
        received.append(sig)
        task = asyncio.ensure_future(session.interrupt())
        interrupting.add(task)
        task.add_done_callback(interrupting.discard)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig)
    await session.submit(prompt)
    # Everything printed goes through the redactor (tui/safety/redact.py), taken after the
    # configuration was read: that told it the provider's key variable.
    redactor = default_redactor()
    output: _JsonLines | _Progress = _JsonLines(sys.stdout, redactor) if json_mode else _Progress(sys.stderr, redactor)
    try:
        while True:
            event = await session.next_event()
            if not gc.isenabled() and not isinstance(event, (ev.TurnStarted, ev.ContextEstimated)):
                gc.collect()
                gc.freeze()
                gc.enable()
            output.show(event)
            if isinstance(event, ev.TurnCompleted):
                return 0
            if isinstance(event, ev.TurnAborted):
                # 128 + the signal, as a shell reports a process the signal killed: 130, 143.
                return 128 + (received[0] if received else signal.SIGINT)
            if isinstance(event, ev.TurnFailed):
                return 1
    finally:
        await session.submit(ev.Shutdown())


# json.dumps(ensure_ascii=False) escapes C0 controls but leaves DEL and the 8-bit C1 ones
# (0x9b CSI, 0x9d OSC) raw; they can only occur inside strings, where \u escapes mean the same.
_JSON_C1_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


class _JsonLines:
    """`--json`: every event as one JSON line on stdout, the exact text (JSON escapes every control
    character, so nothing reaches a terminal), redacted; a failed turn says so on stderr too."""

    IGNORED: ClassVar[frozenset[type[ev.Event]]] = frozenset()  # every event is printed

    def __init__(self, out: TextIO, redactor: Redactor, err: TextIO | None = None) -> None:
        self.out = out
        self.err = err
        self.redactor = redactor

    def show(self, event: ev.Event) -> None:
        render = handler(self, event)
        if render is not None:
            render(event)

    @renders(ev.Event)
    def _line(self, e: ev.Event) -> None:
        line = json.dumps(self.redactor.redact_json(e.to_json()), ensure_ascii=False)
        print(line.translate(_JSON_C1_ESCAPES), file=self.out, flush=True)

    @renders(ev.TurnFailed)
    def _failed(self, e: ev.TurnFailed) -> None:
        self._line(e)
        text = neutralize(self.redactor.redact(f"codeloop: {wording.turn_failed(e.message)}"))
        print(text, file=self.err or sys.stderr, flush=True)


class _Progress:
    """The human face: progress lines on `out` (stderr), the final answer on stdout. The choke
    point: every string of an event is neutralized (tui/safety/terminal_text.py) before anything
    of it is printed, and every line is redacted."""

    IGNORED: ClassVar[frozenset[type[ev.Event]]] = frozenset(
        {
            ev.TurnStarted,
            ev.AgentMessageDelta,  # the answer is printed whole, at the end
            ev.AgentMessage,
            ev.ReasoningDelta,  # the summary's headline is printed (ReasoningSummary)
            ev.ToolCallProposed,  # a call is printed when it runs
            ev.ExecCommandOutputDelta,  # the command and how it ended, not its output
            ev.McpToolCallEnded,  # ended: ToolCallEnded's line
            ev.McpToolCallProgress,  # live progress is the app's; `--json` prints it
            ev.ApprovalRequested,  # never sent to a headless session
            ev.McpElicitationRequested,  # never sent either: the MCP manager declines for exec
            ev.ContextEstimated,
            ev.ReviewCompleted,  # exec starts no review (/review is the app's)
            ev.CompactionStarted,  # CompactionDone's line says it all
            ev.UndoDone,  # exec sends no Undo
            ev.TurnFailed,  # Error's line said why
        }
    )

    def __init__(self, out: TextIO, redactor: Redactor, answer: TextIO | None = None) -> None:
        self.out = out
        self.answer = answer  # the final message's stream; None: stdout
        self.redactor = redactor
        self.session_cwd: str | None = None
        self.retrying = False  # a retry line is showing: the next retry replaces it
        self.tty = out.isatty()

    def show(self, event: ev.Event) -> None:
        shown = displayable(event)
        render = handler(self, shown)
        if render is not None:
            render(shown)

    def line(self, text: str) -> None:
        if self.retrying and self.tty:
            print(file=self.out)  # keep the last retry status, on its own line
        self.retrying = False
        print(self.redactor.redact(text), file=self.out, flush=True)

    def retry(self, text: str) -> None:
        """One line for a series of retries: rewritten in place on a terminal; in a log (not a
        terminal) only the first is written, the outcome follows (the answer, or the error)."""
        if self.tty:
            self.out.write("\r\x1b[2K" + self.redactor.redact(text))
            self.out.flush()
        elif not self.retrying:
            print(self.redactor.redact(text), file=self.out, flush=True)
        self.retrying = True

    @renders(ev.SessionConfigured)
    def _configured(self, e: ev.SessionConfigured) -> None:
        self.session_cwd = str(e.cwd)
        self.line(f"codeloop · model {e.model} · {e.approval_policy} · sandbox {e.sandbox_mode} · {e.cwd}")

    @renders(ev.UserMessageRecorded)
    def _user_message(self, e: ev.UserMessageRecorded) -> None:
        if e.images:  # the prompt is the user's own; the images are worth a line
            self.line(wording.images_attached(e.images))

    @renders(ev.ReasoningSummary)
    def _reasoning(self, e: ev.ReasoningSummary) -> None:
        self.line(wording.thinking(e.headline()))

    @renders(ev.ExecCommandBegan)
    def _command_began(self, e: ev.ExecCommandBegan) -> None:
        where = "" if e.sandboxed else " (no sandbox)"
        # A call's workdir is the model's choice: shown whenever it is not the session's folder.
        if self.session_cwd is not None and e.cwd != self.session_cwd:
            where += f" (in {e.cwd})"
        self.line(f"$ {shlex.join(e.command)}{where}")

    @renders(ev.ExecCommandEnded)
    def _command_ended(self, e: ev.ExecCommandEnded) -> None:
        self.line(f"  {wording.command_state(e.exit_code, e.timed_out, e.interrupted)} in {e.duration_s:.1f}s")

    @renders(ev.WebSearchEnded)
    def _web_search(self, e: ev.WebSearchEnded) -> None:
        self.line(e.describe())

    @renders(ev.PatchApplyBegan)
    def _patch_began(self, e: ev.PatchApplyBegan) -> None:
        for c in e.changes:
            self.line(f"  {c.kind} {c.path} (+{c.added} -{c.removed})")

    @renders(ev.PatchApplyEnded)
    def _patch_ended(self, e: ev.PatchApplyEnded) -> None:
        if not e.success:
            self.line(wording.patch_failed_line(e))

    @renders(ev.ApprovalDecided)
    def _decided(self, e: ev.ApprovalDecided) -> None:
        if e.by == "policy":
            for line in wording.declined_lines(e):
                self.line(line)

    @renders(ev.PlanUpdated)
    def _plan(self, e: ev.PlanUpdated) -> None:
        marks = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}
        self.line("plan:" + "".join(f"\n  {marks.get(s.status, '[ ]')} {s.step}" for s in e.plan))

    @renders(ev.McpServerStatus)
    def _mcp_server(self, e: ev.McpServerStatus) -> None:
        if e.state == "failed":
            self.line(wording.mcp_server_failed_line(e))

    @renders(ev.McpToolCallBegan)
    def _mcp_call(self, e: ev.McpToolCallBegan) -> None:
        self.line(f"mcp {e.server} › {e.tool} {' '.join(e.arguments.split())[:200]}")

    @renders(ev.ToolCallEnded)
    def _tool_ended(self, e: ev.ToolCallEnded) -> None:
        if e.name not in ("shell", "apply_patch", "update_plan"):  # those printed their own lines
            self.line(f"  {e.name}: {e.output[:200]}")

    @renders(ev.CompactionDone)
    def _compacted(self, e: ev.CompactionDone) -> None:
        self.line(wording.compacted_line(e))

    @renders(ev.HistoryForked)
    def _forked(self, e: ev.HistoryForked) -> None:
        self.line(wording.forked(e))

    @renders(ev.WarningIssued)
    def _warning(self, e: ev.WarningIssued) -> None:
        self.line(f"warning: {e.message}")

    @renders(ev.StreamRetrying)
    def _retrying(self, e: ev.StreamRetrying) -> None:
        self.retry(e.describe())

    @renders(ev.TokenUsage)
    def _usage(self, e: ev.TokenUsage) -> None:
        self.line(f"tokens: {e.input_tokens} in ({e.cached_input_tokens} cached), {e.output_tokens} out")

    @renders(ev.CacheMissed)
    def _cache_missed(self, e: ev.CacheMissed) -> None:
        self.line(wording.cache_miss_line(e))

    @renders(ev.Error)
    def _error(self, e: ev.Error) -> None:
        self.line(f"error: {e.message}")

    @renders(ev.TurnAborted)
    def _aborted(self, e: ev.TurnAborted) -> None:
        self.line(wording.turn_aborted_line(e))

    @renders(ev.TurnCompleted)
    def _completed(self, e: ev.TurnCompleted) -> None:
        if e.last_agent_message:
            print(self.redactor.redact(e.last_agent_message), file=self.answer or sys.stdout, flush=True)
