"""The initial context of a session and the settings diffs appended after it.

Layout (as Codex builds it since early 2026): one developer message (permissions, then the
developer instructions), one user message (AGENTS.md, then `<environment_context>`), then the
user's own messages. A later change of model, policy, sandbox or cwd is appended as new
messages: earlier items are never rewritten, so the cached prefix stays valid.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tui.protocol import ApprovalPolicy, OverrideSettings
from tui.safety.sandbox import SandboxPolicy

AGENTS_FILENAMES = ("AGENTS.override.md", "AGENTS.md")


@dataclass(frozen=True)
class TurnSettings:
    """What the model must be told about; a change of any field is appended to the history."""

    model: str
    approval_policy: ApprovalPolicy
    sandbox: SandboxPolicy
    cwd: Path

    def overridden(self, op: OverrideSettings) -> TurnSettings:
        """These settings with what `op` changes (a field it leaves None stays)."""
        sandbox = replace(self.sandbox, mode=op.sandbox_mode) if op.sandbox_mode else self.sandbox
        return TurnSettings(
            model=op.model or self.model,
            approval_policy=op.approval_policy or self.approval_policy,
            sandbox=sandbox,
            cwd=Path(op.cwd).resolve() if op.cwd else self.cwd,
        )


def message(role: str, *texts: str) -> dict[str, Any]:
    part = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": part, "text": t} for t in texts]}


_APPROVAL_TEXT = {
    "untrusted": (
        "Approvals: `untrusted`. Every command that is not a known read-only one (ls, cat, rg, "
        "git status, ...) and every patch waits for the user's approval. Group work to keep "
        "approvals few."
    ),
    "on-request": (
        "Approvals: `on-request`. Commands run in the sandbox without asking. When one truly "
        "needs more (network, writing outside the writable roots), call `shell` with "
        '`sandbox_permissions: "require_escalated"` and a one-sentence `justification`; the user decides.'
    ),
    "on-failure": (
        "Approvals: `on-failure`. Commands run in the sandbox; when the sandbox refuses one, the "
        "user is asked whether to run it outside."
    ),
    "never": (
        "Approvals: `never`. Nobody approves anything: do not request escalation. Work within "
        "what the sandbox allows; if something cannot be done, say so in your answer."
    ),
}


def permissions_text(settings: TurnSettings, *, interactive: bool = True) -> str:
    sb = settings.sandbox
    network = "enabled" if sb.network_access else "restricted"
    if sb.mode == "danger-full-access":
        sandbox = "Sandbox: `danger-full-access`. Commands run without a sandbox; network access is enabled."
    elif sb.mode == "read-only":
        sandbox = (
            "Sandbox: `read-only`. Commands may read files but not write them; edits go through "
            f"`apply_patch` and need approval. Network access is {network}."
        )
    else:
        roots = ", ".join(f"`{r}`" for r in sb.effective_writable_roots(settings.cwd))
        sandbox = (
            "Sandbox: `workspace-write`. Commands may read any file and write inside the writable "
            f"roots ({roots}); `.git` stays read-only. Network access is {network}."
        )
    lines = ["<permissions instructions>", sandbox, _APPROVAL_TEXT[settings.approval_policy]]
    if not interactive:
        lines.append("This session is headless: calls that would need approval are declined.")
    lines.append("</permissions instructions>")
    return "\n".join(lines)


def environment_context(cwd: Path | None, *, shell: str | None = None, today: _dt.date | None = None) -> str:
    lines = ["<environment_context>"]
    if cwd is not None:
        lines.append(f"  <cwd>{cwd}</cwd>")
    if shell is not None:
        lines.append(f"  <shell>{shell}</shell>")
    if today is not None:
        lines.append(f"  <current_date>{today.isoformat()}</current_date>")
        tz = _dt.datetime.now().astimezone().tzname()
        if tz:
            lines.append(f"  <timezone>{tz}</timezone>")
    lines.append("</environment_context>")
    return "\n".join(lines)


def user_shell() -> str:
    return Path(os.environ.get("SHELL") or "bash").name or "bash"


def find_git_root(cwd: Path) -> Path | None:
    for d in (cwd, *cwd.parents):
        if (d / ".git").exists():
            return d
    return None


def collect_agents_docs(
    cwd: Path, max_bytes: int, home: Path | None = None, skipped: list[str] | None = None,
    used: list[Path] | None = None,
) -> str | None:
    """AGENTS.md files from the git root down to cwd (one per folder, the override winning).

    The repository is untrusted and its instructions go to the provider in the first request,
    before the user typed anything: a file is read only when it resolves inside the repository
    (codeloop's home for the home one) and is no credential store, so an `AGENTS.md` symlinked
    to `~/.aws/credentials` is skipped. Each skip is described in `skipped`; each file read
    (with text in it) is appended to `used`."""
    if max_bytes <= 0:
        return None
    root = find_git_root(cwd) or cwd
    folders = [cwd, *cwd.parents]
    folders = folders[: folders.index(root) + 1] if root in folders else [cwd]
    texts: list[str] = []
    places = ([(home, home)] if home is not None else []) + [(folder, root) for folder in reversed(folders)]
    for folder, confine in places:
        for name in AGENTS_FILENAMES:
            p = folder / name
            if p.is_file():
                why = _outside_reason(p, confine)
                if why is None:
                    texts.append(_read(p))
                    if used is not None and texts[-1].strip():
                        used.append(p)
                elif skipped is not None:
                    skipped.append(f"{p} was not read: {why}.")
                break
    texts = [t for t in texts if t.strip()]
    if not texts:
        return None
    joined = "\n\n".join(texts).encode("utf-8")
    if len(joined) > max_bytes:
        joined = joined[:max_bytes]
    return joined.decode("utf-8", errors="ignore")


def _outside_reason(path: Path, confine: Path) -> str | None:
    from tui.safety.credentials import is_credential_path

    try:
        real = path.resolve()
        base = confine.resolve()
    except (OSError, RuntimeError) as e:
        return f"it cannot be resolved ({e})"
    if is_credential_path(real):
        return f"it resolves to {real}, a credential store"
    if not real.is_relative_to(base):
        return f"it resolves to {real}, outside {base}"
    return None


def _read(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def agents_block(cwd: Path, text: str) -> str:
    return f"# AGENTS.md instructions for {cwd}\n\n<INSTRUCTIONS>\n{text}\n</INSTRUCTIONS>"


def initial_context(
    settings: TurnSettings,
    *,
    developer_instructions: str | None,
    agents_text: str | None,
    interactive: bool,
    today: _dt.date,
) -> list[dict[str, Any]]:
    dev = [permissions_text(settings, interactive=interactive)]
    if developer_instructions:
        dev.append(developer_instructions)
    user: list[str] = []
    if agents_text:
        user.append(agents_block(settings.cwd, agents_text))
    user.append(environment_context(settings.cwd, shell=user_shell(), today=today))
    return [message("developer", *dev), message("user", *user)]


def settings_diff(old: TurnSettings, new: TurnSettings, *, interactive: bool) -> list[dict[str, Any]]:
    """The messages that tell the model what changed; nothing when nothing did."""
    dev: list[str] = []
    if new.model != old.model:
        dev.append(
            f"<model_switch>\nThe user switched the model from `{old.model}` to `{new.model}`. "
            "Continue the conversation.\n</model_switch>"
        )
    # The permissions text names the writable roots, which include cwd.
    if (new.approval_policy, new.sandbox, new.cwd) != (old.approval_policy, old.sandbox, old.cwd):
        dev.append(permissions_text(new, interactive=interactive))
    items: list[dict[str, Any]] = []
    if dev:
        items.append(message("developer", *dev))
    if new.cwd != old.cwd:
        items.append(message("user", environment_context(new.cwd)))
    return items
