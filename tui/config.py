"""codeloop's configuration: pydantic models of `config.toml` and the layers above it.

Precedence, later wins: defaults < `$CODELOOP_HOME/config.toml` < the selected profile
< `-c key=value` overrides < CLI flags (`-m`, `-a`, `-s`, `--full-auto`, `--yolo`).
Key names follow Codex's so a user's muscle memory (and their `config.toml`) carries over.

Layers are merged as raw TOML-shaped dicts and validated at each step, so an error can say
which layer it came from (the file, a `-c` override, or the command line).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError
from pydantic_core import ErrorDetails

from tui.protocol import ApprovalPolicy, SandboxMode
from tui.safety.redact import is_secret_name, remember_secret, remember_secret_variable

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]
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


class ConfigError(Exception):
    """A configuration problem, phrased for the user: where, which key, what is allowed."""


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
    cwd = _resolve_cwd(getattr(args, "cd", None))
    path = home / CONFIG_FILE_NAME
    file_raw = _read_toml(path)
    config_file = path if file_raw is not None else None
    file_raw = _anchor_paths(file_raw or {}, path.parent)
    where_file = str(path)
    _validate(file_raw, where_file)

    overrides = _anchor_paths(_parse_overrides(getattr(args, "config", None) or []), cwd)
    raw = _deep_merge(file_raw, overrides)
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

    flags = _flag_values(args)
    raw.update(flags)
    given = set(flags) | set(overrides) | (set(raw["profiles"][name]) if getattr(args, "profile", None) else set())
    if (theme := getattr(args, "theme", None)) is not None and isinstance(raw.get("tui", {}), dict):
        raw["tui"] = {**raw.get("tui", {}), "theme": theme}
    providers = dict(raw.get("model_providers", {}))
    providers["openai"] = _deep_merge(_builtin_openai(env), providers.get("openai", {}))
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


# --- layers ---------------------------------------------------------------------------------


def _resolve_cwd(cd: str | None) -> Path:
    if cd is None:
        return Path(os.getcwd()).resolve()
    target = Path(cd).expanduser()
    if not target.exists():
        raise ConfigError(f"command line: -C/--cd {cd!r}: no such directory")
    if not target.is_dir():
        raise ConfigError(f"command line: -C/--cd {cd!r}: not a directory")
    return target.resolve()


def _read_toml(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it doesn't exist (defaults apply)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line L, column C)".
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    """`-c a.b=VALUE` items as one nested dict; later items win."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        parts = [p.strip() for p in key.split(".")]
        if not sep or not all(parts):
            raise ConfigError(
                f"-c override: {item!r} is not KEY=VALUE (e.g. -c model_reasoning_effort=high "
                "or -c sandbox_workspace_write.network_access=true)"
            )
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = _parse_value(value.strip())
    return out


def _parse_value(text: str) -> Any:
    """A TOML value; anything that isn't one (a bare word like `high`) is a string."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    # "1\nx = 2" parses, but smuggles in a second key: take the whole text literally instead.
    return parsed["v"] if parsed.keys() == {"v"} else text


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """-m, -a, -s and the two shorthands, which may repeat -a/-s but not contradict them."""
    out = {
        key: value
        for key in ("model", "approval_policy", "sandbox_mode")
        if (value := getattr(args, key, None)) is not None
    }
    given = [(flag, implied) for attr, flag, implied in _SHORTHANDS if getattr(args, attr, False)]
    if len(given) > 1:
        raise ConfigError("command line: --full-auto and --yolo cannot be used together")
    for flag, implied in given:
        for key, value in implied.items():
            if out.setdefault(key, value) != value:
                raise ConfigError(
                    f"command line: {flag} means -a {implied['approval_policy']} "
                    f"-s {implied['sandbox_mode']}; it conflicts with "
                    f"{'-a' if key == 'approval_policy' else '-s'} {out[key]}"
                )
    return out


# (argparse attribute, flag as typed, what it stands for)
_SHORTHANDS = (
    (
        "full_auto",
        "--full-auto",
        {"approval_policy": "on-request", "sandbox_mode": "workspace-write"},
    ),
    ("yolo", "--yolo", {"approval_policy": "never", "sandbox_mode": "danger-full-access"}),
)


def _builtin_openai(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": "OpenAI",
        "base_url": env.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_BASE_URL,
        "env_key": "OPENAI_API_KEY",
        "wire_api": "responses",
    }


def _anchor_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the layer's relative paths absolute against `base` (its file's folder, or the cwd).

    Done per layer because after merging nobody knows which folder a path was relative to.
    Non-strings are left alone for validation to report.
    """

    def anchor(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return str(base / Path(value).expanduser())
        except RuntimeError:  # `~someone` for a user that does not exist
            raise ConfigError(f"path {value!r}: cannot expand '~': no such user") from None

    if "instructions_file" in raw:
        raw["instructions_file"] = anchor(raw["instructions_file"])
    servers = raw.get("mcp_servers")
    if isinstance(servers, dict):
        for server in servers.values():
            if isinstance(server, dict) and "cwd" in server:
                server["cwd"] = anchor(server["cwd"])
    if isinstance(raw.get("sandbox_exposed_paths"), list):
        raw["sandbox_exposed_paths"] = [anchor(v) for v in raw["sandbox_exposed_paths"]]
    sww = raw.get("sandbox_workspace_write")
    if isinstance(sww, dict) and isinstance(sww.get("writable_roots"), list):
        sww["writable_roots"] = [anchor(v) for v in sww["writable_roots"]]
    return raw


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `top` over `base`, tables merged key by key."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# --- turning pydantic's errors into one sentence ----------------------------------------------


def _validate(raw: dict[str, Any], where: str) -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        message = _describe(errors[0], where)
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        raise ConfigError(message) from None
    for name, server in config.mcp_servers.items():
        if not MCP_SERVER_NAME.fullmatch(name):
            raise ConfigError(
                f"{where}: mcp_servers.{name}: the server name {name!r} may only use letters, "
                "digits, '_' and '-' (it becomes part of the tool names the model sees)"
            )
    return config


def _describe(err: ErrorDetails, where: str) -> str:
    loc = tuple(err["loc"])
    key = _dotted(loc)
    got = err.get("input")
    kind = err["type"]
    if kind == "extra_forbidden":
        known = sorted(getattr(_type_at(loc[:-1]), "model_fields", {}))
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        return f"unknown key {key!r} in {where}; {suggestion}known keys: {', '.join(known)}"
    if kind == "literal_error":
        choices = get_args(_type_at(loc))
        allowed = ", ".join(map(repr, choices)) or err.get("ctx", {}).get("expected", "")
        return f"{where}: {key}: {got!r} is not one of {allowed}"
    if kind == "missing":
        return f"{where}: {key} is required"
    phrase = _PHRASES.get(kind)
    if phrase is None:
        problem = err["msg"][0].lower() + err["msg"][1:]
    else:
        problem = phrase.format(**err.get("ctx", {}))
    return f"{where}: {key}: {problem}, got {got!r}"


_PHRASES = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "list_type": "expected an array",
    "path_type": "expected a path (a string)",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
}


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(tp: Any) -> Any:
    """Strip `Annotated[...]` and `| None` to get at the type a value must have."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def _type_at(loc: tuple[str | int, ...]) -> Any:
    """The declared type at an error location, walking models, dict values and list items."""
    tp: Any = Config
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (dict, list):
            tp = get_args(tp)[-1]
        else:
            return None
    return _unwrap(tp)
