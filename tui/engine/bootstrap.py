"""Build a Session from the resolved configuration (shared by `codeloop exec` and the app)."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncGenerator

from tui import __version__
from tui.config import (
    ConfigError,
    ProviderSettings,
    ResolvedConfig,
    load_config,
    resolve_provider,
)
from tui.engine.models import auto_compact_limit, context_window, supports_reasoning
from tui.model.types import ModelClient, ModelEvent, Prompt
from tui.safety.sandbox import SandboxPolicy, SandboxUnavailable, bwrap_problem

# The engine proper (session, tools, rollout) is imported where a session is built: the app
# paints its first frame from the configuration alone and builds the session just after.
if TYPE_CHECKING:
    from tui.engine.options import SessionOptions
    from tui.engine.resume import Resumed
    from tui.engine.session import Session
    from tui.tools.mcp import McpManager
    from tui.tools.registry import ToolRouter


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


class LazyClient(ModelClient):
    """The provider client, built on first use (or by `warm()` in a thread).

    Importing the openai SDK costs ~0.2 s: the app paints its first frame without it and warms
    it up in the background; `codeloop exec` builds it on the first request.
    """

    def __init__(self, provider: ProviderSettings, session_id: str) -> None:
        self._provider = provider
        self._session_id = session_id
        self._client: ModelClient | None = None
        self.base_url = provider.base_url
        # Known from the configuration, so asking does not build the client.
        self.supports_compact = provider.wire_api == "responses"

    def _real(self) -> ModelClient:
        if self._client is None:
            self._client = _make_client(self._provider, self._session_id)
        return self._client

    def warm(self) -> None:
        self._real()

    def stream(self, prompt: Prompt) -> AsyncGenerator[ModelEvent, None]:
        return self._real().stream(prompt)

    async def compact(self, prompt: Prompt) -> list[dict[str, Any]]:
        return await self._real().compact(prompt)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def rate_limits(self) -> dict[str, str]:
        return self._client.rate_limits() if self._client is not None else {}


def make_client(provider: ProviderSettings, session_id: str) -> ModelClient:
    return LazyClient(provider, session_id)


def _make_client(provider: ProviderSettings, session_id: str) -> ModelClient:
    info = provider.info
    idle_timeout_s = info.stream_idle_timeout_ms / 1000
    headers = dict(info.http_headers or {})
    if provider.wire_api == "chat":
        from tui.model.chat import ChatClient

        return ChatClient(
            base_url=provider.base_url, api_key=provider.api_key, idle_timeout_s=idle_timeout_s,
            request_max_retries=info.request_max_retries, headers=headers,
        )  # fmt: skip
    from tui.model.responses import ResponsesClient

    return ResponsesClient(
        base_url=provider.base_url, api_key=provider.api_key, idle_timeout_s=idle_timeout_s,
        request_max_retries=info.request_max_retries, headers=headers, session_id=session_id,
    )  # fmt: skip


def sandbox_policy(rc: ResolvedConfig) -> SandboxPolicy:
    """The configured policy. Raises SandboxUnavailable when a sandboxed mode is asked for and
    bwrap cannot run: never run unsandboxed silently."""
    cfg = rc.config
    sandbox = SandboxPolicy(
        mode=cfg.sandbox_mode,
        writable_roots=tuple((rc.cwd / p).resolve() for p in cfg.sandbox_workspace_write.writable_roots),
        network_access=cfg.sandbox_workspace_write.network_access,
        codeloop_home=rc.home,
        exposed_paths=tuple((rc.cwd / p).expanduser().resolve() for p in cfg.sandbox_exposed_paths),
        process_limit=cfg.sandbox_process_limit,
    )
    if sandbox.mode != "danger-full-access" and (problem := bwrap_problem()):
        raise SandboxUnavailable(problem)
    if sandbox.mode == "workspace-write":
        # The walk of the writable roots for git repositories (bounded, cached per process) starts
        # now, beside start-up, rather than at the first command.
        threading.Thread(target=sandbox.protected_paths, args=(rc.cwd,), daemon=True).start()
    return sandbox


def session_options(
    rc: ResolvedConfig, provider: ProviderSettings, notices: list[str], *, interactive: bool
) -> SessionOptions:
    """What a new and a resumed session take alike from the current configuration; what the
    user should be told about it is appended to `notices`."""
    from tui.engine.context import collect_agents_docs
    from tui.engine.options import SessionOptions

    cfg = rc.config
    window = cfg.model_context_window or context_window(cfg.model)
    agents_files: list[Path] = []
    return SessionOptions(
        developer_instructions=cfg.developer_instructions,
        agents_text=collect_agents_docs(rc.cwd, cfg.project_doc_max_bytes, rc.home, notices, agents_files),
        agents_files=tuple(agents_files),
        provider_id=provider.id,
        wire_api=provider.wire_api,
        reasoning=reasoning_param(rc),
        parallel_tool_calls=cfg.parallel_tool_calls,
        tool_output_token_limit=cfg.tool_output_token_limit,
        shell_environment_policy=cfg.shell_environment_policy,
        interactive=interactive,
        context_window=window,
        auto_compact_limit=auto_compact_limit(cfg.model, cfg.model_auto_compact_token_limit, window),
        stream_max_retries=provider.info.stream_max_retries,
    )


def mcp_manager(rc: ResolvedConfig) -> McpManager | None:
    from tui.tools.mcp import McpManager

    cfg = rc.config
    return McpManager(cfg.mcp_servers, rc.cwd) if cfg.mcp_servers else None


def web_search_offered(rc: ResolvedConfig, provider: ProviderSettings) -> tuple[bool, str | None]:
    """Whether the hosted web_search tool is offered, and a warning when it was asked for but
    cannot be: only the Responses API hosts it."""
    if not rc.config.tools.web_search:
        return False, None
    if provider.wire_api != "responses":
        return False, (
            f"tools.web_search is on, but provider {provider.id!r} speaks Chat Completions, which has "
            "no hosted web search: the model is not offered a web_search tool."
        )
    return True, None


def preload() -> None:
    """Import what build_session needs (the engine, ~55 ms); safe to call from a thread, so the
    app can do it while its first frame is being written."""
    import tui.engine.context  # noqa: F401
    import tui.engine.rollout  # noqa: F401
    import tui.engine.session  # noqa: F401
    import tui.protocol  # noqa: F401
    import tui.tools.registry  # noqa: F401
    import tui.tools.specs  # noqa: F401


def build_session(
    rc: ResolvedConfig,
    provider: ProviderSettings,
    *,
    interactive: bool,
    client: ModelClient | None = None,
    write_rollout: bool = True,
) -> Session:
    """Raises SandboxUnavailable when a sandboxed mode is asked for and bwrap cannot run."""
    from tui.engine.context import TurnSettings
    from tui.engine.private_files import tighten_home
    from tui.engine.rollout import RolloutWriter, rollout_path
    from tui.engine.session import Session
    from tui.protocol import WarningIssued
    from tui.tools.registry import ToolRouter
    from tui.tools.specs import default_apply_patch_kind, prompt_text

    cfg = rc.config
    sandbox = sandbox_policy(rc)
    session_id = str(uuid.uuid4())
    kind = cfg.apply_patch_tool_type or default_apply_patch_kind(cfg.model, provider.wire_api)
    web_search, web_search_warning = web_search_offered(rc, provider)
    if write_rollout:
        tighten_home(rc.home)  # what earlier versions left readable to others (private_files.py)
    rollout = (
        RolloutWriter(rollout_path(rc.home, session_id, _dt.datetime.now()), home=rc.home) if write_rollout else None
    )
    notices: list[str] = []
    session = Session(
        client=client or make_client(provider, session_id),
        settings=TurnSettings(cfg.model, cfg.approval_policy, sandbox, rc.cwd),
        instructions=rc.instructions if rc.instructions is not None else prompt_text("base_instructions.md"),
        tools=ToolRouter(kind, web_search=web_search),
        options=session_options(rc, provider, notices, interactive=interactive),
        mcp=mcp_manager(rc),
        rollout=rollout,
        session_id=session_id,
        meta={"cli_version": __version__, "model_provider": provider.id, "wire_api": provider.wire_api},
    )
    for notice in notices:
        session.emit(WarningIssued(notice))
    if web_search_warning:
        session.emit(WarningIssued(web_search_warning))
    return session


def resume_session(
    rc: ResolvedConfig,
    provider: ProviderSettings,
    path: Path,
    *,
    interactive: bool,
    client: ModelClient | None = None,
) -> Session:
    """Continue the session recorded in `path`, appending to that same file.

    The request prefix stays byte-identical to the session's last request: same id (so the same
    prompt_cache_key), the instructions it was started with, the tools it was offered, and the
    history rebuilt item for item. The model, reasoning effort, approvals and sandbox it
    recorded are restored unless the command line sets them (tui/engine/restore.py); the
    current configuration decides the rest (cwd, ...). Where the settings differ from what the
    model was last told, the difference is appended as a settings diff, as after a mid-session
    change. `session.log` gets what the
    session showed (tui/engine/replay.py), for the faces to show again.

    Raises RolloutError for a file that is not a session, SandboxUnavailable as build_session.
    """
    from tui.engine.context import TurnSettings
    from tui.engine.private_files import tighten_home
    from tui.engine.images import restore as restore_images
    from tui.engine.replay import replay_rollout
    from tui.engine.restore import recorded_settings, restore_settings
    from tui.engine.resume import load_rollout, reference_settings
    from tui.engine.rollout import RolloutWriter
    from tui.engine.session import Session
    from tui.protocol import WarningIssued
    from tui.tools.specs import WEB_SEARCH_SPEC, prompt_text

    resumed = load_rollout(path)
    images = restore_images(resumed.history)  # read again from their files; see engine/images.py
    meta = resumed.meta
    replayed = replay_rollout(path)
    rc, restore_notes = restore_settings(rc, recorded_settings(replayed.settings, resumed.reference, meta))
    cfg = rc.config
    sandbox = sandbox_policy(rc)
    session_id = str(meta["id"])
    instructions = meta.get("instructions")
    if not isinstance(instructions, str):  # a rollout from before instructions were recorded
        instructions = rc.instructions if rc.instructions is not None else prompt_text("base_instructions.md")
    web_search, web_search_warning = web_search_offered(rc, provider)
    tools, tools_changed = resumed_tools(meta.get("tools"), cfg.model, provider.wire_api, web_search=web_search)
    tighten_home(rc.home)
    rollout = RolloutWriter(path, home=rc.home)
    for item in resumed.repaired:
        rollout.write("response_item", item)
    notices: list[str] = []
    session = Session(
        client=client or make_client(provider, session_id),
        settings=TurnSettings(cfg.model, cfg.approval_policy, sandbox, rc.cwd),
        instructions=instructions,
        tools=tools,
        options=session_options(rc, provider, notices, interactive=interactive),
        mcp=mcp_manager(rc),
        rollout=rollout,
        session_id=session_id,
        history=images.history,
        reference=reference_settings(resumed.reference, sandbox),
        recorded_mcp_tools=resumed.mcp_tools,
        forks=resumed.forks.to_log(lambda told: reference_settings(told, sandbox), rc.cwd),
    )
    seed_cache_watch(session, resumed)
    session.images = images.refs
    session.log[:0] = replayed.events  # what the session showed, for the faces to show again
    session.replayed = len(replayed.events)
    session.total_usage = replayed.usage
    for notice in [*restore_notes, *notices, *images.warnings]:
        session.emit(WarningIssued(notice))
    if web_search_warning:
        session.emit(WarningIssued(web_search_warning))
    if tools_changed:
        stored = meta.get("tools")
        had_search = isinstance(stored, list) and WEB_SEARCH_SPEC in stored
        why = (
            f"web search is {'on' if web_search else 'off'} now (tools.web_search) and was not when this "
            "session was recorded" if had_search != web_search
            else "codeloop's tool definitions changed since this session was recorded"
        )
        session.emit(WarningIssued(
            f"{why}: the model gets the current tools, and the next request will not reuse the "
            "provider's prompt cache."
        ))
    return session


def resumed_tools(
    stored: object, model: str, wire_api: str, *, web_search: bool = False
) -> tuple[ToolRouter, bool]:
    """The tools of a resumed session, and whether they differ from the ones it was offered.

    The session keeps its apply_patch shape (freeform or function) whatever the configuration
    says now, unless the provider cannot take a freeform tool. Specs built by the same codeloop
    are then byte-identical to the stored ones. After an upgrade changed them, the current specs
    win over the cache: the handlers implement the current specs, not the stored ones. Web search
    follows the configuration (`web_search`): switching it off must really switch it off.
    """
    from tui.engine.cache_miss import json_bytes
    from tui.tools.registry import ToolRouter
    from tui.tools.specs import default_apply_patch_kind

    kind = default_apply_patch_kind(model, wire_api)
    if isinstance(stored, list):
        shapes = [t.get("type") for t in stored if isinstance(t, dict) and t.get("name") == "apply_patch"]
        if shapes:
            kind = "freeform" if shapes[0] == "custom" else "function"
        if kind == "freeform" and wire_api != "responses":
            kind = "function"
    router = ToolRouter(kind, web_search=web_search)
    if not isinstance(stored, list):
        return router, False
    return router, json_bytes(router.specs) != json_bytes(stored)


def seed_cache_watch(session: Session, resumed: Resumed) -> None:
    """Compare the resumed session's first request with the last one its rollout measured: the
    same id, instructions, recorded tools and rebuilt history, with the model last told about.
    The rollout is untrusted: anything missing or malformed, and nothing is compared."""
    if resumed.last_usage is None:
        return
    usage, at = resumed.last_usage
    input_tokens, cached = (usage.get(k) for k in ("input_tokens", "cached_input_tokens"))
    tools = resumed.meta.get("tools")
    model = (resumed.reference or {}).get("model", resumed.meta.get("model"))
    if not (isinstance(input_tokens, int) and isinstance(cached, int) and input_tokens >= cached >= 0):
        return
    if not isinstance(tools, list) or not isinstance(model, str):
        return
    prompt = Prompt(
        model=model, instructions=session.instructions, input=list(resumed.history),
        tools=[*tools, *resumed.mcp_tools], parallel_tool_calls=session.options.parallel_tool_calls,
        prompt_cache_key=session.session_id, reasoning=session.options.reasoning,
    )
    age = (_dt.datetime.now(_dt.timezone.utc) - at).total_seconds()
    session.cache_watch.seed(prompt, input_tokens, cached, age)
