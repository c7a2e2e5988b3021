"""The settings a resumed session continues under: the ones it recorded, unless the command line
says otherwise.

A session records its effective model, reasoning effort, approval policy and sandbox mode at its
start and on every change (`session_settings`, tui/engine/replay.py). Resume takes the last
record over config.toml (what the session ran under is what the user expects back); a flag, `-c`
or `-p` given for this run wins over the record, and the user is told. A rollout from before the
records falls back to its last `turn_context` (model, approvals, sandbox) and its session_meta's
model. The rollout is untrusted: a value that is not one codeloop knows is not restored, and the
notice says so. Every restored value is named in a notice, so a resume never silently runs
under other walls than configured.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from tui.config import ResolvedConfig
from tui.protocol import ApprovalPolicy, ReasoningEffort, SandboxMode
from tui.safety.terminal_text import neutralize

# (record key, config key, what the user calls it, the values allowed; None: any short name)
_RESTORED: tuple[tuple[str, str, str, tuple[str, ...] | None], ...] = (
    ("model", "model", "model", None),
    ("reasoning_effort", "model_reasoning_effort", "reasoning effort", typing.get_args(ReasoningEffort)),
    ("approval_policy", "approval_policy", "approvals", typing.get_args(ApprovalPolicy)),
    ("sandbox_mode", "sandbox_mode", "sandbox", typing.get_args(SandboxMode)),
)


def recorded_settings(
    settings: dict[str, Any] | None, reference: dict[str, Any] | None, meta: dict[str, Any]
) -> dict[str, Any]:
    """The last recorded settings; for an older rollout, what its turn_context and meta say."""
    if settings is not None:
        return settings
    out: dict[str, Any] = {"model": meta.get("model")}
    if reference is not None:
        out.update({k: reference.get(k) for k in ("model", "approval_policy", "sandbox_mode")})
    return out


def restore_settings(rc: ResolvedConfig, recorded: dict[str, Any]) -> tuple[ResolvedConfig, list[str]]:
    """`rc` with the recorded settings the command line did not set, and what to tell the user."""
    cfg = rc.config
    update: dict[str, Any] = {}
    restored: list[str] = []
    kept: list[str] = []
    notes: list[str] = []
    for record_key, config_key, label, allowed in _RESTORED:
        value = recorded.get(record_key)
        current = getattr(cfg, config_key)
        if value is None or value == current:
            continue
        if not _acceptable(value, allowed):
            notes.append(f"The recorded {label} {neutralize(repr(value)[:80])} is not valid; using {current}.")
        elif config_key in rc.given_on_command_line:
            kept.append(f"{label} {current} (recorded: {value})")
        else:
            update[config_key] = value
            restored.append(f"{label} {value}")
    if restored:
        notes.insert(0, f"Resumed with the settings this session recorded: {', '.join(restored)}.")
    if kept:
        notes.append(f"The command line overrides the recorded settings: {', '.join(kept)}.")
    if not update:
        return rc, notes
    return dataclasses.replace(rc, config=cfg.model_copy(update=update)), notes


def _acceptable(value: object, allowed: tuple[str, ...] | None) -> bool:
    if not isinstance(value, str):
        return False
    if allowed is not None:
        return value in allowed
    return 0 < len(value) <= 200 and value.isprintable() and not value.isspace()
