"""Build a Session from the resolved configuration (shared by `codeloop exec` and the app)."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import uuid
from typing import Any

from tui import __version__
from tui.config import ConfigError, ProviderSettings, ResolvedConfig, load_config, resolve_provider
from tui.engine.context import TurnSettings, collect_agents_docs
from tui.engine.models import context_window, supports_reasoning
from tui.engine.rollout import RolloutWriter, rollout_path
from tui.engine.session import Session
from tui.model.types import ModelClient
from tui.safety.sandbox import SandboxPolicy, SandboxUnavailable, bwrap_problem
from tui.tools.registry import ToolRouter
from tui.tools.specs import default_apply_patch_kind, prompt_text


def configure_or_report(args: argparse.Namespace) -> tuple[ResolvedConfig, ProviderSettings] | None:
    """Load the configuration for a command; on a problem print one message and return None."""
    try:
        rc = load_config(args)
        return rc, resolve_provider(rc)
    except ConfigError as e:
        print(f"codeloop: {e}", file=sys.stderr)
        return None


def reasoning_param(rc: ResolvedConfig) -> dict[str, Any] | None:
    cfg = rc.config
    if not supports_reasoning(cfg.model) and cfg.model_reasoning_effort is None:
        return None
    out: dict[str, Any] = {}
    if cfg.model_reasoning_effort is not None:
        out["effort"] = cfg.model_reasoning_effort
    summary = cfg.model_reasoning_summary or "auto"
    if summary != "none":
        out["summary"] = summary
    return out


def make_client(provider: ProviderSettings, session_id: str) -> ModelClient:
    info = provider.info
    common = dict(
        base_url=provider.base_url,
        api_key=provider.api_key,
        idle_timeout_s=info.stream_idle_timeout_ms / 1000,
        request_max_retries=info.request_max_retries,
        headers=dict(info.http_headers or {}),
    )
    if provider.wire_api == "chat":
        from tui.model.chat import ChatClient

        return ChatClient(**common)
    from tui.model.responses import ResponsesClient

    return ResponsesClient(**common, session_id=session_id)


def build_session(
    rc: ResolvedConfig,
    provider: ProviderSettings,
    *,
    interactive: bool,
    client: ModelClient | None = None,
    write_rollout: bool = True,
) -> Session:
    """Raises SandboxUnavailable when a sandboxed mode is asked for and bwrap cannot run."""
    cfg = rc.config
    sandbox = SandboxPolicy(
        mode=cfg.sandbox_mode,
        writable_roots=tuple((rc.cwd / p).resolve() for p in cfg.sandbox_workspace_write.writable_roots),
        network_access=cfg.sandbox_workspace_write.network_access,
    )
    if sandbox.mode != "danger-full-access" and (problem := bwrap_problem()):
        # Never run unsandboxed silently.
        raise SandboxUnavailable(problem)
    session_id = str(uuid.uuid4())
    kind = cfg.apply_patch_tool_type or default_apply_patch_kind(cfg.model, provider.wire_api)
    rollout = (
        RolloutWriter(rollout_path(rc.home, session_id, _dt.datetime.now())) if write_rollout else None
    )
    return Session(
        client=client or make_client(provider, session_id),
        settings=TurnSettings(cfg.model, cfg.approval_policy, sandbox, rc.cwd),
        instructions=rc.instructions if rc.instructions is not None else prompt_text("base_instructions.md"),
        tools=ToolRouter(kind),
        developer_instructions=cfg.developer_instructions,
        agents_text=collect_agents_docs(rc.cwd, cfg.project_doc_max_bytes, rc.home),
        reasoning=reasoning_param(rc),
        parallel_tool_calls=cfg.parallel_tool_calls,
        tool_output_token_limit=cfg.tool_output_token_limit,
        interactive=interactive,
        rollout=rollout,
        session_id=session_id,
        context_window=cfg.model_context_window or context_window(cfg.model),
        stream_max_retries=provider.info.stream_max_retries,
        meta={"cli_version": __version__, "model_provider": provider.id, "wire_api": provider.wire_api},
    )
