"""MCP approval settings in `config.toml`: Codex's keys, and the words that name them.

`[mcp_servers.NAME] default_tools_approval_mode` and `[mcp_servers.NAME.tools.TOOL] approval_mode`
take Codex's three values (`AppToolApproval` in codex-rs/config/src/mcp_types.rs):

- `"auto"` (the default): the approval policy decides, as for any call that runs outside the
  sandbox; under `on-request`/`on-failure` a tool the server marks `readOnlyHint: true` runs
  unasked (trusted because the user configured that server).
- `"prompt"`: ask before every call, whatever the policy (never remembered "for the session").
- `"approve"`: the user approved the tool in advance: it runs unasked under every policy.

Plain data and functions over it; `tui/config.py` holds the fields, the decisions live in
`tui/safety/approvals.py`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from tui.config import McpServerConfig

McpApprovalMode = Literal["auto", "prompt", "approve"]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class McpToolConfig(BaseModel):
    """`[mcp_servers.<name>.tools.<tool>]`: settings of one tool of a server (Codex's keys)."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    approval_mode: McpApprovalMode | None = None
    """`"auto"`, `"prompt"` or `"approve"` for this tool; unset: the server's
    `default_tools_approval_mode`."""


def toml_key(name: str) -> str:
    """`name` as one TOML key, quoted when it is not a bare key (a tool named `read.file`)."""
    if _BARE_KEY.fullmatch(name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def tool_table(server: str, tool: str) -> str:
    """The table header of one tool's settings, as the user would write it."""
    return f"[mcp_servers.{toml_key(server)}.tools.{toml_key(tool)}]"


def approval_mode(server: str, config: McpServerConfig, tool: str) -> tuple[McpApprovalMode, str | None]:
    """The approval mode of `tool` (its server's own name for it), and the setting it comes
    from, as the user would find it (None: the default, nothing set)."""
    own = config.tools.get(tool)
    if own is not None and own.approval_mode is not None:
        return own.approval_mode, f"`approval_mode` under {tool_table(server, tool)}"
    if config.default_tools_approval_mode is not None:
        return config.default_tools_approval_mode, f"`default_tools_approval_mode` under [mcp_servers.{toml_key(server)}]"
    return "auto", None


def approve_hint(server: str, tool: str) -> str:
    """The setting that lets `tool` run unasked under every policy: true of `approve`."""
    return (
        f'`approval_mode = "approve"` under {tool_table(server, tool)} (or `default_tools_approval_mode = '
        f'"approve"` under [mcp_servers.{toml_key(server)}] for all its tools) in config.toml'
    )
