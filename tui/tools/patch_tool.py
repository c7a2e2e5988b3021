"""The `apply_patch` tool: plan every change, pass the approval gate, then write all-or-nothing."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tui.protocol import (
    ApprovalRequested,
    FileChangeSummary,
    PatchApplyBegan,
    PatchApplyEnded,
    ReviewDecision,
)
from tui.safety import approvals
from tui.safety.approvals import Action
from tui.safety.sandbox import SandboxPolicy
from tui.tools.apply_patch import (
    FileChange,
    PatchError,
    apply_changes,
    diff_stats,
    plan_patch,
    unified_diff,
)
from tui.tools.base import (
    ToolCall,
    ToolContext,
    ToolResult,
    parse_arguments,
    valid_text,
)

# Code points some file systems ignore in names (HFS+), so `.g\u200cit` is `.git` there.
_IGNORABLE = dict.fromkeys(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065), 0xFEFF, 0xAD]
)


class ApplyPatchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str


def unwritable_reason(sandbox: SandboxPolicy, cwd: Path, touched: list[Path], written: list[str]) -> str | None:
    """Why a sandboxed command could not write one of `touched` (resolved paths, every add,
    update, delete, move source and destination), or None. `written` are the same paths as the
    patch spelled them: a component that is `.git` on a case-insensitive or
    ignorable-code-point file system (`.GIT`, `.Git.`, `.g\u200cit`) counts as `.git` too."""
    protected = sandbox.protected_paths(cwd)
    for path in touched:
        if sandbox.allows_write(path, cwd):
            continue
        inside = next((p for p in protected if path == p or p in path.parents), None)
        if inside is not None:
            return f"writes inside {inside.name} (`{path}`), which the sandbox keeps read-only"
        return f"writes outside the writable roots (`{path}`)"
    if sandbox.mode == "danger-full-access":
        return None
    # Also a `.git` that does not exist yet (a patch must not make a folder a repository with
    # its own config), or one reached through a symlink: judged by the resolved path too.
    base = cwd.resolve()
    spelled = [re.split(r"[\\/]", rel) for rel in written]
    spelled += [list(p.relative_to(base).parts) if p.is_relative_to(base) else list(p.parts) for p in touched]
    for parts in spelled:
        if any(_looks_like_git_dir(part) for part in parts):
            return f"writes inside .git (`{'/'.join(parts)}`), which the sandbox keeps read-only"
    return None


def _looks_like_git_dir(name: str) -> bool:
    folded = unicodedata.normalize("NFC", name.translate(_IGNORABLE)).casefold().rstrip(". ")
    return folded in (".git", "git~1")


def summarize(changes: list[FileChange]) -> list[FileChangeSummary]:
    """What the approval prompt, the transcript and `exec --json` show: text that is valid UTF-8
    even when a file is not (its odd bytes show as U+FFFD; the file keeps them)."""
    out = []
    for c in changes:
        added, removed = diff_stats(c)
        move_to = valid_text(c.move_rel) if c.move_rel is not None else None
        out.append(
            FileChangeSummary(
                path=valid_text(c.rel), kind=c.kind, added=added, removed=removed,
                diff=valid_text(unified_diff(c)), move_to=move_to,
            )
        )
    return out


async def handle_apply_patch(call: ToolCall, ctx: ToolContext) -> ToolResult:
    if call.kind == "custom":
        return await apply_patch_text(call, call.payload, ctx)
    args = parse_arguments(ApplyPatchArgs, call.payload)
    if isinstance(args, str):
        return ToolResult(args, False)
    assert isinstance(args, ApplyPatchArgs)
    return await apply_patch_text(call, args.input, ctx)


async def apply_patch_text(call: ToolCall, text: str, ctx: ToolContext) -> ToolResult:
    roots = ctx.sandbox.effective_writable_roots(ctx.cwd)
    # Paths are confined to the workspace and the writable roots; whether a write there needs
    # the user's say is the policy's question below.
    allowed = [ctx.cwd, *roots]
    # Reading, matching and diffing big files is CPU work: keep it off the event loop so the
    # UI (same loop) stays responsive.
    try:
        changes = await asyncio.to_thread(plan_patch, text, ctx.cwd, allowed_roots=allowed)
    except PatchError as e:
        return ToolResult(f"apply_patch failed, nothing was changed: {e}", False)
    touched = [c.path for c in changes] + [c.move_to for c in changes if c.move_to is not None]
    written = [c.rel for c in changes] + [c.move_rel for c in changes if c.move_rel is not None]
    verdict = approvals.assess_patch(
        policy=ctx.approval_policy,
        paths=touched,
        store=ctx.approvals,
        unwritable=unwritable_reason(ctx.sandbox, ctx.cwd, touched, written),
    )
    summary = await asyncio.to_thread(summarize, changes)
    if verdict.action is Action.REJECT:
        return ToolResult(f"Patch not applied: {verdict.reason}.", False)
    if verdict.action is Action.ASK:
        decision = await ctx.request_approval(
            ApprovalRequested(call_id=call.call_id, kind="patch", reason=verdict.reason, changes=summary)
        )
        if decision is ReviewDecision.APPROVED_FOR_SESSION:
            ctx.approvals.approve_paths(touched)
        elif decision is not ReviewDecision.APPROVED:
            return ToolResult(ctx.declined_message("this patch; nothing was changed"), False)
    ctx.emit(PatchApplyBegan(call.call_id, summary))
    try:
        # Written on the loop, not in a thread: an interrupt must not land while a thread is
        # still writing, or the model would be told "aborted" about a patch that did apply.
        output = apply_changes(changes)
    except (PatchError, OSError) as e:
        ctx.emit(PatchApplyEnded(call.call_id, False, valid_text(str(e))))
        return ToolResult(f"apply_patch failed, nothing was changed: {e}", False)
    ctx.emit(PatchApplyEnded(call.call_id, True, valid_text(output)))
    return ToolResult(output, True)
