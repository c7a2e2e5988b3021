"""What codeloop says about the engine's events, worded here once for both faces: the app's
notices and cells (tui/app) and exec's progress lines (tui/exec_progress.py). Where the faces say a
thing differently (a notice in the conversation, a terse line on stderr), both forms sit side by
side, so a change of wording is made in one place. Text only: the caller neutralizes and redacts
(the faces' choke points), and no Textual is imported, so exec loads none of it.

The retry line and a web search's line are the events' own (`StreamRetrying.describe`,
`WebSearchEnded.describe`, with `failing` that the engine's failed-turn message shares): they
live in tui/protocol/, which may import nothing of ours.
"""

from __future__ import annotations

import shlex

from tui import protocol as ev

TURN_ABORTED = "turn aborted"
PATCH_FAILED = "patch failed"
NOBODY_TO_ASK = "needs approval, and exec has nobody to ask"


def images_attached(chips: list[str]) -> str:
    return "attached " + " ".join(chips)


def thinking(headline: str) -> str:
    """A reasoning summary's title: the app's collapsed cell, exec's progress line."""
    return f"thinking: {headline}"


def command_state(exit_code: int, timed_out: bool, interrupted: bool = False) -> str:
    """How a command ended: the app's tool cell and exec's line after the command."""
    return "timed out" if timed_out else "interrupted" if interrupted else f"exit {exit_code}"


def mcp_call_state(success: bool, timed_out: bool) -> str:
    """How an MCP tool call ended, in the app's cell."""
    return "timed out" if timed_out else "done" if success else "failed"


def mcp_progress(e: ev.McpToolCallProgress) -> str:
    """A running MCP call's last progress report: `3/10 · indexing`, `42%`, or `3`."""
    if e.total:
        done = f"{e.progress:g}/{e.total:g}"
    else:
        done = f"{e.progress:g}"
    return f"{done} · {e.message}" if e.message else done


def mcp_server_failed(server: str, reason: str | None) -> str:
    return f"MCP server {server!r} failed: {reason}"


def mcp_server_failed_notice(e: ev.McpServerStatus) -> str:
    return f"{mcp_server_failed(e.server, e.reason)}. The session goes on without it; /mcp lists the servers."


def mcp_server_failed_line(e: ev.McpServerStatus) -> str:
    return f"warning: {mcp_server_failed(e.server, e.reason)}; going on without it"


def patch_failed_notice(e: ev.PatchApplyEnded) -> str:
    return f"{PATCH_FAILED.capitalize()}: {e.output}"


def patch_failed_line(e: ev.PatchApplyEnded) -> str:
    return f"  {PATCH_FAILED}: {e.output}"


def approval_needed(request: ev.ApprovalRequested) -> str:
    """The desktop notification while an approval waits."""
    if request.kind == "exec" and request.command:
        what = f"run {shlex.join(request.command)}"
    else:
        what = f"edit {len(request.changes or [])} file(s)"
    return f"approval needed to {what}"


def denied_notice(e: ev.ApprovalDecided) -> str:
    """The app: the user (or the policy) said no."""
    return f"Denied ({e.by}); the model was told."


def requested_action(request: ev.ApprovalRequested) -> str:
    """What a call asking for approval would do, on one line: the command, the files, the tool."""
    if request.kind == "exec":
        where = "" if request.sandboxed else " (outside the sandbox)"
        return f"$ {shlex.join(request.command or [])}{where}"
    if request.kind == "patch":
        files = ", ".join(f"{c.kind} {c.path}" for c in request.changes or [])
        return f"apply_patch: {files or 'no files'}"
    arguments = " ".join((request.arguments or "").split())
    return f"mcp {request.server} › {request.tool} {arguments[:200]}".rstrip()


def declined_lines(e: ev.ApprovalDecided) -> list[str]:
    """exec: a call that needed approval was declined, since nobody is there to give it."""
    what = requested_action(e.request) if e.request is not None else e.call_id
    lines = [f"  declined {what} — {NOBODY_TO_ASK}"]
    if e.reason:
        lines.append(f"    reason: {e.reason}")
    if e.justification:
        lines.append(f"    the model's justification (its own words, not verified): {e.justification}")
    return lines


def compacting_notice(e: ev.CompactionStarted) -> str:
    return f"Compacting the conversation ({e.reason}, {e.tokens:,} tokens)…"


def compacted_notice(e: ev.CompactionDone) -> str:
    return (
        f"── compacted ({e.method}): {e.before_tokens:,} → ≈{e.after_tokens:,} tokens. "
        "Your messages are kept verbatim; the rest is summarised. ──"
    )


def compacted_line(e: ev.CompactionDone) -> str:
    return f"compacted ({e.method}, {e.reason}): {e.before_tokens} → ≈{e.after_tokens} tokens"


def undone_notice(e: ev.UndoDone) -> str:
    listed = ", ".join(e.paths[:8]) + (" …" if len(e.paths) > 8 else "")
    return f"Undone: restored {len(e.paths)} file(s){': ' + listed if listed else ''}. The model was told."


def forked(e: ev.HistoryForked) -> str:
    """What the app's notice and exec's line say after a Backtrack."""
    files = ""
    if e.restored_paths is not None:
        listed = ", ".join(e.restored_paths[:8]) + (" …" if len(e.restored_paths) > 8 else "")
        files = f"; restored {len(e.restored_paths)} file(s){': ' + listed if listed else ''}"
    return (
        f"Forked at your message {e.nth_user_message + 1}: the model no longer sees the "
        f"{e.dropped_items} item(s) that followed it{files}."
    )


def turn_done(e: ev.TurnCompleted) -> str:
    """The desktop notification when a turn ends: the answer's first line."""
    last = (e.last_agent_message or "").strip().splitlines()
    return f"done: {last[0]}" if last else "done"


def turn_failed(message: str) -> str:
    """The app's desktop notification; exec --json's line on stderr (after "codeloop: ")."""
    return f"turn failed: {message}"


def turn_aborted_notice(e: ev.TurnAborted) -> str:
    return f"{TURN_ABORTED.capitalize()} ({e.reason})."


def turn_aborted_line(e: ev.TurnAborted) -> str:
    return f"{TURN_ABORTED}: {e.reason}"


CACHE_MISS_REASONS: dict[str, str] = {
    "model": "model changed",
    "cache_key": "prompt_cache_key changed",
    "reasoning": "reasoning settings changed",
    "tools": "tools changed",
    "instructions": "instructions changed",
    "compaction": "compaction",
    "fork": "fork (backtrack)",
    "items_inserted": "inserted before the history",
    "history_rewritten": "history rewritten",
    "provider_evicted": "provider evicted",
}


def cache_miss_reason(e: ev.CacheMissed) -> str:
    """The miss's cause in a few words, then what the engine saw: the budget pane's line."""
    return f"{CACHE_MISS_REASONS.get(e.reason, e.reason)}: {e.detail}"


def cache_miss_figures(e: ev.CacheMissed) -> str:
    return f"read {e.cached_input_tokens:,} of ≈{e.expected_cached_tokens:,} cached tokens"


def cache_miss_line(e: ev.CacheMissed) -> str:
    """exec's progress line (`/status` shows the reason and the figures in its own columns)."""
    return f"cache miss on request {e.request}: {cache_miss_reason(e)} ({cache_miss_figures(e)})"


def exec_policy_line(policy: ev.ApprovalPolicy, sandbox: ev.SandboxMode) -> str:
    """exec's first line on stderr: what runs under this policy and sandbox, and, since nobody
    can approve in exec, what is declined and which flag would let it run."""
    head = f"approvals: {policy} · sandbox: {sandbox} · "
    if sandbox == "danger-full-access" and policy != "untrusted":
        return head + "nothing is declined: every command, edit and MCP call runs, without a sandbox"
    if policy == "never":
        return head + "nothing asks: what the sandbox forbids fails, MCP calls are refused (--yolo lifts both)"
    if policy == "untrusted":
        return head + (
            "exec has nobody to ask, so only known read-only commands run; other commands, edits and "
            "MCP calls are declined (--full-auto lets commands and edits in the workspace run)"
        )
    if sandbox == "read-only":
        return head + (
            "commands run sandboxed, read-only; exec has nobody to ask, so edits, commands that need "
            "more than the sandbox, and MCP calls are declined (--full-auto lets edits in the workspace run)"
        )
    return head + (
        "commands run sandboxed and edits in the workspace apply; exec has nobody to ask, so a "
        "command that needs more than the sandbox, an edit outside the workspace, and MCP calls are "
        "declined (--yolo runs everything without a sandbox)"
    )
