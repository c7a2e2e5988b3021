"""The `shell` tool: approval gate → sandbox → process → the text the model reads."""

from __future__ import annotations

import asyncio
import shlex
import shutil
from pathlib import Path
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from tui.protocol import (
    ApprovalRequested,
    ExecCommandBegan,
    ExecCommandEnded,
    ReviewDecision,
)
from tui.safety import approvals
from tui.safety.approvals import Action
from tui.safety.git_hardening import hardened_env, repository_config
from tui.safety.redact import default_redactor
from tui.safety.safe_commands import is_git, is_known_safe, known_safe_commands
from tui.safety.sandbox import SandboxUnavailable, is_sandbox_denial, wrap
from tui.tools.base import ToolCall, ToolContext, ToolResult, parse_arguments
from tui.tools.live_output import LiveOutput
from tui.tools.process import (
    CommandInterrupted,
    ExecResult,
    format_exec_output,
    run_process,
    shell_environment,
)
from tui.tools.shell_snapshot import (
    CAPTURE_TIMEOUT_S,
    is_login_script,
    run_to_completion,
    with_snapshot,
)


class ShellArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: list[str] = Field(min_length=1)
    workdir: str | None = None
    timeout_ms: int | None = Field(default=None, gt=0)
    sandbox_permissions: Literal["use_default", "require_escalated"] = "use_default"
    justification: str | None = None


def is_parallel_safe(call: ToolCall) -> bool:
    """Known-safe read-only shell calls may run concurrently with each other."""
    if call.name != "shell":
        return False
    args = parse_arguments(ShellArgs, call.payload)
    return isinstance(args, ShellArgs) and args.sandbox_permissions == "use_default" and is_known_safe(args.command)


def embedded_patch(argv: Sequence[str]) -> str | None:
    """`apply_patch` invoked through the shell (models sometimes do): route it to the patch tool."""
    if len(argv) == 2 and argv[0] in ("apply_patch", "applypatch"):
        return argv[1]
    if len(argv) == 3 and argv[0] in ("bash", "sh", "zsh") and argv[1] in ("-lc", "-c"):
        script = argv[2].lstrip()
        if script.startswith(("apply_patch", "applypatch")) and "*** Begin Patch" in script:
            return script
    return None


def _unusable(argv: list[str], workdir: str | None) -> str | None:
    """What the OS cannot take in an argv or a path: NUL bytes and text that is not UTF-8."""
    for what, value in [("workdir", workdir or ""), *(("argument", a) for a in argv)]:
        if "\x00" in value:
            return f"invalid {what}: it contains a NUL character, which no command can receive."
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"invalid {what}: it is not valid UTF-8 text (a lone surrogate escape)."
    return None


async def handle_shell(call: ToolCall, ctx: ToolContext) -> ToolResult:
    args = parse_arguments(ShellArgs, call.payload)
    if isinstance(args, str):
        return ToolResult(args, False)
    assert isinstance(args, ShellArgs)
    patch = embedded_patch(args.command)
    if patch is not None:
        from tui.tools.patch_tool import apply_patch_text

        return await apply_patch_text(call, patch, ctx)

    problem = _unusable(args.command, args.workdir)
    if problem:
        return ToolResult(problem, False)
    try:
        cwd = (ctx.cwd / args.workdir).resolve() if args.workdir else ctx.cwd
        usable = cwd.is_dir()
    except OSError as e:  # e.g. a name too long for the filesystem
        return ToolResult(f"workdir {args.workdir!r} cannot be used: {e.strerror or e}.", False)
    if not usable:
        return ToolResult(f"workdir {cwd} does not exist or is not a directory.", False)
    escalate = args.sandbox_permissions == "require_escalated"
    verdict = approvals.assess_exec(
        policy=ctx.approval_policy,
        sandbox_mode=ctx.sandbox.mode,
        argv=args.command,
        escalate=escalate,
        store=ctx.approvals,
        cwd=cwd,
    )
    git_env: dict[str, str] | None = None
    if verdict.known_safe and any(is_git(c) for c in known_safe_commands(args.command) or []):
        verdict, git_env = await _harden_git(verdict, args.command, cwd, ctx)
    if verdict.action is Action.REJECT:
        return ToolResult(f"Not run: {verdict.reason}", False)
    sandboxed = verdict.sandboxed
    if verdict.action is Action.ASK:
        # codeloop's reason always; the model's words travel apart, marked as its own (a
        # justification reading "already approved by the user" must not look like ours).
        justification = approvals.model_justification(args.justification)
        if not await _approve(call, ctx, args.command, cwd, verdict.reason, sandboxed, justification):
            return ToolResult(ctx.declined_message(f"to run `{shlex.join(args.command)}`"), False)

    timeout_s = args.timeout_ms / 1000 if args.timeout_ms else ctx.default_timeout_s
    result = await _run(call, ctx, args.command, cwd, sandboxed, timeout_s, git_env)
    if isinstance(result, str):
        return ToolResult(result, False)

    if sandboxed and is_sandbox_denial(result.exit_code, result.output):
        retry = approvals.assess_sandbox_denial(
            policy=ctx.approval_policy, argv=args.command, store=ctx.approvals
        )
        run_again = retry.action is Action.RUN
        if retry.action is Action.ASK:
            run_again = await _approve(call, ctx, args.command, cwd, retry.reason, sandboxed=False)
        if run_again:
            rerun = await _run(call, ctx, args.command, cwd, False, timeout_s)
            if isinstance(rerun, str):
                return ToolResult(rerun, False)
            result = rerun
    text = format_exec_output(result, ctx.tool_output_token_limit)
    return ToolResult(text, result.exit_code == 0 and not result.timed_out)


async def _harden_git(
    verdict: approvals.Assessment, argv: list[str], cwd: Path, ctx: ToolContext
) -> tuple[approvals.Assessment, dict[str, str]]:
    """A known-safe git runs with the repository's programs switched off (git_hardening.py);
    one the environment cannot switch off (`diff.external`, a diff driver's command or
    textconv) makes it ask instead, naming the key."""
    base = shell_environment(policy=ctx.shell_environment_policy)
    config = await asyncio.to_thread(repository_config, cwd, base)
    env = hardened_env(base, [(key, "") for key in config.filters])
    if config.diff_programs and not ctx.approvals.command_approved(argv, sandboxed=verdict.sandboxed):
        keys = ", ".join(f"`{key}`" for key in config.diff_programs)
        verdict = approvals.Assessment(
            Action.ASK, verdict.sandboxed, f"the repository's git config sets {keys}: git would run that program"
        )
    return verdict, env


async def _approve(
    call: ToolCall, ctx: ToolContext, argv: list[str], cwd: Path, reason: str, sandboxed: bool,
    justification: str | None = None,
) -> bool:
    decision = await ctx.request_approval(
        ApprovalRequested(
            call_id=call.call_id, kind="exec", reason=reason, command=argv, cwd=str(cwd), sandboxed=sandboxed,
            justification=justification,
        )
    )
    if decision is ReviewDecision.APPROVED_FOR_SESSION:
        ctx.approvals.approve_command(argv, sandboxed=sandboxed)
    return decision in (ReviewDecision.APPROVED, ReviewDecision.APPROVED_FOR_SESSION)


async def _run(
    call: ToolCall, ctx: ToolContext, argv: list[str], cwd: Path, sandboxed: bool, timeout_s: float,
    env: dict[str, str] | None = None,
) -> ExecResult | str:
    return await run_command(call.call_id, ctx, argv, cwd, sandboxed, timeout_s, env=env)


async def run_command(
    call_id: str,
    ctx: ToolContext,
    argv: list[str],
    cwd: Path,
    sandboxed: bool,
    timeout_s: float | None,
    *,
    display: str | None = None,
    env: dict[str, str] | None = None,
) -> ExecResult | str:
    """Run `argv` (in the sandbox when `sandboxed`) with `env` (default: the session's shell
    environment), announced by ExecCommandBegan, its output streamed by ExecCommandOutputDelta,
    ended by ExecCommandEnded; a str says why it could not run. Approval is the caller's
    business. Cancelling kills it; the text the model should read for the interrupted call is
    then left in `ctx.interrupted_outputs`."""
    if env is None:
        env = shell_environment(policy=ctx.shell_environment_policy)
    try:
        # What runs: the model's argv, or its `bash -lc` with the profile's effect replayed.
        run_argv, pass_fds = await _replay_profile(argv, ctx, cwd, sandboxed, env)
        # The sandbox's walls come from the session's folder; `cwd` (a call's workdir) is only
        # where the command starts.
        final_argv = wrap(run_argv, ctx.sandbox, ctx.cwd, workdir=cwd) if sandboxed else run_argv
        tripwire = ctx.sandbox.tripwire(ctx.cwd) if sandboxed else None
    except SandboxUnavailable as e:
        return f"Not run: the sandbox is unavailable. {e}"
    ctx.emit(ExecCommandBegan(call_id, list(argv), str(cwd), sandboxed, display))
    live = LiveOutput(call_id, ctx.emit)
    try:
        result = await run_process(
            final_argv, cwd=cwd, env=env, timeout_s=timeout_s, pass_fds=pass_fds, on_output=live.feed
        )
    except CommandInterrupted as stop:
        # Interrupted: the cell and the model both keep what it printed until then, and a
        # protected name it created is still moved aside.
        live.close()
        _add_notes(stop.result, tripwire.check() if tripwire is not None else [])
        _ended(call_id, ctx, stop.result)
        ctx.interrupted_outputs[call_id] = format_exec_output(stop.result, ctx.tool_output_token_limit)
        raise
    live.close()
    notes = tripwire.check() if tripwire is not None else []
    if sandboxed and result.exit_code != 0:
        # A root too big to search for repositories is not writable (protected.py); say so where
        # the failure shows, or "Read-only file system" in the session's own folder is a riddle.
        notes += [f"codeloop: {reason}." for _, reason in ctx.sandbox.refused_roots(ctx.cwd)]
    _add_notes(result, notes)
    _ended(call_id, ctx, result)
    return result


def _add_notes(result: ExecResult, notes: list[str]) -> None:
    """codeloop's own lines after what the command printed (the tripwire's, a refused root)."""
    if notes:
        sep = "" if result.output.endswith("\n") or not result.output else "\n"
        result.output = result.output + sep + "\n".join(notes) + "\n"


def _ended(call_id: str, ctx: ToolContext, result: ExecResult) -> None:
    # Redacted before anyone sees it, the model included: see tui/safety/redact.py for why.
    result.output = default_redactor().redact(result.output)
    ctx.emit(
        ExecCommandEnded(
            call_id, result.exit_code, result.duration_s, result.output[-4000:], result.timed_out,
            result.interrupted,
        )
    )


async def _replay_profile(
    argv: list[str], ctx: ToolContext, cwd: Path, sandboxed: bool, env: dict[str, str]
) -> tuple[list[str], tuple[int, ...]]:
    """`bash -lc S` → `bash -c '. /dev/fd/N; S'` once the session has a snapshot, and the
    descriptors the command must inherit for it (see shell_snapshot.py)."""
    if ctx.shell_snapshots is None or not is_login_script(argv):
        return list(argv), ()

    async def run(snap_argv: list[str], pass_fds: Sequence[int]) -> tuple[int, str] | None:
        wrapped = wrap(snap_argv, ctx.sandbox, ctx.cwd, workdir=cwd) if sandboxed else snap_argv
        return await asyncio.to_thread(run_to_completion, wrapped, cwd, env, CAPTURE_TIMEOUT_S, pass_fds)

    def policy_env(variables: dict[str, str]) -> dict[str, str]:
        return shell_environment(variables, policy=ctx.shell_environment_policy)

    # The session's folder, not the call's workdir, decides the walls the snapshot was taken in.
    key = (argv[0], sandboxed, ctx.sandbox, ctx.cwd, cwd)
    snapshot = await ctx.shell_snapshots.get(key, argv[0], run, env, policy_env)
    if snapshot is None:
        return list(argv), ()
    return with_snapshot(argv, snapshot), snapshot.pass_fds


async def prepare_shell_snapshot(ctx: ToolContext) -> None:
    """Capture the snapshot a sandboxed `bash -lc` in the session's folder will use, ahead of the
    first call: the login shell runs in its own process while the turn's first request is made."""
    if ctx.shell_snapshots is None or shutil.which("bash") is None:
        return
    sandboxed = ctx.sandbox.mode != "danger-full-access"
    env = shell_environment(policy=ctx.shell_environment_policy)
    try:
        await _replay_profile(["bash", "-lc", ""], ctx, ctx.cwd, sandboxed, env)
    except SandboxUnavailable:
        return  # the first command will say so
