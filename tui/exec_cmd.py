"""`codeloop exec`: one task, headless. Progress on stderr, the final message on stdout.

Three faces over the same events, dispatched alike (tui/dispatch.py: one handler per event
class, or the class listed as ignored): the human lines (tui/exec_progress.py), `--json`'s
Codex `exec --json` lines (tui/exec_json.py), and `--engine-events`, codeloop's own events as
JSON lines (`_JsonLines` here), a running command's output included (`exec_command_output_delta`,
a few a second). Nobody is there to approve, so a call that needs approval is declined and the
model is told why. The words exec shares with the app are in tui/wording.py.

`-o FILE` writes the final message to FILE when the turn completes (empty, with a warning, when
there is none: Codex's behaviour); `--output-schema FILE` asks the model for an answer matching a
JSON Schema (tui/exec_options.py reads and checks both before any request).

`codeloop exec resume --last PROMPT` and `codeloop exec resume SESSION_ID PROMPT` continue a
recorded session instead of starting one: `--last` takes the newest session started in the
current folder (`-C`), else the newest of all.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TextIO

from tui import protocol as ev
from tui import wording
from tui.dispatch import handler, renders
from tui.engine.resume import ResumeRequest
from tui.exec_json import CodexJsonLines, json_line
from tui.exec_progress import ColorChoice, Progress, use_color
from tui.safety.redact import Redactor, default_redactor, redact
from tui.safety.terminal_text import neutralize



class Face(Protocol):
    """One of exec's outputs: it shows each event as it comes."""

    def show(self, event: ev.Event) -> None: ...

if TYPE_CHECKING:
    from tui.config import ProviderSettings, ResolvedConfig

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
    from tui.exec_options import OptionError, check_last_message_path, read_output_schema
    from tui.safety.sandbox import SandboxUnavailable

    try:
        prompt_arg, resume = parse_words(list(args.prompt), bool(getattr(args, "last", False)))
        if getattr(args, "json", False) and getattr(args, "engine_events", False):
            raise UsageError("--json and --engine-events are two formats of stdout: pick one")
    except UsageError as e:
        print(f"codeloop: {e}", file=sys.stderr)
        return 2
    try:
        text_format = read_output_schema(args.output_schema) if getattr(args, "output_schema", None) else None
        if (last_message := getattr(args, "output_last_message", None)) is not None:
            check_last_message_path(last_message)
    except OptionError as e:
        print(neutralize(f"codeloop: {e}"), file=sys.stderr)
        return 2
    prompt = read_prompt(prompt_arg, sys.stdin)
    if not prompt:
        print("codeloop: the prompt is empty", file=sys.stderr)
        return 2
    configured = configure_or_report(args)
    if configured is None:
        return 2
    rc, provider = configured
    mode: Mode = "json" if getattr(args, "json", False) else "events" if getattr(args, "engine_events", False) else "human"
    outputs = ExecOutputs(mode, getattr(args, "color", "auto"), last_message, text_format)
    try:
        path = resume.locate(rc.home, rc.cwd) if resume is not None else None
        images = check_files(getattr(args, "images", None) or [], rc.cwd)
        return asyncio.run(_exec(rc, provider, ev.UserInput(prompt, images), outputs, resume=path))
    except (SandboxUnavailable, SessionNotFound, RolloutError, ImageError) as e:
        print(neutralize(redact(f"codeloop: {e}")), file=sys.stderr)
        return 2


Mode = Literal["human", "json", "events"]


@dataclass(frozen=True)
class ExecOutputs:
    """What exec prints and writes, from its flags."""

    mode: Mode = "human"
    color: ColorChoice = "auto"
    last_message_path: str | None = None
    text_format: dict[str, Any] | None = None
    """`--output-schema`: the Responses API's `text.format` for the turn's requests."""

    def face(self, redactor: Redactor) -> Face:
        if self.mode == "json":
            return CodexJsonLines(sys.stdout, redactor)
        if self.mode == "events":
            return _JsonLines(sys.stdout, redactor)
        return Progress(sys.stderr, redactor, color=use_color(self.color, sys.stderr))


async def _exec(
    rc: ResolvedConfig, provider: ProviderSettings, prompt: ev.UserInput, outputs: ExecOutputs, *, resume: Path | None = None
) -> int:
    from tui.engine.bootstrap import build_session, resume_session

    if resume is not None:
        session = resume_session(rc, provider, resume, interactive=False)
    else:
        session = build_session(rc, provider, interactive=False)
    if outputs.text_format is not None:
        session.options = replace(session.options, text_format=outputs.text_format)
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
    output = outputs.face(redactor)
    try:
        while True:
            event = await session.next_event()
            if not gc.isenabled() and not isinstance(event, (ev.TurnStarted, ev.ContextEstimated)):
                gc.collect()
                gc.freeze()
                gc.enable()
            output.show(event)
            if isinstance(event, ev.SessionConfigured) and outputs.mode != "human":
                # The human face prints it among its lines; the JSON ones keep stdout to JSON.
                print(wording.exec_policy_line(event.approval_policy, event.sandbox_mode), file=sys.stderr, flush=True)
            if isinstance(event, ev.TurnCompleted):
                return _write_last_message(outputs.last_message_path, event.last_agent_message, redactor)
            if isinstance(event, ev.TurnAborted):
                # 128 + the signal, as a shell reports a process the signal killed: 130, 143.
                return 128 + (received[0] if received else signal.SIGINT)
            if isinstance(event, ev.TurnFailed):
                return 1
    finally:
        await session.submit(ev.Shutdown())


def _write_last_message(path: str | None, message: str | None, redactor: Redactor) -> int:
    """`-o`: the final message, redacted but otherwise exact (a program reads it); written empty,
    with a warning, when the turn ended without one (as Codex does)."""
    from tui.exec_options import write_last_message

    if path is None:
        return 0
    if message is None:
        print(neutralize(f"warning: no last agent message; wrote empty content to {path}"), file=sys.stderr)
    try:
        write_last_message(path, redactor.redact(message or ""))
    except OSError as e:
        print(neutralize(f"codeloop: cannot write -o {path}: {e}"), file=sys.stderr)
        return 1
    return 0


class _JsonLines:
    """`--engine-events`: every event as one JSON line on stdout, the exact text (JSON escapes every control
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
        print(json_line(self.redactor.redact_json(e.to_json())), file=self.out, flush=True)

    @renders(ev.TurnFailed)
    def _failed(self, e: ev.TurnFailed) -> None:
        self._line(e)
        text = neutralize(self.redactor.redact(f"codeloop: {wording.turn_failed(e.message)}"))
        print(text, file=self.err or sys.stderr, flush=True)
