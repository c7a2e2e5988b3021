"""`codeloop exec`: one task, headless. Progress on stderr, the final message on stdout.

With `--json` every event is printed to stdout as one JSON line instead. Nobody is there to
approve, so a call that needs approval is declined and the model is told why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import signal
import sys
from typing import TextIO

from tui.engine import events as ev


def read_prompt(arg: str, stdin: TextIO) -> str:
    text = stdin.read() if arg == "-" else arg
    return text.strip()


def run_exec(args: argparse.Namespace) -> int:
    from tui.engine.bootstrap import configure_or_report
    from tui.safety.sandbox import SandboxUnavailable

    prompt = read_prompt(args.prompt, sys.stdin)
    if not prompt:
        print("codeloop: the prompt is empty", file=sys.stderr)
        return 2
    configured = configure_or_report(args)
    if configured is None:
        return 2
    rc, provider = configured
    try:
        return asyncio.run(_exec(rc, provider, prompt, json_mode=bool(getattr(args, "json", False))))
    except SandboxUnavailable as e:
        print(f"codeloop: {e}", file=sys.stderr)
        return 2


async def _exec(rc, provider, prompt: str, *, json_mode: bool) -> int:  # type: ignore[no-untyped-def]
    from tui.engine.bootstrap import build_session

    session = build_session(rc, provider, interactive=False)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(session.interrupt()))
    await session.submit(ev.UserInput(prompt))
    printer = _Progress(sys.stderr)
    try:
        while True:
            event = await session.next_event()
            if json_mode:
                print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)
            else:
                printer.show(event)
            if isinstance(event, ev.TurnCompleted):
                if not json_mode and event.last_agent_message:
                    print(event.last_agent_message, flush=True)
                return 0
            if isinstance(event, ev.TurnAborted):
                return 130
            if isinstance(event, ev.TurnFailed):
                if json_mode:
                    print(f"codeloop: turn failed: {event.message}", file=sys.stderr, flush=True)
                return 1
    finally:
        await session.submit(ev.Shutdown())


class _Progress:
    """Human-readable progress lines on stderr."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def show(self, event: ev.Event) -> None:
        if isinstance(event, ev.SessionConfigured):
            self.line(
                f"codeloop · model {event.model} · {event.approval_policy} · sandbox {event.sandbox_mode} · {event.cwd}"
            )
        elif isinstance(event, ev.ReasoningSummary):
            self.line(f"thinking: {event.text.strip().splitlines()[0] if event.text.strip() else ''}")
        elif isinstance(event, ev.ExecCommandBegan):
            where = "" if event.sandboxed else " (no sandbox)"
            self.line(f"$ {shlex.join(event.command)}{where}")
        elif isinstance(event, ev.ExecCommandEnded):
            state = "timed out" if event.timed_out else f"exit {event.exit_code}"
            self.line(f"  {state} in {event.duration_s:.1f}s")
        elif isinstance(event, ev.PatchApplyBegan):
            for c in event.changes:
                self.line(f"  {c.kind} {c.path} (+{c.added} -{c.removed})")
        elif isinstance(event, ev.PatchApplyEnded) and not event.success:
            self.line(f"  patch failed: {event.output}")
        elif isinstance(event, ev.ApprovalDecided) and event.by == "policy":
            self.line(f"  declined {event.call_id}: needs approval, and exec has nobody to ask")
        elif isinstance(event, ev.PlanUpdated):
            marks = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}
            self.line("plan:" + "".join(f"\n  {marks.get(s.status, '[ ]')} {s.step}" for s in event.plan))
        elif isinstance(event, ev.ToolCallEnded) and event.name not in ("shell", "apply_patch", "update_plan"):
            self.line(f"  {event.name}: {event.output[:200]}")
        elif isinstance(event, ev.StreamRetrying):
            self.line(f"Reconnecting {event.attempt}/{event.max_attempts}… ({event.reason})")
        elif isinstance(event, ev.TokenUsage):
            self.line(
                f"tokens: {event.input_tokens} in ({event.cached_input_tokens} cached), "
                f"{event.output_tokens} out"
            )
        elif isinstance(event, ev.Error):
            self.line(f"error: {event.message}")
        elif isinstance(event, ev.TurnAborted):
            self.line(f"turn aborted: {event.reason}")
