"""codeloop's configuration: pydantic models of `config.toml` and the layers above it.

Precedence, later wins: defaults < `$CODELOOP_HOME/config.toml` < the selected profile
< `-c key=value` overrides < CLI flags (`-m`, `-a`, `-s`, `--full-auto`, `--yolo`).
Key names follow Codex's so a user's muscle memory (and their `config.toml`) carries over.

Layers are merged as raw TOML-shaped dicts and validated at each step, so an error can say
which layer it came from (the file, a `-c` override, or the command line).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from tui.config_errors import ConfigError as ConfigError  # noqa: PLC0414 (callers import it from here)
from tui.config_errors import describe
from tui.config_layers import (
    anchor_paths,
    deep_merge,
    flag_values,
    parse_overrides,
    read_toml,
    resolve_cwd,
)
from tui.mcp_config import McpApprovalMode, McpToolConfig
from tui.protocol import ApprovalPolicy, ReasoningEffort, SandboxMode
from tui.safety.redact import is_secret_name, remember_secret, remember_secret_variable

ReasoningSummary = Literal["auto", "concise", "detailed", "none"]
ApplyPatchToolType = Literal["freeform", "function"]
WireApi = Literal["responses", "chat"]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
# Strict floats take TOML integers too (`10` as well as `10.5`), never strings or booleans.
PositiveSeconds = Annotated[float, Field(gt=0)]
# Models are strict (TOML values are already typed, so `"yes"` must not become True), but TOML
# has no path type: paths arrive as strings and must be converted.
TomlPath = Annotated[Path, Strict(False)]

MCP_SERVER_NAME = re.compile(r"[A-Za-z0-9_-]+")
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
CONFIG_FILE_NAME = "config.toml"


class _ConfigModel(BaseModel):
    # use_attribute_docstrings turns each field's docstring into its description, so the
    # docs live next to the field and stay visible to tooling (JSON schema, /debug-config).
    # protected_namespaces=() because Codex's key names start with "model_".
    model_config = ConfigDict(
        extra="forbid", strict=True, use_attribute_docstrings=True, protected_namespaces=()
    )


class ModelProviderInfo(_ConfigModel):
    """One entry of `[model_providers.<id>]`: how to reach a model API."""

    name: str | None = None
    """Display name; the table id is used when unset."""
    base_url: str | None = None
    """Root URL of the API, e.g. `http://localhost:11434/v1`."""
    env_key: str | None = None
    """Environment variable holding the API key; unset for servers that need none."""
    wire_api: WireApi = "responses"
    """Protocol spoken: the Responses API or Chat Completions."""
    query_params: dict[str, str] | None = None
    """Extra query parameters on every request (e.g. Azure's `api-version`)."""
    http_headers: dict[str, str] = {}
    """Extra HTTP headers on every request."""
    stream_max_retries: NonNegativeInt = 5
    """How many times a failed model request is retried before the turn fails: HTTP 429/5xx,
    connection errors, and streams that drop, stall or fail with a retryable code. Each retry
    is shown ("Reconnecting n/N…")."""
    request_max_retries: NonNegativeInt = 4
    """How many times the compaction request (`/responses/compact`) is retried by the SDK;
    sampling requests are retried by `stream_max_retries` instead."""
    stream_idle_timeout_ms: PositiveInt = 300_000
    """A stream silent for this long is treated as dropped."""


class SandboxWorkspaceWrite(_ConfigModel):
    """`[sandbox_workspace_write]`: what the `workspace-write` sandbox lets through."""

    writable_roots: list[TomlPath] = []
    """Folders writable besides the cwd (and temp dirs); relative paths are anchored at the
    config file's folder."""
    network_access: bool = False
    """Whether sandboxed commands may use the network."""


class ShellEnvironmentPolicy(_ConfigModel):
    """`[shell_environment_policy]`: the environment shell commands run with (Codex's keys).

    Applied in order: `inherit`, the default excludes, `exclude`, `set`, `include_only`.
    Patterns are globs (`*`, `?`, `[...]`) matched against variable names, ignoring case.
    """

    inherit: Literal["all", "core", "none"] = "all"
    """Start from all of codeloop's variables, only the core ones (HOME, LOGNAME, PATH, SHELL,
    USER, USERNAME, TMPDIR, TEMP, TMP), or none."""
    ignore_default_excludes: bool = False
    """Keep the variables dropped by default: names containing KEY, TOKEN, SECRET or PASSWORD,
    and SSH_AUTH_SOCK (which would let commands sign with the user's SSH keys)."""
    exclude: list[str] = []
    """Patterns of further names to drop, e.g. `["AWS_*", "AZURE_*"]`."""
    set: dict[str, str] = {}
    """Variables set to these values, after the excludes (an excluded name can be set again)."""
    include_only: list[str] = []
    """When not empty, only names matching one of these patterns are kept (applied last, to the
    `set` ones too)."""


class Profile(_ConfigModel):
    """`[profiles.<name>]`: a named set of overrides, picked with `-p NAME` or `profile`."""

    model: str | None = None
    """Overrides `model`."""
    model_provider: str | None = None
    """Overrides `model_provider`."""
    model_reasoning_effort: ReasoningEffort | None = None
    """Overrides `model_reasoning_effort`."""
    model_reasoning_summary: ReasoningSummary | None = None
    """Overrides `model_reasoning_summary`."""
    approval_policy: ApprovalPolicy | None = None
    """Overrides `approval_policy`."""
    sandbox_mode: SandboxMode | None = None
    """Overrides `sandbox_mode`."""
    model_context_window: PositiveInt | None = None
    """Overrides `model_context_window`."""
    model_auto_compact_token_limit: PositiveInt | None = None
    """Overrides `model_auto_compact_token_limit`."""
    developer_instructions: str | None = None
    """Overrides `developer_instructions`."""
    tool_output_token_limit: PositiveInt | None = None
    """Overrides `tool_output_token_limit`."""
    apply_patch_tool_type: ApplyPatchToolType | None = None
    """Overrides `apply_patch_tool_type`."""


class McpServerConfig(_ConfigModel):
    """`[mcp_servers.<name>]`: an MCP tool server (Codex's keys), started over stdio (`command`)
    or reached over streamable HTTP (`url`).

    Its tools are offered to the model as `mcp__<name>__<tool>`. A call runs outside the
    sandbox, so it passes the approval policy like a write outside the workspace.
    """

    command: str | None = None
    """The program that starts a stdio server, e.g. `npx` or `/usr/bin/python3`."""
    url: str | None = None
    """The endpoint of a remote server speaking streamable HTTP, e.g.
    `https://example.com/mcp` (instead of `command`)."""
    bearer_token_env_var: str | None = None
    """Remote servers: the variable holding a token sent as `Authorization: Bearer <token>`
    (the token itself never goes in the config, and is never shown)."""
    http_headers: dict[str, str] = {}
    """Remote servers: headers sent with every request, as written."""
    env_http_headers: dict[str, str] = {}
    """Remote servers: headers whose values come from variables, header name -> variable name
    (an unset variable leaves its header out)."""
    args: list[str] = []
    """Its arguments."""
    env: dict[str, str] = {}
    """Variables set for the server, over a minimal inherited set (HOME, LOGNAME, PATH, SHELL,
    TERM, USER): the rest of codeloop's environment is not passed on."""
    cwd: TomlPath | None = None
    """Folder the server runs in; relative paths are anchored at the config file's folder.
    Unset: codeloop's working folder."""
    startup_timeout_sec: PositiveSeconds = 10
    """Seconds the server has to start and list its tools; past that the session goes on
    without it."""
    tool_timeout_sec: PositiveSeconds = 60
    """Seconds one tool call may take; past that the model gets an error output."""
    enabled_tools: list[str] | None = None
    """When set, only these tools of the server are offered."""
    disabled_tools: list[str] | None = None
    """Tools never offered (applied after `enabled_tools`)."""
    enabled: bool = True
    """`false` keeps the server configured but not started."""
    default_tools_approval_mode: McpApprovalMode | None = None
    """How calls to its tools are approved: `"auto"` (the approval policy decides; the default),
    `"prompt"` (ask every time) or `"approve"` (run unasked). See tui/mcp_config.py."""
    tools: dict[str, McpToolConfig] = {}
    """Per-tool settings by the server's own tool name: `[mcp_servers.<name>.tools.<tool>]
    approval_mode = ...` overrides `default_tools_approval_mode` for that tool."""

    def transport_problem(self) -> str | None:
        """Why this entry names no one way to reach its server, or None when it does."""
        if self.command is None and self.url is None:
            return "set `command` (a server started over stdio) or `url` (a remote server)"
        if self.command is not None and self.url is not None:
            return "set either `command` or `url`, not both"
        remote_only = ("bearer_token_env_var", "http_headers", "env_http_headers")
        local_only = ("args", "env", "cwd")
        wrong = [k for k in (local_only if self.url else remote_only) if k in self.model_fields_set]
        if wrong:
            kind = "a remote (`url`) server" if self.url else "a stdio (`command`) server"
            return f"{', '.join(wrong)} do not apply to {kind}"
        if self.url is not None and not re.match(r"https?://[^/\s]", self.url):
            return f"`url` must start with http:// or https://, got {self.url!r}"
        return None


class Price(_ConfigModel):
    """USD per million tokens, for the budget pane's cost estimate."""

    input: Annotated[float, Field(ge=0), Strict(False)]
    """Uncached input tokens."""
    cached_input: Annotated[float, Field(ge=0), Strict(False)] | None = None
    """Cached input tokens; unset means the input price."""
    output: Annotated[float, Field(ge=0), Strict(False)]
    """Output tokens (reasoning included)."""


class ToolsSettings(_ConfigModel):
    """`[tools]`: optional tools offered to the model (fixed for a session once it starts)."""

    web_search: bool = False
    """Offer the Responses API's hosted `web_search` tool: the provider searches the web for the
    model and the searches show in the conversation. Not available on Chat Completions providers."""


class TuiSettings(_ConfigModel):
    """`[tui]`: the interactive app."""

    theme: str = "codeloop-dark"
    """Theme name: a built-in one or a file in `$CODELOOP_HOME/themes/`."""
    keymap: dict[str, str] = {}
    """Key remapping by binding id, e.g. `"app.interrupt" = "escape,ctrl+g"`."""
    bell: bool = True
    """Ring the terminal bell when an approval is waiting."""
    notifications: bool = True
    """Send a desktop notification (OSC 9) when an approval waits or a turn ends while the
    terminal window is not focused (needs a terminal that reports focus)."""
    prices: dict[str, Price] = {}
    """Prices by model slug for the cost estimate; models not listed show no cost."""


class Config(_ConfigModel):
    """The whole of `config.toml`, after every layer has been applied."""

    model: str = "gpt-5.3-codex"
    """Model slug sent to the provider."""
    model_provider: str = "openai"
    """Id of the entry in `model_providers` to use."""
    model_providers: dict[str, ModelProviderInfo] = {}
    """Providers by id; the built-in `openai` is always present (a user table with that id
    is layered over it)."""
    model_context_window: PositiveInt | None = None
    """Context window in tokens; unset means the model's known window."""
    model_auto_compact_token_limit: PositiveInt | None = None
    """Compact the conversation once it uses this many tokens; unset means the model's default."""
    model_reasoning_effort: ReasoningEffort | None = None
    """Reasoning effort for reasoning models; unset means the model's default."""
    model_reasoning_summary: ReasoningSummary | None = None
    """Reasoning summary style; unset means the model's default."""
    approval_policy: ApprovalPolicy = "untrusted"
    """When to ask before running a command. Strict by default: nothing runs without the
    user's say."""
    sandbox_mode: SandboxMode = "workspace-write"
    """How commands are confined."""
    sandbox_workspace_write: SandboxWorkspaceWrite = SandboxWorkspaceWrite()
    """Settings of the `workspace-write` sandbox."""
    sandbox_process_limit: NonNegativeInt = 1024
    """How many processes a sandboxed command may have at once (all sandboxed commands of a
    session together), enforced with a pids cgroup; 0 means no limit. Stops a fork bomb from
    taking the host's processes."""
    sandbox_exposed_paths: list[TomlPath] = []
    """Credential stores the sandbox would hide (`~/.ssh`, `~/.aws`, `~/.netrc`, ... see
    tui/safety/protected.py) that sandboxed commands may read anyway, read-only; e.g.
    `["~/.config/gh"]` to let `gh` work. Relative paths are anchored at the config file's folder."""
    shell_environment_policy: ShellEnvironmentPolicy = ShellEnvironmentPolicy()
    """The environment shell commands get; by default ours minus anything secret-looking."""
    developer_instructions: str | None = None
    """Extra instructions sent as a developer message at the start of each session."""
    instructions_file: TomlPath | None = None
    """File whose text replaces the built-in base instructions (like Codex's
    `model_instructions_file`); relative to the config file's folder."""
    project_doc_max_bytes: NonNegativeInt = 32768
    """Cap on the AGENTS.md text included in the prompt; 0 disables project docs."""
    tool_output_token_limit: PositiveInt = 10_000
    """Tool output beyond this many tokens is truncated (head and tail kept)."""
    apply_patch_tool_type: ApplyPatchToolType | None = None
    """How the apply_patch tool is offered; unset means decided by the model."""
    parallel_tool_calls: bool = True
    """Whether the model may issue several tool calls in one response."""
    profile: str | None = None
    """Profile applied when `-p` is not given; once loaded, the profile in effect."""
    profiles: dict[str, Profile] = {}
    """Named profiles, by name."""
    tools: ToolsSettings = ToolsSettings()
    """Optional tools offered to the model."""
    tui: TuiSettings = TuiSettings()
    """Settings of the interactive app."""
    mcp_servers: dict[str, McpServerConfig] = {}
    """MCP tool servers by name; the name must match `[A-Za-z0-9_-]+` (it becomes part of
    the tool names the model sees)."""


@dataclass(frozen=True)
class ResolvedConfig:
    """What the engine gets: the validated config plus facts settled at start-up."""

    config: Config
    cwd: Path
    home: Path
    config_file: Path | None
    instructions: str | None
    given_on_command_line: frozenset[str] = frozenset()
    """Top-level keys set by flags, `-c` or `-p` (a resume keeps what was recorded for the others)."""


@dataclass(frozen=True)
class ProviderSettings:
    """A provider ready for the SDK: URL and key resolved."""

    id: str
    base_url: str
    api_key: str
    wire_api: WireApi
    info: ModelProviderInfo


def codeloop_home(env: Mapping[str, str] | None = None) -> Path:
    """`$CODELOOP_HOME`, else `~/.codeloop`."""
    env = os.environ if env is None else env
    if value := env.get("CODELOOP_HOME"):
        return Path(value).expanduser().resolve()
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".codeloop"


def load_config(
    args: argparse.Namespace | None = None, *, env: Mapping[str, str] | None = None
) -> ResolvedConfig:
    """Read `config.toml` and apply profile, `-c` overrides and CLI flags; raise ConfigError."""
    args = args if args is not None else argparse.Namespace()
    env = os.environ if env is None else env
    home = codeloop_home(env)
    cwd = resolve_cwd(getattr(args, "cd", None))
    path = home / CONFIG_FILE_NAME
    file_raw = read_toml(path)
    config_file = path if file_raw is not None else None
    file_raw = anchor_paths(file_raw or {}, path.parent)
    where_file = str(path)
    _validate(file_raw, where_file)

    overrides = anchor_paths(parse_overrides(getattr(args, "config", None) or []), cwd)
    raw = deep_merge(file_raw, overrides)
    _validate(raw, "-c override")

    if (name := getattr(args, "profile", None)) is not None:
        profile_where = "command line"
    else:
        name = raw.get("profile")
        profile_where = "-c override" if "profile" in overrides else where_file
    if name is not None:
        profiles = raw.get("profiles", {})
        if name not in profiles:
            known = ", ".join(repr(p) for p in sorted(profiles)) or "none are defined"
            raise ConfigError(f"{profile_where}: unknown profile {name!r}; known profiles: {known}")
        # A profile beats the file but not an explicit -c of the same key.
        raw.update({k: v for k, v in profiles[name].items() if k not in overrides})
        raw["profile"] = name

    flags = flag_values(args)
    raw.update(flags)
    given = set(flags) | set(overrides) | (set(raw["profiles"][name]) if getattr(args, "profile", None) else set())
    if (theme := getattr(args, "theme", None)) is not None and isinstance(raw.get("tui", {}), dict):
        raw["tui"] = {**raw.get("tui", {}), "theme": theme}
    providers = dict(raw.get("model_providers", {}))
    providers["openai"] = deep_merge(_builtin_openai(env), providers.get("openai", {}))
    raw["model_providers"] = providers
    config = _validate(raw, "command line")

    instructions = None
    if config.instructions_file is not None:
        where = "-c override" if "instructions_file" in overrides else where_file
        try:
            instructions = config.instructions_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL in the path
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(
                f"{where}: instructions_file: cannot read {str(config.instructions_file)!r}: "
                f"{reason}"
            ) from None
    return ResolvedConfig(config, cwd, home, config_file, instructions, frozenset(given))


def resolve_provider(rc: ResolvedConfig, env: Mapping[str, str] | None = None) -> ProviderSettings:
    """The selected provider with its URL and API key; ConfigError says what is missing."""
    env = os.environ if env is None else env
    pid = rc.config.model_provider
    providers = rc.config.model_providers
    if pid not in providers:
        known = ", ".join(repr(p) for p in sorted(providers))
        raise ConfigError(
            f"model_provider: {pid!r} is not a known provider; known providers: {known} "
            f"(define it under [model_providers.{pid}])"
        )
    info = providers[pid]
    if not info.base_url:
        raise ConfigError(
            f"model_providers.{pid}.base_url is not set; "
            f'add it, e.g. -c model_providers.{pid}.base_url="http://localhost:11434/v1"'
        )
    if info.env_key:
        # Whatever the variable is called, its value must never be written down or shown.
        remember_secret_variable(info.env_key)
        api_key = env.get(info.env_key, "").strip()
        if not api_key:
            raise ConfigError(
                f"{info.env_key} is not set (needed by provider {pid!r}); export it, "
                "or pick another provider with -c model_provider=...\n"
                f"  set it:            export {info.env_key}=...  (the key stays in your environment, never in a file codeloop writes)\n"
                "  try without a key: codeloop --demo  (a scripted model, a throwaway copy of a small project)\n"
                "  a local server:    a Chat Completions server (Ollama, vLLM, llama.cpp) in config.toml:\n"
                "                     [model_providers.local] base_url = \"http://localhost:11434/v1\", "
                "wire_api = \"chat\"; then codeloop -c model_provider=\"local\" -m MODEL"
            )
    else:
        # Keyless servers (a local Ollama) ignore the key, but the SDK refuses an empty one.
        api_key = "unused"
    for header, value in (info.http_headers or {}).items():
        if header.lower() == "authorization" or is_secret_name(header):
            remember_secret(value)
    return ProviderSettings(pid, info.base_url, api_key, info.wire_api, info)


def _builtin_openai(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": "OpenAI",
        "base_url": env.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_BASE_URL,
        "env_key": "OPENAI_API_KEY",
        "wire_api": "responses",
    }


def _validate(raw: dict[str, Any], where: str) -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        message = describe(errors[0], where, Config)
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise ConfigError(message) from None
    for name in config.mcp_servers:
        if not MCP_SERVER_NAME.fullmatch(name):
            raise ConfigError(
                f"{where}: mcp_servers.{name}: the server name {name!r} may only use letters, "
                "digits, '_' and '-' (it becomes part of the tool names the model sees)"
            )
    return config
