"""`!cmd`: a command the user runs themselves, between turns, with no model involved.

It needs no approval (the user typed it) but runs under the session's sandbox like the model's
commands. What it printed is appended to the history as a user message, not as a
function_call/output pair: no call was made, and an invented call would be a lie the model
might imitate. The model reads it with the next request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tui.engine.context import message
from tui.protocol import ABORTED_BY_USER, WarningIssued
from tui.safety.sandbox import is_sandbox_denial
from tui.tools.process import (
    INTERRUPTED_EXIT_CODE,
    ExecResult,
    format_exec_output,
)
from tui.tools.shell import run_command

if TYPE_CHECKING:
    from tui.engine.session import Session


def shell_argv(command: str) -> list[str]:
    # bash, so pipes, globs and `&&` work. Not a login shell: the environment is already the
    # user's (inherited), and profile scripts that try to write outside the sandbox would only
    # add noise to every output.
    return ["bash", "-c", command]


def user_shell_message(command: str, result: str) -> str:
    return f"<user_shell_command>\n<command>\n{command}\n</command>\n<result>\n{result}\n</result>\n</user_shell_command>"


async def run_user_shell(sess: Session, command: str, call_id: str) -> str | None:
    """Run it, show it, record it. An interrupt (Esc) kills it and records that it was stopped."""
    # The model must have been told its settings before it reads anything from this session.
    sess.record_context_updates()
    ctx = sess.tool_context()
    sandboxed = ctx.sandbox.mode != "danger-full-access"
    try:
        result = await run_command(call_id, ctx, shell_argv(command), ctx.cwd, sandboxed, None, display=command)
    except asyncio.CancelledError:
        # run_command has shown the cell ended and left what the command printed, with the exit
        # status and wall time, in interrupted_outputs (or nothing, stopped before it started).
        text = ctx.interrupted_outputs.pop(call_id, f"Exit code: {INTERRUPTED_EXIT_CODE}\n{ABORTED_BY_USER}")
        sess.record(message("user", user_shell_message(command, text)))
        # The cancellation ends here: what was asked (stop the command) is done, and the session
        # is idle again, not an aborted turn.
        return None
    if isinstance(result, str):  # it could not start: say so to the user and the model alike
        sess.emit(WarningIssued(f"!{command}: {result}"))
        sess.record(message("user", user_shell_message(command, result)))
        return None
    assert isinstance(result, ExecResult)
    if sandboxed and is_sandbox_denial(result.exit_code, result.output):
        sess.emit(WarningIssued(
            f"The sandbox ({ctx.sandbox.mode}) may have stopped this command. `!` commands run in the "
            "same sandbox as the model's; /sandbox danger-full-access lifts it."
        ))
    sess.record(message("user", user_shell_message(command, format_exec_output(result, ctx.tool_output_token_limit))))
    return None
