"""The approval policy: which calls run, which ask the user, which are refused.

Pure decisions, no I/O: the tool handlers ask here first and then await the user's answer
(a future) only when the answer is `ASK`. The session store remembers "approve for the session"
under the same normalised key the user was shown (Codex #4212: a wrapped argv cached under a
different key made session approvals never match).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from tui.mcp_config import McpApprovalMode, approve_hint
from tui.protocol import ApprovalPolicy
from tui.safety.credentials import reaches_credentials
from tui.safety.safe_commands import known_safe_commands, normalize_command
from tui.safety.terminal_text import neutralize


class Action(enum.Enum):
    RUN = "run"
    ASK = "ask"
    REJECT = "reject"


@dataclass(frozen=True)
class Assessment:
    action: Action
    sandboxed: bool
    reason: str
    known_safe: bool = False
    """It runs unasked because it only reads: the caller runs git in it hardened."""


@dataclass
class ApprovalStore:
    """What the user approved "for the session"."""

    commands: set[str] = field(default_factory=set)
    unsandboxed_commands: set[str] = field(default_factory=set)
    paths: set[Path] = field(default_factory=set)
    mcp_tools: set[tuple[str, str]] = field(default_factory=set)  # (server, tool)

    def approve_command(self, argv: Sequence[str], *, sandboxed: bool) -> None:
        key = normalize_command(argv)
        (self.commands if sandboxed else self.unsandboxed_commands).add(key)

    def command_approved(self, argv: Sequence[str], *, sandboxed: bool) -> bool:
        key = normalize_command(argv)
        # Approval to run outside the sandbox covers running inside it, not the reverse.
        return key in self.unsandboxed_commands or (sandboxed and key in self.commands)

    def approve_paths(self, paths: Iterable[Path]) -> None:
        self.paths.update(paths)

    def paths_approved(self, paths: Iterable[Path]) -> bool:
        wanted = set(paths)
        return bool(wanted) and wanted <= self.paths

    def approve_mcp_tool(self, server: str, tool: str) -> None:
        self.mcp_tools.add((server, tool))

    def mcp_tool_approved(self, server: str, tool: str) -> bool:
        return (server, tool) in self.mcp_tools


MAX_JUSTIFICATION_CHARS = 300


def model_justification(text: str | None) -> str | None:
    """The model's `justification` made fit to show beside codeloop's reason: control sequences
    neutralized, one line (a line break could fake a "Reason:" line of ours), clipped."""
    if not text or not text.strip():
        return None
    flat = " ".join(neutralize(text).split())
    if len(flat) > MAX_JUSTIFICATION_CHARS:
        flat = flat[:MAX_JUSTIFICATION_CHARS] + "…"
    return flat


def assess_exec(
    *,
    policy: ApprovalPolicy,
    sandbox_mode: str,
    argv: Sequence[str],
    escalate: bool,
    store: ApprovalStore,
    cwd: Path | None = None,
) -> Assessment:
    """Decide the first attempt of a shell call run in `cwd` (None: not judged against the
    file system, so a known-safe read of a credential store is not caught)."""
    no_sandbox = sandbox_mode == "danger-full-access"
    sandboxed = not no_sandbox and not escalate
    if escalate and not no_sandbox:
        if policy == "never":
            return Assessment(
                Action.REJECT,
                False,
                "the command asked to run outside the sandbox, but the approval policy is "
                "`never`: nothing may run outside the sandbox. Run it without "
                "`require_escalated`, or do without it.",
            )
        if store.command_approved(argv, sandboxed=False):
            return Assessment(Action.RUN, False, "approved for this session")
        return Assessment(Action.ASK, False, "the model asked to run outside the sandbox")
    if policy == "untrusted":
        commands = known_safe_commands(argv)
        reached = reaches_credentials(commands, cwd) if commands is not None and cwd is not None else None
        if commands is not None and reached is None:
            return Assessment(Action.RUN, sandboxed, "known-safe read-only command", known_safe=True)
        if store.command_approved(argv, sandboxed=sandboxed):
            return Assessment(Action.RUN, sandboxed, "approved for this session")
        if reached is not None:
            return Assessment(
                Action.ASK, sandboxed, f"it may read `{reached}`, which holds or may hold credentials (keys, tokens)"
            )
        return Assessment(Action.ASK, sandboxed, "approval policy `untrusted` asks for every command that is not known to be read-only")
    # on-request, on-failure, never: the sandbox (or the user's choice of full access) is the gate.
    return Assessment(Action.RUN, sandboxed, f"approval policy `{policy}`")


def assess_sandbox_denial(*, policy: ApprovalPolicy, argv: Sequence[str], store: ApprovalStore) -> Assessment:
    """A sandboxed run failed in a way that looks like the sandbox refused it."""
    if policy == "never":
        return Assessment(Action.REJECT, True, "the sandbox refused and the approval policy is `never`")
    if store.command_approved(argv, sandboxed=False):
        return Assessment(Action.RUN, False, "approved for this session")
    return Assessment(Action.ASK, False, "the sandbox refused the command; run it again without the sandbox?")


def assess_patch(
    *,
    policy: ApprovalPolicy,
    paths: Sequence[Path],
    store: ApprovalStore,
    unwritable: str | None,
) -> Assessment:
    """Decide whether a patch touching `paths` may be applied. `unwritable` says why a sandboxed
    command could not write one of them (`writes inside .git`, `writes outside the writable
    roots`), None when it could write them all: the patch tool's area is exactly the sandbox's,
    so a patch cannot plant what a command could not (a hook, an fsmonitor in .git/config)."""
    if policy == "never":
        if unwritable is None:
            return Assessment(Action.RUN, False, "inside the writable roots")
        return Assessment(
            Action.REJECT,
            False,
            f"the patch {unwritable}, which needs the user's approval, and the approval policy is "
            "`never`",
        )
    if store.paths_approved(paths):
        return Assessment(Action.RUN, False, "these files were approved for this session")
    if unwritable is not None:
        return Assessment(Action.ASK, False, f"the patch {unwritable}")
    if policy == "untrusted":
        return Assessment(Action.ASK, False, "approval policy `untrusted` asks for every patch")
    return Assessment(Action.RUN, False, "inside the writable roots")


def assess_mcp(
    *,
    policy: ApprovalPolicy,
    sandbox_mode: str,
    server: str,
    tool: str,
    store: ApprovalStore,
    mode: McpApprovalMode = "auto",
    mode_setting: str | None = None,
    read_only: bool = False,
) -> Assessment:
    """Decide an MCP tool call. The server runs outside any sandbox and may do anything, so by
    default (`mode` "auto") a call is judged like a patch that writes outside the writable
    roots: asked, unless the user chose no sandbox at all (`danger-full-access`).

    `mode` is the user's own setting for the tool (tui/mcp_config.py), from `mode_setting`:
    "approve" runs it unasked under every policy, "prompt" asks every time. `read_only` is the
    server's `readOnlyHint`, believed only because the user configured that server, and only
    where the policy would otherwise ask because MCP runs unsandboxed (`on-request`,
    `on-failure`): it never loosens `untrusted`, nor a tool the user set to "prompt".
    """
    unconfined = sandbox_mode == "danger-full-access"
    approve = approve_hint(server, tool)
    if mode == "approve":
        return Assessment(Action.RUN, False, f"approved in advance ({mode_setting} is \"approve\")")
    if mode == "prompt":
        if policy == "never":
            return Assessment(
                Action.REJECT,
                False,
                f"the user set the MCP tool `{tool}` of server `{server}` to ask before every call "
                f"({mode_setting} is \"prompt\"), and the approval policy `never` cannot ask. "
                f"Setting it to \"approve\" instead lets it run",
            )
        return Assessment(Action.ASK, False, f"{mode_setting} is \"prompt\": ask before every call of this tool")
    if policy == "never":
        if unconfined:
            return Assessment(Action.RUN, False, "approval policy `never` without a sandbox")
        return Assessment(
            Action.REJECT,
            False,
            f"the MCP tool `{tool}` of server `{server}` runs outside the sandbox and the approval "
            f"policy is `never`, so it cannot be approved. The user can let it run with {approve}; "
            "until then, do without it",
        )
    if store.mcp_tool_approved(server, tool):
        return Assessment(Action.RUN, False, "this tool was approved for this session")
    if policy == "untrusted":
        return Assessment(Action.ASK, False, "approval policy `untrusted` asks before every MCP tool call")
    if unconfined:
        return Assessment(Action.RUN, False, f"approval policy `{policy}` without a sandbox")
    if read_only:
        return Assessment(Action.RUN, False, "the server marks this tool read-only (readOnlyHint)")
    return Assessment(
        Action.ASK, False, "MCP tools run outside the sandbox: the server may read, write or send anything"
    )
