"""`codeloop exec`: one task, headless. Progress on stderr, the final message on stdout.

With `--json` every event is printed to stdout as one JSON line instead, a running command's
output included (`exec_command_output_delta`, a few a second: Codex's exec JSON has no such
line, its `command_execution` item shows the output only at the end; ours are the engine's own
events, so a consumer can show progress). The human progress lines show only the command and
how it ended. Nobody is there to
approve, so a call that needs approval is declined and the model is told why.

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
from typing import TextIO

from tui import protocol as ev
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
        path = resume.locate(rc.home, rc.cwd) if resume is not None else None
        return asyncio.run(
            _exec(rc, provider, prompt, json_mode=bool(getattr(args, "json", False)), resume=path)
        )
    except (SandboxUnavailable, SessionNotFound, RolloutError) as e:
        print(neutralize(redact(f"codeloop: {e}")), file=sys.stderr)
        return 2


async def _exec(rc, provider, prompt: str, *, json_mode: bool, resume: Path | None = None) -> int:
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
    await session.submit(ev.UserInput(prompt))
    # Everything printed goes through the redactor (tui/safety/redact.py), taken after the
    # configuration was read: that told it the provider's key variable.
    redactor = default_redactor()
    printer = _Progress(sys.stderr, redactor)
    try:
        while True:
            event = await session.next_event()
            if not gc.isenabled() and not isinstance(event, (ev.TurnStarted, ev.ContextEstimated)):
                gc.collect()
                gc.freeze()
                gc.enable()
            if json_mode:
                # Exact text: JSON escapes every control character, so nothing reaches a terminal.
                line = json.dumps(redactor.redact_json(event.to_json()), ensure_ascii=False)
                print(line.translate(_JSON_C1_ESCAPES), flush=True)
            else:
                # The one choke point of the human face: every string of the event neutralized
                # (tui/safety/terminal_text.py) before anything of it is printed.
                event = displayable(event)
                printer.show(event)
            if isinstance(event, ev.TurnCompleted):
                if not json_mode and event.last_agent_message:
                    print(redactor.redact(event.last_agent_message), flush=True)
                return 0
            if isinstance(event, ev.TurnAborted):
                # 128 + the signal, as a shell reports a process the signal killed: 130, 143.
                return 128 + (received[0] if received else signal.SIGINT)
            if isinstance(event, ev.TurnFailed):
                if json_mode:
                    print(neutralize(redactor.redact(f"codeloop: turn failed: {event.message}")), file=sys.stderr, flush=True)
                return 1
    finally:
        await session.submit(ev.Shutdown())


# json.dumps(ensure_ascii=False) escapes C0 controls but leaves DEL and the 8-bit C1 ones
# (0x9b CSI, 0x9d OSC) raw; they can only occur inside strings, where \u escapes mean the same.
_JSON_C1_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


class _Progress:
    """Human-readable progress lines on stderr."""

    def __init__(self, out: TextIO, redactor: Redactor) -> None:
        self.out = out
        self.redactor = redactor
        self.session_cwd: str | None = None
        self.retrying = False  # a retry line is showing: the next retry replaces it
        self.tty = out.isatty()

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

    def show(self, event: ev.Event) -> None:
        if isinstance(event, ev.SessionConfigured):
            self.session_cwd = str(event.cwd)
            self.line(
                f"codeloop · model {event.model} · {event.approval_policy} · sandbox {event.sandbox_mode} · {event.cwd}"
            )
        elif isinstance(event, ev.ReasoningSummary):
            self.line(f"thinking: {event.headline()}")
        elif isinstance(event, ev.ExecCommandBegan):
            where = "" if event.sandboxed else " (no sandbox)"
            # A call's workdir is the model's choice: shown whenever it is not the session's folder.
            if self.session_cwd is not None and event.cwd != self.session_cwd:
                where += f" (in {event.cwd})"
            self.line(f"$ {shlex.join(event.command)}{where}")
        elif isinstance(event, ev.ExecCommandEnded):
            state = "timed out" if event.timed_out else "interrupted" if event.interrupted else f"exit {event.exit_code}"
            self.line(f"  {state} in {event.duration_s:.1f}s")
        elif isinstance(event, ev.WebSearchEnded):
            self.line(event.describe())
        elif isinstance(event, ev.PatchApplyBegan):
            for c in event.changes:
                self.line(f"  {c.kind} {c.path} (+{c.added} -{c.removed})")
        elif isinstance(event, ev.PatchApplyEnded) and not event.success:
            self.line(f"  patch failed: {event.output}")
        elif isinstance(event, ev.ApprovalDecided) and event.by == "policy":
            self.line(f"  declined {event.call_id}: needs approval, and exec has nobody to ask")
            if event.reason:
                self.line(f"    reason: {neutralize(event.reason)}")
            if event.justification:
                self.line(f"    the model's justification (its own words, not verified): {event.justification}")
        elif isinstance(event, ev.PlanUpdated):
            marks = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}
            self.line("plan:" + "".join(f"\n  {marks.get(s.status, '[ ]')} {s.step}" for s in event.plan))
        elif isinstance(event, ev.McpServerStatus) and event.state == "failed":
            self.line(f"warning: MCP server {event.server!r} failed: {event.reason}; going on without it")
        elif isinstance(event, ev.McpToolCallBegan):
            self.line(f"mcp {event.server} › {event.tool} {' '.join(event.arguments.split())[:200]}")
        elif isinstance(event, ev.ToolCallEnded) and event.name not in ("shell", "apply_patch", "update_plan"):
            self.line(f"  {event.name}: {event.output[:200]}")
        elif isinstance(event, ev.CompactionDone):
            self.line(f"compacted ({event.method}, {event.reason}): {event.before_tokens} → ≈{event.after_tokens} tokens")
        elif isinstance(event, ev.WarningIssued):
            self.line(f"warning: {event.message}")
        elif isinstance(event, ev.StreamRetrying):
            self.retry(event.describe())
        elif isinstance(event, ev.TokenUsage):
            self.line(
                f"tokens: {event.input_tokens} in ({event.cached_input_tokens} cached), "
                f"{event.output_tokens} out"
            )
        elif isinstance(event, ev.Error):
            self.line(f"error: {event.message}")
        elif isinstance(event, ev.TurnAborted):
            self.line(f"turn aborted: {event.reason}")
